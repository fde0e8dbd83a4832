using System.Globalization;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// What the ingestion's writer does when a real InfluxDB 1.x refuses a write: a request over <c>max-body-size</c>
/// (413) is split until it fits, and only the lines InfluxDB names as bad go to quarantine; every valid line is stored.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class InfluxRefusalTests(Servers servers)
{
    /// <summary>Small enough that a batch of a few hundred messages is refused whole, gzip-compressed as it is sent.</summary>
    private const int MaxBodyBytes = 4096;

    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddMinutes(-30);

    private static TelemetryMessage Message(int gateway, long seq) => new(
        Pilots.Aquaculture,
        "refusal-site",
        $"gw-r{gateway}",
        "tank-01",
        seq,
        [
            new Reading("do_mg_l", Start.AddMilliseconds(seq * 10), 5 + Random.Shared.NextDouble(), "mg/L", Quality.Good),
            new Reading("temp_c", Start.AddMilliseconds(seq * 10), 27 + Random.Shared.NextDouble(), "°C", Quality.Good),
            new Reading("ph", Start.AddMilliseconds(seq * 10), 7 + Random.Shared.NextDouble(), "", Quality.Good),
        ]);

    /// <summary>A batch as the ingestion builds it: each message's points and its ledger entry.</summary>
    private static List<string> Batch(int gateways, int perGateway)
    {
        var lines = new List<string>();
        for (var seq = 1; seq <= perGateway; seq++)
        {
            for (var g = 0; g < gateways; g++)
            {
                var m = Message(g, seq);
                lines.AddRange(LineProtocol.FromMessage(m));
                lines.Add(LineProtocol.Ledger(m.Gateway, m.Epoch, m.Seq, "telemetry"));
            }
        }

        return lines;
    }

    private static StoringPointWriter Writer(InfluxWriter influx) => new(influx, "it", TimeProvider.System, NullLogger<StoringPointWriter>.Instance);

    private static async Task<long> CountAsync(InfluxWriter influx, string query) =>
        (await influx.RowsAsync(query)) is [var row] ? (long)row.Values.Skip(1).First().GetDouble() : 0;

    [Fact]
    public async Task A_batch_refused_whole_as_too_large_is_split_and_no_valid_message_is_lost()
    {
        var influx = await servers.NewLimitedDatabaseAsync("toolarge", MaxBodyBytes);
        var batch = Batch(gateways: 10, perGateway: 50);

        // As it is, InfluxDB refuses the whole request.
        Assert.Equal(413, (await influx.SendAsync(batch, null, CancellationToken.None))?.Status);

        var writer = Writer(influx);
        await writer.WriteAsync(batch, CancellationToken.None);

        Assert.True(writer.TooLarge > 0);
        Assert.Equal(500, await CountAsync(influx, $"SELECT count(do_mg_l) FROM telemetry WHERE time > '{Start.AddSeconds(-1):O}'"));
        for (var g = 0; g < 10; g++)
        {
            Assert.Equal("1-50", (await influx.LedgerSeqsAsync($"gw-r{g}")).ToString());
        }

        Assert.Empty(await influx.RowsAsync("SELECT * FROM quarantine"));
    }

    [Fact]
    public async Task Bad_lines_among_good_ones_go_to_quarantine_and_every_good_line_is_stored()
    {
        var influx = await servers.NewDatabaseAsync("badline");
        var batch = Batch(gateways: 3, perGateway: 20);
        var at = Start.ToUnixTimeMilliseconds();
        // A field that already exists as a float, sent as a string; and a line InfluxDB cannot parse.
        batch.Insert(17, $"telemetry,device=tank-09,gateway=gw-r9,pilot=aquaculture,site=refusal-site do_mg_l=\"secret-text\" {at}");
        batch.Insert(40, $"telemetry,device=tank-09,gateway=gw-r9,pilot=aquaculture,site=refusal-site do_mg_l=secret-garbage {at}");

        var writer = Writer(influx);
        await writer.WriteAsync(batch, CancellationToken.None);

        Assert.Equal(60, await CountAsync(influx, $"SELECT count(do_mg_l) FROM telemetry WHERE time > '{Start.AddSeconds(-1):O}'"));
        for (var g = 0; g < 3; g++)
        {
            Assert.Equal("1-20", (await influx.LedgerSeqsAsync($"gw-r{g}")).ToString());
        }

        var quarantine = await influx.RowsAsync("SELECT reason, topic, error, bytes FROM quarantine");
        Assert.Equal(2, quarantine.Count);
        Assert.All(quarantine, q =>
        {
            Assert.Equal(StoringPointWriter.QuarantineReason, q["reason"].GetString());
            Assert.Equal("telemetry,device=tank-09,gateway=gw-r9,pilot=aquaculture,site=refusal-site", q["topic"].GetString());
            Assert.DoesNotContain("secret", q["error"].GetString(), StringComparison.Ordinal);
        });
        Assert.Contains(quarantine, q => q["error"].GetString()!.Contains("field type conflict: field do_mg_l of measurement telemetry already exists as type float", StringComparison.Ordinal));
        Assert.Contains(quarantine, q => q["error"].GetString()!.Contains("unable to parse", StringComparison.Ordinal));
        Assert.Equal(2, writer.Refused);
    }

    [Fact]
    public async Task Through_the_cloud_batches_over_the_size_limit_lose_no_message()
    {
        var influx = await servers.NewLimitedDatabaseAsync("cloud413", MaxBodyBytes);
        var log = new ErrorLog();
        var group = $"r413{Guid.NewGuid():N}"[..12];
        await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        using (var first = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log, group))
        {
            // A first run makes the cloud's persistent session and subscription, then stops.
            await first.StartAsync();
            var firstStats = first.Services.GetRequiredService<IngestionStats>();
            var probe = Message(99, 1);
            await Eventually.TrueAsync(
                async () =>
                {
                    await publisher.PublishAsync(probe.Topic, TelemetryCodec.Encode(probe));
                    return firstStats.Messages > 0;
                },
                TimeSpan.FromSeconds(30),
                "the cloud to receive a first message");
            await first.StopAsync();
        }

        // While it is away the broker holds everything, so the restarted cloud gets it as one burst and its group
        // commits are large enough for InfluxDB's max-body-size to refuse (a cloud that keeps up writes small ones).
        const int perGateway = 100;
        for (var seq = 1; seq <= perGateway; seq++)
        {
            for (var g = 0; g < 10; g++)
            {
                var m = Message(g, seq);
                await publisher.PublishAsync(m.Topic, TelemetryCodec.Encode(m));
            }
        }

        using var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log, group);
        await cloud.StartAsync();
        for (var g = 0; g < 10; g++)
        {
            var gateway = $"gw-r{g}";
            await Eventually.TrueAsync(async () => (await influx.LedgerSeqsAsync(gateway)).ToString() == $"1-{perGateway}", TimeSpan.FromSeconds(60), $"every message of {gateway} in the ledger");
        }

        Assert.Equal(10 * perGateway, await CountAsync(influx, $"SELECT count(do_mg_l) FROM telemetry WHERE gateway =~ /^gw-r[0-9]$/ AND time > '{Start.AddSeconds(-1):O}'"));
        Assert.True(((StoringPointWriter)cloud.Services.GetRequiredService<IPointWriter>()).TooLarge > 0, "no batch was large enough to be refused: the test proves nothing");
        // The ledger holds a point per batch and gateway, not one per message.
        var ledgerPoints = await CountAsync(influx, $"SELECT count(\"first_seq\") FROM \"{DeliveryLedger.RetentionPolicy}\".\"{LineProtocol.LedgerMeasurement}\" WHERE gateway = 'gw-r3'");
        Assert.InRange(ledgerPoints, 1, perGateway / 2);
        await Eventually.TrueAsync(
            async () => (await influx.RowsAsync("SELECT last(received), last(missing) FROM delivery WHERE gateway = 'gw-r3'")) is [var row]
                && (long)row["last"].GetDouble() == perGateway && (long)row["last_1"].GetDouble() == 0,
            TimeSpan.FromSeconds(30),
            "the delivery summary to count every message of gw-r3 and none missing");
        await cloud.StopAsync();
        Assert.Empty(log.Errors);
    }
}
