using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPilots.IntegrationTests;

/// <summary>The delivery accountant on a real InfluxDB: it reads the ledger's ranges incrementally, resumes from its rolling summary, and imports the earlier per-message ledger once.</summary>
[Collection(ServersCollection.Name)]
public sealed class DeliveryAccountantTests(Servers servers)
{
    internal static DeliveryAccountant Accountant(InfluxWriter influx) => new(
        new IngestionOptions(MqttEndpoint.Parse("mqtt://127.0.0.1:1883"), influx.Endpoint, "g", "1"),
        influx,
        TimeProvider.System,
        NullLogger<DeliveryAccountant>.Instance);

    private static StoringPointWriter Writer(InfluxWriter influx, string worker) => new(influx, worker, TimeProvider.System, NullLogger<StoringPointWriter>.Instance);

    private static List<string> Entries(string gateway, IEnumerable<long> seqs) => seqs.Select(s => LineProtocol.Ledger(gateway, "e1", s, "telemetry")).ToList();

    [Fact]
    public async Task A_new_accountant_resumes_from_the_rolling_summary_not_from_the_raw_ledger()
    {
        var influx = await servers.NewDatabaseAsync("acct");
        // Two workers share the gateway's messages, and one of them stores some twice.
        await Writer(influx, "1").WriteAsync(Entries("gw-a", Enumerable.Range(1, 100).Where(s => s % 2 == 1 && s != 51).Select(s => (long)s)), CancellationToken.None);
        await Writer(influx, "2").WriteAsync(Entries("gw-a", Enumerable.Range(1, 100).Where(s => s % 2 == 0).Select(s => (long)s)), CancellationToken.None);
        await Writer(influx, "2").WriteAsync(Entries("gw-a", [2, 4, 6]), CancellationToken.None);

        Assert.Equal(new GatewayDelivery("gw-a", 99, 1, 0), Assert.Single(await Accountant(influx).WriteSummaryAsync(CancellationToken.None)));

        // The raw ledger is gone (its retention policy expired it); message 51 arrives late.
        using (await influx.QueryAsync($"DROP MEASUREMENT \"{LineProtocol.LedgerMeasurement}\"", CancellationToken.None, post: true))
        {
        }

        await Writer(influx, "1").WriteAsync(Entries("gw-a", [51]), CancellationToken.None);

        Assert.Equal(new GatewayDelivery("gw-a", 100, 0, 0), Assert.Single(await Accountant(influx).WriteSummaryAsync(CancellationToken.None)));
        var epoch = Assert.Single(await influx.RowsAsync("SELECT received, max_seq, ranges FROM \"delivery_state\".\"delivery_epoch\" WHERE gateway = 'gw-a'"));
        Assert.Equal("1-100", epoch["ranges"].GetString());
    }

    [Fact]
    public async Task A_ledger_point_without_first_seq_claims_no_message()
    {
        var influx = await servers.NewDatabaseAsync("acctbad");
        await Writer(influx, "1").WriteAsync(Entries("gw-b", [1, 2, 3, 5]), CancellationToken.None);
        // Written by hand (or read back damaged): taken as first_seq 0 it would claim seqs 0..500.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await influx.WriteAsync([$"delivery_ledger,epoch=e1,gateway=gw-b,kind=telemetry,worker=x last_seq=500i,messages=1i {now}"], DeliveryLedger.RetentionPolicy, CancellationToken.None);

        Assert.Equal(new GatewayDelivery("gw-b", 4, 1, 0), Assert.Single(await Accountant(influx).WriteSummaryAsync(CancellationToken.None)));
    }

    [Fact]
    public async Task The_per_message_ledger_of_the_earlier_schema_is_imported_once()
    {
        var influx = await servers.NewDatabaseAsync("legacy");
        await influx.WriteAsync([.. Enumerable.Range(1, 10).Where(s => s != 4).Select(s => $"delivery_ledger,gateway=gw-old,kind=telemetry seq={s}i {s}")], CancellationToken.None);

        Assert.Equal(new GatewayDelivery("gw-old", 9, 1, 0), Assert.Single(await Accountant(influx).WriteSummaryAsync(CancellationToken.None)));
    }

    [Fact]
    public async Task Drop_newest_refusals_do_not_hide_a_real_loss()
    {
        var influx = await servers.NewDatabaseAsync("dropnew");
        // Seqs 1..20 numbered, 7 and 8 lost in transit; the queue also refused 5 messages before numbering them.
        var at = DateTimeOffset.UtcNow;
        var gap = new GapReport("s", "gw-n", 21, 0, 0, 5, 15, at, at, "byte budget full (drop-newest)") { Epoch = "e1", Unnumbered = 5 };
        var lines = Entries("gw-n", Enumerable.Range(1, 20).Where(s => s is not (7 or 8)).Select(s => (long)s));
        lines.AddRange([LineProtocol.Gap(gap), LineProtocol.Ledger("gw-n", "e1", 21, "gap")]);
        await Writer(influx, "1").WriteAsync(lines, CancellationToken.None);

        Assert.Equal(new GatewayDelivery("gw-n", 19, 2, 5), Assert.Single(await Accountant(influx).WriteSummaryAsync(CancellationToken.None)));
    }
}
