using System.Text.Json;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Notifications;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Exactly-once notifications through the real cloud executable (issue 10, Tests): killed with SIGKILL while the
/// webhook receiver is still answering, and fed the same reading twice. The receiver here is the integrator's: it
/// drops a repeated <c>Idempotency-Key</c>, so "exactly once" means every event's key arrives, and no event gets two keys.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class NotificationRestartTests(Servers servers) : IAsyncLifetime
{
    private const string Site = "nr-site";
    private const string Gateway = "gw-nr";
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-notify-restart-").FullName;
    private readonly string _prefix = $"nr{Guid.NewGuid():N}"[..10];
    private readonly List<ChildProcess> _processes = [];
    private HttpReceiver _hook = null!;
    private InfluxWriter _influx = null!;
    private MqttSession _publisher = null!;
    private string _rules = "";
    private int _seq;

    public async Task InitializeAsync()
    {
        _hook = await HttpReceiver.StartAsync();
        _influx = await servers.NewDatabaseAsync("notify");
        _rules = Path.Combine(_dir, "rules.yaml");
        // No hold time: the first low reading raises, the first one above `clear` resolves.
        await File.WriteAllTextAsync(_rules, $$"""
            rules:
              - { id: do-critical, kind: threshold, pilot: aquaculture, device: "{{_prefix}}*", field: do_mg_l, below: 3.0, clear: 3.5, severity: critical, source: A5 }
            """);
        _publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
    }

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }

        await _publisher.DisposeAsync();
        await _hook.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The cloud executable on the test servers, evaluating the rules file, POSTing every alert event to the receiver; the same alert store every time.</summary>
    private async Task<ChildProcess> StartCloudAsync()
    {
        var cloud = FaultRig.Cloud(servers, _influx, "g" + _prefix, "1", Path.Combine(_dir, "alerts.db"), Servers.FreePort(), new()
        {
            ["PILOTS_RULES"] = _rules,
            ["PILOTS_RULES_ENABLED"] = "1",
            ["PILOTS_WEBHOOK_URL"] = new Uri(_hook.Address, "hook").ToString(),
        });
        _processes.Add(cloud);
        cloud.Start();
        await Eventually.TrueAsync(() => Task.FromResult(cloud.Log.Contains("Rules engine subscribed", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), "the cloud's rules engine to subscribe");
        return cloud;
    }

    /// <summary>One telemetry message with one DO reading of <paramref name="device"/>, as the edge encodes it.</summary>
    private (string Topic, byte[] Payload) Message(string device, double value, DateTimeOffset at) => (
        Topics.Telemetry(Site, Gateway, device),
        TelemetryCodec.Encode(new TelemetryMessage(Pilots.Aquaculture, Site, Gateway, device, Interlocked.Increment(ref _seq), [new Reading("do_mg_l", at, value, "mg/L", Quality.Good)])));

    private Task PublishAsync((string Topic, byte[] Payload) message) => _publisher.PublishAsync(message.Topic, message.Payload);

    /// <summary>Every webhook the receiver got: its Idempotency-Key and the event it carries.</summary>
    private List<(string Key, string Device, string State, long AlertId)> Delivered() =>
        [.. _hook.Requests.Select(r =>
        {
            var body = JsonSerializer.Deserialize<WebhookPayload>(r.Body)!;
            return (r.Headers[WebhookSignature.IdempotencyHeader], body.Device, body.State, body.AlertId);
        })];

    [Fact]
    public async Task Killed_mid_send_and_restarted_every_notification_arrives_once_per_key()
    {
        var devices = Enumerable.Range(1, 12).Select(i => $"{_prefix}-{i:00}").ToList();
        // Slow enough that the kill lands while sends are in flight: recorded by the receiver, unanswered to the cloud.
        _hook.Delay = TimeSpan.FromSeconds(5);
        var cloud = await StartCloudAsync();
        var start = DateTimeOffset.UtcNow;
        foreach (var device in devices)
        {
            await PublishAsync(Message(device, 2.6, start));
        }

        // Every device's raise must have been judged before the kill: the rules engine's subscription is a clean
        // session (RulesService), so a reading still on its way to the killed process is never judged. The dispatcher
        // sends in batches, so the last batch is still in flight when the receiver has seen every device's raise.
        await Eventually.TrueAsync(
            () => Task.FromResult(_hook.Pending >= 1 && devices.All(d => Delivered().Any(x => x.Device == d && x.State == "raised"))),
            TimeSpan.FromSeconds(60),
            () => $"every device's raise sent and a webhook in flight (cloud log:\n{cloud.Log})");
        var inFlight = _hook.Pending;
        cloud.Kill();
        Assert.True(inFlight >= 1);
        var beforeKill = Delivered().Select(d => d.Key).ToHashSet();

        _hook.Delay = TimeSpan.Zero;
        cloud = await StartCloudAsync();
        foreach (var device in devices)
        {
            await PublishAsync(Message(device, 4.0, start.AddSeconds(1)));
        }

        await Eventually.TrueAsync(
            () => Task.FromResult(devices.All(d => Delivered().Any(x => x.Device == d && x.State == "raised") && Delivered().Any(x => x.Device == d && x.State == "resolved"))),
            TimeSpan.FromSeconds(90),
            () => $"a raised and a resolved webhook for each of {devices.Count} devices (got {string.Join(", ", Delivered().Select(d => d.Key).Distinct())}; cloud log:\n{cloud.Log})");

        var delivered = Delivered();
        var byKey = delivered.GroupBy(d => d.Key).ToList();
        // Deduplicated by key, as the receiver does: one raised and one resolved per device, nothing else, nothing missing.
        foreach (var device in devices)
        {
            Assert.Single(byKey, g => g.First().Device == device && g.First().State == "raised");
            Assert.Single(byKey, g => g.First().Device == device && g.First().State == "resolved");
        }

        Assert.Equal(2 * devices.Count, byKey.Count);
        // A repeat is the same notification sent again (same alert, same event), never a new one.
        Assert.All(byKey, g => Assert.Single(g.Select(d => (d.Device, d.State, d.AlertId)).Distinct()));
        // The kill cut sends short: those were sent again after the restart under the same key, and the receiver's dedupe hid them.
        var repeated = byKey.Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.NotEmpty(repeated);
        Assert.All(repeated, key => Assert.Contains(key, beforeKill));
    }

    [Fact]
    public async Task A_redelivered_reading_sends_nothing_new()
    {
        var device = $"{_prefix}-rd";
        var cloud = await StartCloudAsync();
        var start = DateTimeOffset.UtcNow;
        var low = Message(device, 2.6, start);
        await PublishAsync(low);
        await Eventually.TrueAsync(() => Task.FromResult(Delivered().Any(d => d.Device == device && d.State == "raised")), TimeSpan.FromSeconds(60), $"the raised webhook (cloud log:\n{cloud.Log})");

        // The same message again, byte for byte, as a broker redelivers it after a lost PUBACK; then a later reading
        // on the same topic (MQTT keeps a topic's order), so once that one is judged the repeats have been too.
        await PublishAsync(low);
        await PublishAsync(low);
        await PublishAsync(Message(device, 4.0, start.AddSeconds(1)));
        await Eventually.TrueAsync(() => Task.FromResult(Delivered().Any(d => d.Device == device && d.State == "resolved")), TimeSpan.FromSeconds(60), $"the resolved webhook (cloud log:\n{cloud.Log})");

        var mine = Delivered().Where(d => d.Device == device).ToList();
        Assert.Equal(["raised", "resolved"], mine.Select(d => d.State));
        Assert.Single(mine.Select(d => d.AlertId).Distinct());
    }
}
