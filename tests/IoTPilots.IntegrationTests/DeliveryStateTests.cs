using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The delivery accounting's state (summaries stamped 0, gap reports stamped by seq) in a retention policy of its own
/// on a real InfluxDB 1.x, so that raw can be finite: stored, resumed from after a restart, and carried over from a
/// database the previous version wrote (state in the raw policy).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class DeliveryStateTests(Servers servers)
{
    /// <summary>InfluxDB 1.x's shortest retention policy.</summary>
    private static readonly RetentionOptions RawOneHour = RetentionOptions.Default with { Raw = TimeSpan.FromHours(1) };

    private static async Task<int> CountAsync(InfluxWriter influx, string policy, string measurement, string gateway) =>
        (await influx.RowsAsync($"SELECT * FROM \"{policy}\".\"{measurement}\" WHERE gateway = '{gateway}'")).Count;

    [Fact]
    public async Task With_raw_kept_one_hour_gaps_and_summaries_are_stored_and_the_accounting_resumes_after_a_restart()
    {
        var influx = await servers.NewDatabaseAsync("state");
        await Retention.ApplyAsync(influx, RawOneHour, CancellationToken.None);
        var gateway = $"gw-s{Guid.NewGuid():N}"[..12];
        var now = DateTimeOffset.UtcNow;
        TelemetryMessage Message(long seq) => new(Pilots.Port, "state-site", gateway, "dev-1", seq, [new Reading("wind_m_s", now.AddSeconds(seq), seq, "m/s", Quality.Good)]) { Epoch = "e1" };
        // Seq 3 dropped by the edge's queue, and reported in gap report seq 6.
        var gap = new GapReport("state-site", gateway, 6, 3, 3, 1, 1, now, now, "age limit") { Epoch = "e1" };
        async Task<GatewayDelivery?> DeliveryAsync() =>
            (await influx.RowsAsync($"SELECT last(received), last(missing), last(dropped) FROM delivery WHERE gateway = '{gateway}'")) is [var row]
                ? new GatewayDelivery(gateway, (long)row["last"].GetDouble(), (long)row["last_1"].GetDouble(), (long)row["last_2"].GetDouble())
                : null;

        var log = new ErrorLog();
        await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        using (var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log))
        {
            await cloud.StartAsync();
            // The subscription may still be settling: publish the first message until it is stored.
            await Eventually.TrueAsync(
                async () =>
                {
                    await publisher.PublishAsync(Message(1).Topic, TelemetryCodec.Encode(Message(1)));
                    return (await influx.LedgerSeqsAsync(gateway)).Count > 0;
                },
                TimeSpan.FromSeconds(30),
                "the cloud to store a first message");
            foreach (var seq in (long[])[2, 4, 5])
            {
                await publisher.PublishAsync(Message(seq).Topic, TelemetryCodec.Encode(Message(seq)));
            }

            await publisher.PublishAsync(GapReport.Topic(gap.Site, gap.Gateway), gap.Encode());
            await Eventually.TrueAsync(async () => await DeliveryAsync() == new GatewayDelivery(gateway, 5, 0, 1), TimeSpan.FromSeconds(30), "5 received, 0 missing, 1 dropped");
            await cloud.StopAsync();
        }

        // Stamped 0 and 6 ms: refused by raw kept one hour, so only their own policy can hold them.
        Assert.Equal(1, await CountAsync(influx, DeliveryState.RetentionPolicy, LineProtocol.EpochMeasurement, gateway));
        Assert.Equal(1, await CountAsync(influx, DeliveryState.RetentionPolicy, LineProtocol.GapMeasurement, gateway));
        Assert.Equal(0, await CountAsync(influx, Retention.RawPolicy, LineProtocol.GapMeasurement, gateway));
        var refused = await influx.SendAsync([LineProtocol.Gap(gap)], null, CancellationToken.None);
        Assert.Contains("beyond retention policy", refused?.Error, StringComparison.Ordinal);

        // The raw ledger gone (as when its week has passed): the restarted cloud must resume from the summary.
        using (await influx.QueryAsync($"DROP MEASUREMENT \"{LineProtocol.LedgerMeasurement}\"", CancellationToken.None, post: true))
        {
        }

        using (var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log))
        {
            await cloud.StartAsync();
            await Eventually.TrueAsync(
                async () =>
                {
                    await publisher.PublishAsync(Message(7).Topic, TelemetryCodec.Encode(Message(7)));
                    return await DeliveryAsync() == new GatewayDelivery(gateway, 6, 0, 1);
                },
                TimeSpan.FromSeconds(30),
                "6 received, 0 missing, 1 dropped after the restart");
            await cloud.StopAsync();
        }

        Assert.Empty(log.Errors);
    }

    [Fact]
    public async Task A_database_of_the_previous_version_keeps_its_accounting_when_raw_becomes_finite()
    {
        var influx = await servers.NewDatabaseAsync("upgrade");
        var now = DateTimeOffset.UtcNow;
        var old = now.AddHours(-1);
        // As the previous version left it, all in autogen (then kept forever): seqs 1-110 of epoch e1 but 51 stored,
        // 101-110 dropped by the edge (reported by gap report 111), and a raw ledger long expired.
        var gap = new GapReport("up-site", "gw-up", 111, 101, 110, 10, 30, now, now, "byte budget full (drop-oldest)") { Epoch = "e1" };
        await influx.WriteAsync(
            [LineProtocol.Epoch("gw-up", "e1", 100, 111, "1-50,52-100,111", old.ToUnixTimeMilliseconds()), LineProtocol.Gap(gap)],
            CancellationToken.None);

        // The new version's start: policies first (raw becomes finite), then the accountant.
        await Retention.ApplyAsync(influx, RawOneHour, CancellationToken.None);
        var expected = new GatewayDelivery("gw-up", 100, 1, 10);
        Assert.Equal(expected, Assert.Single(await DeliveryAccountantTests.Accountant(influx).WriteSummaryAsync(CancellationToken.None)));

        Assert.Equal(1, await CountAsync(influx, DeliveryState.RetentionPolicy, LineProtocol.EpochMeasurement, "gw-up"));
        var copied = Assert.Single(await influx.RowsAsync($"SELECT * FROM \"{DeliveryState.RetentionPolicy}\".\"{LineProtocol.GapMeasurement}\""));
        Assert.Equal(("gw-up", "e1", "up-site", 101L, 10L), (copied["gateway"].GetString(), copied["epoch"].GetString(), copied["site"].GetString(), (long)copied["first_seq"].GetDouble(), (long)copied["messages"].GetDouble()));

        // A restart runs the copy again: the gap report is written again over itself, and the summary is not copied
        // over the accountant's newer one.
        Assert.Equal(1, await DeliveryState.MigrateAsync(influx, CancellationToken.None));
        var summary = Assert.Single(await influx.RowsAsync($"SELECT \"cursor\" FROM \"{DeliveryState.RetentionPolicy}\".\"{LineProtocol.EpochMeasurement}\""));
        Assert.True((long)summary["cursor"].GetDouble() > old.ToUnixTimeMilliseconds(), "the accountant's summary was replaced by the copy");
        Assert.Equal(expected, Assert.Single(await DeliveryAccountantTests.Accountant(influx).WriteSummaryAsync(CancellationToken.None)));
        Assert.Equal(1, await CountAsync(influx, DeliveryState.RetentionPolicy, LineProtocol.GapMeasurement, "gw-up"));
    }
}
