using System.Net;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;

namespace IoTPilots.UnitTests;

/// <summary>
/// The delivery accounting's state (summaries and gap reports, stamped near 1970 on purpose) routed to a retention
/// policy kept forever, so raw can be finite; and the upgrade from the version that kept it in raw.
/// </summary>
public sealed class DeliveryStateTests
{
    private static readonly GapReport Gap = new("s", "gw-1", 7, 1, 5, 5, 15, DateTimeOffset.FromUnixTimeMilliseconds(1795420798000), DateTimeOffset.FromUnixTimeMilliseconds(1795420799000), "age limit");

    private static InfluxEndpoint Endpoint(string api) => InfluxEndpoint.FromEnvironment(n => n == "PILOTS_INFLUX_API" ? api : null);

    [Fact]
    public void Summaries_and_gap_reports_are_split_from_the_batch_in_order_and_everything_else_stays()
    {
        var epoch = LineProtocol.Epoch("gw-1", "e1", 5, 5, "1-5", 1795420800000);
        var telemetry = "telemetry,device=d,gateway=gw-1,pilot=port,site=s wind_m_s=3 1795420800000";
        var delivery = LineProtocol.Delivery("gw-1", 5, 0, 0, 1795420800000);
        // Look-alikes: a measurement that only starts with the name, and the ledger.
        var lookalike = "delivery_gaps,gateway=gw-1 n=1i 1";
        var ledger = LineProtocol.Ledger("gw-1", "", 7, "gap");

        var (rest, state) = DeliveryState.Split([telemetry, LineProtocol.Gap(Gap), delivery, epoch, lookalike, ledger]);

        Assert.Equal([LineProtocol.Gap(Gap), epoch], state);
        Assert.Equal([telemetry, delivery, lookalike, ledger], rest);
    }

    [Fact]
    public void A_batch_without_state_comes_back_as_it_is()
    {
        List<string> batch = ["telemetry,device=d,gateway=gw-1,pilot=port,site=s wind_m_s=3 1795420800000"];

        var (rest, state) = DeliveryState.Split(batch);

        Assert.Same(batch, rest);
        Assert.Empty(state);
    }

    [Fact]
    public void On_1x_the_state_is_read_from_its_policy_and_on_the_v2_api_from_the_bucket()
    {
        Assert.Equal("\"delivery_state\".\"delivery_gap\"", DeliveryState.Source(Endpoint("v1"), LineProtocol.GapMeasurement));
        Assert.Equal("delivery_state", DeliveryState.PolicyFor(Endpoint("v1")));
        Assert.Equal("\"delivery_gap\"", DeliveryState.Source(Endpoint("v2"), LineProtocol.GapMeasurement));
        Assert.Null(DeliveryState.PolicyFor(Endpoint("v2")));
    }

    [Fact]
    public void The_copy_keeps_the_tags()
    {
        Assert.Equal(
            "SELECT * INTO \"pilots\".\"delivery_state\".\"delivery_epoch\" FROM \"pilots\".\"autogen\".\"delivery_epoch\" GROUP BY *",
            DeliveryState.CopyStatement("pilots", LineProtocol.EpochMeasurement));
    }

    /// <summary>A database the previous version wrote: raw kept forever, summaries and gap reports in it.</summary>
    private sealed class PreviousVersion : HttpMessageHandler
    {
        public List<string> Statements { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = request.Content is null ? request.RequestUri!.Query : await request.Content.ReadAsStringAsync(cancellationToken);
            var q = System.Web.HttpUtility.ParseQueryString(query)["q"] ?? "";
            Statements.Add(q);
            var body = q.StartsWith("SHOW RETENTION POLICIES", StringComparison.Ordinal)
                ? "{\"results\":[{\"statement_id\":0,\"series\":[{\"columns\":[\"name\",\"duration\"],\"values\":[[\"autogen\",\"0s\"]]}]}]}"
                : q.StartsWith("SELECT * FROM \"autogen\"", StringComparison.Ordinal) || q.StartsWith("SELECT * INTO", StringComparison.Ordinal)
                    ? "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"result\",\"columns\":[\"time\",\"written\"],\"values\":[[0,3]]}]}]}"
                    : "{\"results\":[{\"statement_id\":0}]}";
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body) };
        }
    }

    [Fact]
    public async Task The_state_is_copied_out_of_raw_before_raw_becomes_finite()
    {
        var handler = new PreviousVersion();
        var influx = new InfluxWriter(new HttpClient(handler), Endpoint("v1"));

        await Retention.ApplyAsync(influx, RetentionOptions.Default, CancellationToken.None);

        var alter = handler.Statements.FindIndex(s => s.StartsWith("ALTER RETENTION POLICY \"autogen\" ON \"pilots\" DURATION 9600h", StringComparison.Ordinal));
        var copies = DeliveryState.Measurements.Select(m => handler.Statements.IndexOf(DeliveryState.CopyStatement("pilots", m))).ToList();
        Assert.True(alter > 0, string.Join("\n", handler.Statements));
        Assert.All(copies, i => Assert.InRange(i, 0, alter - 1));
        Assert.InRange(handler.Statements.IndexOf("CREATE RETENTION POLICY \"delivery_state\" ON \"pilots\" DURATION INF REPLICATION 1"), 0, copies.Min() - 1);
    }

    [Fact]
    public async Task Nothing_is_migrated_on_the_v2_api()
    {
        var handler = new PreviousVersion();

        Assert.Equal(0, await DeliveryState.MigrateAsync(new InfluxWriter(new HttpClient(handler), Endpoint("v2")), CancellationToken.None));
        Assert.Empty(handler.Statements);
    }
}
