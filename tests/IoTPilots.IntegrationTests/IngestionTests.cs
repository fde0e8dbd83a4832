using System.Text;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.IntegrationTests;

[Collection(ServersCollection.Name)]
public sealed class IngestionTests(Servers servers)
{
    [Fact]
    public async Task Bad_payloads_are_counted_and_never_written_and_valid_ones_still_are()
    {
        var influx = await servers.NewDatabaseAsync("bad");
        var log = new ErrorLog();
        using var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log);
        await cloud.StartAsync();
        var stats = cloud.Services.GetRequiredService<IngestionStats>();
        await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        var topic = Topics.Telemetry("bad-site", "gw-bad", "dev-1");
        var now = DateTimeOffset.UtcNow;
        var valid = new TelemetryMessage(Pilots.Port, "bad-site", "gw-bad", "dev-1", 1, [new Reading("wind_m_s", now, 12.5, "m/s", Quality.Good)]);

        // The subscription may still be settling: publish valid messages until the first one is stored.
        await Eventually.TrueAsync(
            async () =>
            {
                await publisher.PublishAsync(topic, TelemetryCodec.Encode(valid));
                return stats.LinesWritten > 0;
            },
            TimeSpan.FromSeconds(30),
            "the cloud to store a first valid message");

        var otherDevice = valid with { Device = "dev-2" };
        byte[][] garbage =
        [
            Encoding.UTF8.GetBytes("{not json"),
            Encoding.UTF8.GetBytes("""{"v":9,"pilot":"port"}"""),
            TelemetryCodec.Encode(otherDevice),
            new byte[TelemetryMessage.MaxBytes + 10],
            Encoding.UTF8.GetBytes($$"""{"v":1,"pilot":"port","site":"bad-site","gateway":"gw-bad","device":"dev-1","seq":2,"readings":[{"field":"wind_m_s","ts":{{now.ToUnixTimeMilliseconds()}},"value":"Infinity","q":"good"}]}"""),
        ];
        foreach (var payload in garbage)
        {
            await publisher.PublishAsync(topic, payload);
        }

        var later = valid with { Seq = 3, Readings = [new Reading("wind_m_s", now.AddSeconds(1), 13.5, "m/s", Quality.Good)] };
        await publisher.PublishAsync(topic, TelemetryCodec.Encode(later));

        await Eventually.TrueAsync(
            async () => (await influx.RowsAsync("SELECT wind_m_s FROM telemetry WHERE wind_m_s = 13.5")).Count == 1,
            TimeSpan.FromSeconds(30),
            "the valid message after the garbage to be stored");
        await Eventually.TrueAsync(() => Task.FromResult(stats.Rejected == garbage.Length), TimeSpan.FromSeconds(10), "all garbage counted");
        Assert.Equal(1, stats.RejectedByReason[RejectReason.MalformedJson]);
        Assert.Equal(1, stats.RejectedByReason[RejectReason.UnknownVersion]);
        Assert.Equal(1, stats.RejectedByReason[RejectReason.TopicMismatch]);
        Assert.Equal(1, stats.RejectedByReason[RejectReason.Oversized]);
        Assert.Equal(1, stats.RejectedByReason[RejectReason.NonFiniteValue]);
        Assert.Empty(await influx.RowsAsync("SELECT * FROM telemetry WHERE device = 'dev-2'"));
        Assert.Empty(log.Errors);
        await cloud.StopAsync();
    }

    [Fact]
    public async Task Telemetry_from_a_device_missing_from_the_registry_is_quarantined()
    {
        var dir = Directory.CreateTempSubdirectory("pilots-reg-").FullName;
        try
        {
            var inventory = Path.Combine(dir, "gw-reg.yaml");
            await File.WriteAllTextAsync(inventory, "gateway: gw-reg\nsite: reg-site\npilot: port\ndevices:\n  - { id: dev-1, bus: modbus-tcp, address: '127.0.0.1:1502', profile: crane-plc }\n");
            var influx = await servers.NewDatabaseAsync("reg");
            var log = new ErrorLog();
            using var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log, registry: DeviceRegistry.Load(dir));
            await cloud.StartAsync();
            var stats = cloud.Services.GetRequiredService<IngestionStats>();
            await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
            var now = DateTimeOffset.UtcNow;
            var known = new TelemetryMessage(Pilots.Port, "reg-site", "gw-reg", "dev-1", 1, [new Reading("wind_m_s", now, 9.5, "m/s", Quality.Good)]);
            var stranger = known with { Device = "dev-9", Seq = 2 };

            await Eventually.TrueAsync(
                async () =>
                {
                    await publisher.PublishAsync(stranger.Topic, TelemetryCodec.Encode(stranger));
                    await publisher.PublishAsync(known.Topic, TelemetryCodec.Encode(known));
                    return (await influx.RowsAsync("SELECT count(wind_m_s) FROM telemetry")).Count == 1 && stats.RejectedByReason.GetValueOrDefault(RejectReason.UnknownDevice) > 0;
                },
                TimeSpan.FromSeconds(30),
                "the known device stored and the stranger refused");

            Assert.Empty(await influx.RowsAsync("SELECT * FROM telemetry WHERE device = 'dev-9'"));
            await Eventually.TrueAsync(async () => (await influx.RowsAsync("SELECT count(bytes) FROM quarantine WHERE reason = 'UnknownDevice'")).Count == 1, TimeSpan.FromSeconds(30), "the quarantine point");
            await cloud.StopAsync();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Line_protocol_escaping_round_trips_through_a_real_influxdb()
    {
        var influx = await servers.NewDatabaseAsync("esc");
        string[] lines =
        [
            $"{LineProtocol.EscapeMeasurement("odd measure,ment")},{LineProtocol.EscapeKey("tag key")}={LineProtocol.EscapeKey("v a,l=ue")} " +
            $"{LineProtocol.EscapeKey("f=ld")}={LineProtocol.EscapeStringField("say \"hi\" C:\\dir")},n={LineProtocol.FormatFloat(1e-7)} 1795420798123",
        ];
        await influx.WriteAsync(lines, CancellationToken.None);

        var rows = await influx.RowsAsync("SELECT * FROM \"odd measure,ment\"");
        var row = Assert.Single(rows);
        Assert.Equal("v a,l=ue", row["tag key"].GetString());
        Assert.Equal("say \"hi\" C:\\dir", row["f=ld"].GetString());
        Assert.Equal(1e-7, row["n"].GetDouble());
        Assert.Equal(1795420798123, row["time"].GetInt64());
    }

    [Fact]
    public async Task A_field_type_conflict_is_a_rejection_not_a_retry()
    {
        var influx = await servers.NewDatabaseAsync("conflict");
        await influx.WriteAsync(["m f=1 1795420798000"], CancellationToken.None);
        var ex = await Assert.ThrowsAsync<InfluxRejectedException>(() => influx.WriteAsync(["m f=\"text\" 1795420799000"], CancellationToken.None));
        Assert.Contains("400", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_influxdb_is_reported_as_unavailable()
    {
        using var http = new HttpClient();
        var endpoint = InfluxEndpoint.FromEnvironment(n => n == "PILOTS_INFLUX_URL" ? $"http://127.0.0.1:{Servers.FreePort()}" : null);
        var writer = new InfluxWriter(http, endpoint);
        await Assert.ThrowsAsync<InfluxUnavailableException>(() => writer.WriteAsync(["m f=1"], CancellationToken.None));
    }
}
