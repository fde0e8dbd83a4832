using System.Net;
using IoTPilots.Cloud;
using IoTPilots.Cloud.Influx;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests;

/// <summary>
/// How long each resolution is kept (PILOTS_RAW_RETENTION and the rollups' variables, read once at start) and the
/// statements that make the rollups: the shared rollup contract (HELPERS.md, "Rollups") is the SELECT they run.
/// </summary>
public sealed class RetentionTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Nothing_set_keeps_raw_400_days_and_rollups_for_years()
    {
        var options = CloudSettings.Read(_ => null, Env()).Retention;

        Assert.Equal(new RetentionOptions(TimeSpan.FromDays(400), TimeSpan.FromDays(730), TimeSpan.FromDays(3650)), options);
    }

    [Theory]
    [InlineData("90d", 90 * 24)]
    [InlineData("48h", 48)]
    [InlineData("104w", 104 * 7 * 24)]
    [InlineData("1h", 1)]
    public void A_duration_is_whole_hours_days_or_weeks(string text, int hours)
    {
        var options = RetentionOptions.FromEnvironment(Env(("PILOTS_RAW_RETENTION", text), ("PILOTS_ROLLUP_1H_RETENTION", "INF")));

        Assert.Equal(TimeSpan.FromHours(hours), options.Raw);
        Assert.Null(options.Rollup1h);
    }

    [Theory]
    [InlineData("PILOTS_RAW_RETENTION", "30m")]
    [InlineData("PILOTS_RAW_RETENTION", "0d")]
    [InlineData("PILOTS_RAW_RETENTION", "1.5d")]
    [InlineData("PILOTS_ROLLUP_1M_RETENTION", "90 days")]
    [InlineData("PILOTS_ROLLUP_1H_RETENTION", "forever")]
    public void A_bad_duration_stops_the_start_naming_the_variable(string variable, string value)
    {
        var ex = Assert.Throws<FormatException>(() => CloudSettings.Read(_ => null, Env((variable, value))));

        Assert.Equal($"{variable}: '{value}' is not INF or a duration of at least 1h such as 48h, 90d or 104w", ex.Message);
    }

    /// <summary>InfluxDB 1.x's shardGroupDuration (services/meta/data.go): ALTER must not keep autogen's 7-day shards under a shorter duration.</summary>
    [Theory]
    [InlineData(0, 168)]
    [InlineData(1, 1)]
    [InlineData(47, 1)]
    [InlineData(48, 24)]
    [InlineData(179 * 24, 24)]
    [InlineData(180 * 24, 168)]
    [InlineData(400 * 24, 168)]
    public void A_changed_policy_gets_the_shard_duration_InfluxDB_would_create_it_with(long hours, long shardHours)
    {
        Assert.Equal(shardHours, Retention.ShardHours(hours));
    }

    [Fact]
    public void The_rollups_run_the_contracts_select_with_resample_for_late_data()
    {
        Assert.Equal(
            "CREATE CONTINUOUS QUERY \"" + Retention.QueryName("pilots", Retention.Rollups[0]) + "\" ON \"pilots\" RESAMPLE EVERY 5m FOR 6h BEGIN " +
            "SELECT mean(*), min(*), max(*), last(*) INTO \"pilots\".\"rollup_1m\".\"telemetry\" FROM \"pilots\".\"autogen\".\"telemetry\" GROUP BY time(1m), * END",
            Retention.CreateQuery("pilots", Retention.Rollups[0]));
        Assert.Contains("RESAMPLE EVERY 1h FOR 48h", Retention.CreateQuery("pilots", Retention.Rollups[1]), StringComparison.Ordinal);
        Assert.Contains("INTO \"pilots\".\"rollup_1h\".\"telemetry\"", Retention.CreateQuery("pilots", Retention.Rollups[1]), StringComparison.Ordinal);
    }

    [Fact]
    public void A_query_is_named_by_its_definition_so_a_changed_one_is_replaced()
    {
        var name = Retention.QueryName("pilots", Retention.Rollups[0]);

        Assert.Equal(name, Retention.QueryName("pilots", Retention.Rollups[0] with { }));
        Assert.StartsWith("rollup_1m_", name, StringComparison.Ordinal);
        Assert.NotEqual(name, Retention.QueryName("pilots", Retention.Rollups[0] with { For = TimeSpan.FromHours(12) }));
    }

    [Fact]
    public void A_backfill_is_the_same_select_over_a_past_period()
    {
        var from = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

        Assert.Equal(
            "SELECT mean(*), min(*), max(*), last(*) INTO \"pilots\".\"rollup_1h\".\"telemetry\" FROM \"pilots\".\"autogen\".\"telemetry\" " +
            $"WHERE time >= {from.ToUnixTimeMilliseconds()}ms AND time < {from.AddDays(2).ToUnixTimeMilliseconds()}ms GROUP BY time(1h), *",
            Retention.BackfillStatement("pilots", Retention.Rollups[1], from, from.AddDays(2)));
    }

    /// <summary>InfluxDB unreachable on the first try, then an empty database that answers every statement.</summary>
    private sealed class AwayThenEmpty : HttpMessageHandler
    {
        public List<string> Statements { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = request.Content is null ? request.RequestUri!.Query : await request.Content.ReadAsStringAsync(cancellationToken);
            lock (Statements)
            {
                Statements.Add(Uri.UnescapeDataString(query.Split("q=")[1]));
                if (Statements.Count == 1)
                {
                    throw new HttpRequestException("Connection refused");
                }
            }

            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"results\":[{\"statement_id\":0}]}") };
        }
    }

    [Fact]
    public async Task InfluxDB_away_at_start_is_not_fatal_and_the_rollups_are_made_when_it_is_back()
    {
        var handler = new AwayThenEmpty();
        var influx = new InfluxWriter(new HttpClient(handler), InfluxEndpoint.FromEnvironment(_ => null));
        var time = new FakeTimeProvider();

        var applying = Retention.KeepTryingAsync(influx, RetentionOptions.Default, NullLogger.Instance, time, CancellationToken.None);
        for (var waited = 0; !applying.IsCompleted && waited < 1000; waited++)
        {
            time.Advance(Retention.RetryEvery);
            await Task.Yield();
        }

        await applying.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("CREATE DATABASE \"pilots\"", handler.Statements[1]);
        Assert.Single(handler.Statements, s => s.StartsWith("SHOW RETENTION POLICIES", StringComparison.Ordinal));
        Assert.Contains("CREATE RETENTION POLICY \"rollup_1m\" ON \"pilots\" DURATION 17520h REPLICATION 1", handler.Statements);
        Assert.Contains("CREATE RETENTION POLICY \"rollup_1h\" ON \"pilots\" DURATION 87600h REPLICATION 1", handler.Statements);
        Assert.Contains(Retention.CreateQuery("pilots", Retention.Rollups[0]), handler.Statements);
        Assert.Contains(Retention.CreateQuery("pilots", Retention.Rollups[1]), handler.Statements);
    }

    [Fact]
    public async Task Stopping_while_InfluxDB_is_away_ends_the_retries_quietly()
    {
        var influx = new InfluxWriter(new HttpClient(new AwayThenEmpty()), InfluxEndpoint.FromEnvironment(_ => null));
        using var stop = new CancellationTokenSource();

        var applying = Retention.KeepTryingAsync(influx, RetentionOptions.Default, NullLogger.Instance, new FakeTimeProvider(), stop.Token);
        await stop.CancelAsync();

        await applying.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
