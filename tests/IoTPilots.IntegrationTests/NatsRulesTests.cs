using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The rules engine in the NATS mode (docs/scaling.md, "The rules engine"): its telemetry comes through a durable
/// JetStream consumer of its own on the stream the gateways' PUBACKs stand for, so a rules engine killed with SIGKILL
/// and started again judges what the gateways published while it was down. The real cloud program on a 3-node cluster.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class NatsRulesTests(Servers servers) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-natsrules-").FullName;
    private readonly string _device = $"crane-{Guid.NewGuid():N}"[..14];
    private long _seq;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string AlertDb => Path.Combine(_dir, "alerts.db");

    private Dictionary<string, string> Env(NatsCluster cluster, string group, string catchUp = "600")
    {
        var rules = Path.Combine(_dir, "rules.yaml");
        File.WriteAllText(rules, $$"""
            rules:
              - { id: vib-high, kind: threshold, pilot: port, device: "{{_device}}*", field: vib_mm_s, above: 7.0, clear: 6.0, severity: warning, source: TEST }
            """);
        return new()
        {
            ["PILOTS_NATS_URL"] = cluster.ClientUrls,
            ["PILOTS_MQTT_URL"] = cluster.Mqtt(0).ToString(),
            ["PILOTS_NATS_ACK_WAIT_S"] = "5",
            ["PILOTS_INGEST_GROUP"] = group,
            ["PILOTS_RULES"] = rules,
            ["PILOTS_ALERT_DB"] = AlertDb,
            ["PILOTS_RULES_CATCHUP_S"] = catchUp,
        };
    }

    /// <summary>One reading of <paramref name="device"/>'s vibration, published at QoS 1: its PUBACK means the stream holds it.</summary>
    private async Task PublishAsync(MqttEndpoint broker, string device, double value)
    {
        await using var publisher = await TestPublisher.ConnectAsync(broker);
        var message = new TelemetryMessage(Pilots.Port, "nats-rules", "gw-nr", device, Interlocked.Increment(ref _seq), [new Reading("vib_mm_s", DateTimeOffset.UtcNow, value, "mm/s", Quality.Good)]);
        await publisher.PublishAsync(message.Topic, TelemetryCodec.Encode(message));
    }

    private IReadOnlyList<string> OpenAlerts()
    {
        using var store = AlertStore.Open(AlertDb, TimeProvider.System);
        return [.. store.Unresolved().Where(a => a.RuleId == "vib-high").Select(a => a.Series.Device)];
    }

    private static Task RulesReadyAsync(ChildProcess cloud) =>
        Eventually.TrueAsync(() => Task.FromResult(cloud.Log.Contains("Rules engine subscribed to")), TimeSpan.FromSeconds(90), () => $"the rules engine subscribed; the cloud's log:\n{cloud.Log}");

    [Fact]
    public async Task A_rules_engine_killed_with_SIGKILL_judges_on_its_return_what_arrived_while_it_was_down()
    {
        await using var cluster = await NatsCluster.StartAsync();
        var influx = await servers.NewDatabaseAsync("natsrules");
        var group = $"r{Guid.NewGuid():N}"[..10];
        using (var first = CloudProcess.Start(servers, influx, Env(cluster, group)))
        {
            // The rules engine's own consumer, not just its MQTT subscription to the statuses.
            await Eventually.TrueAsync(() => Task.FromResult(first.Log.Contains($"JetStream consumer {group}-rules on")), TimeSpan.FromSeconds(90), () => $"the rules engine's consumer made; the cloud's log:\n{first.Log}");
            await PublishAsync(cluster.Mqtt(1), _device, 1.0);
            await Eventually.TrueAsync(async () => (await influx.LedgerSeqsAsync("gw-nr", "telemetry")).Count == 1, TimeSpan.FromSeconds(60), "the first reading stored");
            first.Kill();
        }

        // Nothing judges now; the gateway's breach is acknowledged by the cluster all the same.
        await PublishAsync(cluster.Mqtt(2), _device, 9.5);
        Assert.Empty(OpenAlerts());

        using var second = CloudProcess.Start(servers, influx, Env(cluster, group));
        // It takes the rules lease once the killed process's runs out (15 s), then reads the consumer from where it was.
        await Eventually.TrueAsync(() => Task.FromResult(OpenAlerts().Contains(_device)), TimeSpan.FromSeconds(120), () => $"the breach published while no rules engine ran raised its alert; the cloud's log:\n{second.Log}");
        Assert.Single(OpenAlerts());
        Assert.DoesNotContain("not handed over", second.Log, StringComparison.Ordinal);
        second.Terminate();
    }

    [Fact]
    public async Task Without_a_catch_up_window_the_rules_engine_judges_only_what_arrives_while_it_runs()
    {
        await using var cluster = await NatsCluster.StartAsync(nodes: 1);
        var influx = await servers.NewDatabaseAsync("natsrules0");
        var group = $"z{Guid.NewGuid():N}"[..10];
        using (var first = CloudProcess.Start(servers, influx, Env(cluster, group, catchUp: "0")))
        {
            await RulesReadyAsync(first);
            first.Terminate();
        }

        var missed = _device + "-a";
        await PublishAsync(cluster.Mqtt(0), missed, 9.5);
        using var second = CloudProcess.Start(servers, influx, Env(cluster, group, catchUp: "0"));
        await RulesReadyAsync(second);
        var live = _device + "-b";
        await Eventually.TrueAsync(
            async () =>
            {
                await PublishAsync(cluster.Mqtt(0), live, 9.5);
                return OpenAlerts().Contains(live);
            },
            TimeSpan.FromSeconds(60),
            () => $"the live breach raised its alert; the cloud's log:\n{second.Log}");
        // The missed reading is stored (the ingestion's consumer keeps everything), but it was not judged.
        await Eventually.TrueAsync(async () => (await influx.RowsAsync($"SELECT count(vib_mm_s) FROM telemetry WHERE device = '{missed}'")).Count == 1, TimeSpan.FromSeconds(60), "the reading published while no rules engine ran stored");
        Assert.DoesNotContain(missed, OpenAlerts());
        second.Terminate();
    }
}
