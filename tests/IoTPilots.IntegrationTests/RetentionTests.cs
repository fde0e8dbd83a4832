using System.Text.Json;
using IoTPilots.Cloud.Influx;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Retention policies and rollups on a real InfluxDB 1.x: made by the cloud at start, idempotent, replaced when
/// their definition changes, and the rollups equal to the raw data's own aggregates over the same period.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RetentionTests(Servers servers)
{
    private static async Task<Dictionary<string, string>> PoliciesAsync(InfluxWriter influx) =>
        (await influx.RowsAsync($"SHOW RETENTION POLICIES ON \"{influx.Endpoint.Database}\"")).ToDictionary(r => r["name"].GetString()!, r => r["duration"].GetString()!);

    private static async Task<List<string>> QueriesAsync(InfluxWriter influx)
    {
        using var doc = await influx.QueryAsync("SHOW CONTINUOUS QUERIES", CancellationToken.None);
        return doc.RootElement.GetProperty("results")[0].GetProperty("series").EnumerateArray()
            .Where(s => s.GetProperty("name").GetString() == influx.Endpoint.Database && s.TryGetProperty("values", out _))
            .SelectMany(s => s.GetProperty("values").EnumerateArray().Select(v => v[0].GetString()!)).Order().ToList();
    }

    [Fact]
    public async Task Applying_twice_changes_nothing_and_a_changed_setting_or_definition_is_replaced()
    {
        var influx = await servers.NewDatabaseAsync("rp");
        var db = influx.Endpoint.Database;

        await Retention.ApplyAsync(influx, RetentionOptions.Default, CancellationToken.None);
        await Retention.ApplyAsync(influx, RetentionOptions.Default, CancellationToken.None);

        var policies = await PoliciesAsync(influx);
        Assert.Equal("9600h0m0s", policies["autogen"]);
        Assert.Equal("0s", policies[DeliveryState.RetentionPolicy]);
        Assert.Equal("17520h0m0s", policies["rollup_1m"]);
        Assert.Equal("87600h0m0s", policies["rollup_1h"]);
        Assert.Equal(Retention.Rollups.Select(r => Retention.QueryName(db, r)).Order(), await QueriesAsync(influx));

        // An older definition of the 1-min rollup (as an earlier version would have left it) and new durations.
        var older = Retention.Rollups[0] with { For = TimeSpan.FromHours(1) };
        using (await influx.QueryAsync(Retention.CreateQuery(db, older), CancellationToken.None, post: true))
        {
        }

        Assert.Equal(3, (await QueriesAsync(influx)).Count);
        await Retention.ApplyAsync(influx, new RetentionOptions(TimeSpan.FromDays(90), TimeSpan.FromDays(400), null), CancellationToken.None);

        policies = await PoliciesAsync(influx);
        Assert.Equal("2160h0m0s", policies["autogen"]);
        Assert.Equal("9600h0m0s", policies["rollup_1m"]);
        Assert.Equal("0s", policies["rollup_1h"]);
        Assert.Equal(Retention.Rollups.Select(r => Retention.QueryName(db, r)).Order(), await QueriesAsync(influx));
    }

    [Fact]
    public async Task Rollups_hold_the_mean_min_max_and_last_of_the_raw_readings_per_device_and_field()
    {
        var influx = await servers.NewDatabaseAsync("rollup");
        var db = influx.Endpoint.Database;
        await Retention.ApplyAsync(influx, RetentionOptions.Default, CancellationToken.None);
        // Seventy minutes ending on the hour: one whole hour bucket, and seventy 1-min ones.
        var end = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600 * 3600);
        var history = SimulatedHistory.Generate(end, TimeSpan.FromMinutes(70), seed: 3);
        await history.WriteAsync(influx);
        var (from, to) = (end - TimeSpan.FromHours(1), end);

        foreach (var rollup in Retention.Rollups)
        {
            using var _ = await influx.QueryAsync(Retention.BackfillStatement(db, rollup, from, to), CancellationToken.None, post: true);
        }

        // Signals of each pilot, one slow and one fast, one that faults: compared field by field with InfluxDB's own aggregates of raw.
        var window = $"time >= {from.ToUnixTimeMilliseconds()}ms AND time < {to.ToUnixTimeMilliseconds()}ms";
        foreach (var field in (string[])["do_mg_l", "temp_c", "zone_temp_c", "power_kw", "vib_mm_s", "wind_m_s", "lift_count"])
        {
            foreach (var (policy, bucket) in (List<(string, string)>)[("rollup_1m", "1m"), ("rollup_1h", "1h")])
            {
                var raw = await influx.RowsAsync($"SELECT mean(\"{field}\") AS \"mean\", min(\"{field}\") AS \"min\", max(\"{field}\") AS \"max\", last(\"{field}\") AS \"last\" FROM \"autogen\".\"telemetry\" WHERE {window} GROUP BY time({bucket}), \"device\"");
                var rolled = await influx.RowsAsync($"SELECT \"mean_{field}\" AS \"mean\", \"min_{field}\" AS \"min\", \"max_{field}\" AS \"max\", \"last_{field}\" AS \"last\", \"pilot\", \"site\", \"gateway\" FROM \"{policy}\".\"telemetry\" WHERE {window} AND \"mean_{field}\" = \"mean_{field}\" GROUP BY \"device\"");
                var rawRows = raw.Where(r => r["mean"].ValueKind == JsonValueKind.Number).ToDictionary(r => (r["device"].GetString(), r["time"].GetInt64()));
                var rolledRows = rolled.ToDictionary(r => (r["device"].GetString(), r["time"].GetInt64()));

                Assert.True(rawRows.Count > 0, $"{field}: no raw data");
                Assert.Equal(rawRows.Keys.Order(), rolledRows.Keys.Order());
                foreach (var (key, r) in rawRows)
                {
                    foreach (var column in (string[])["mean", "min", "max", "last"])
                    {
                        Assert.True(Math.Abs(r[column].GetDouble() - rolledRows[key][column].GetDouble()) <= 1e-9 * Math.Max(1, Math.Abs(r[column].GetDouble())),
                            $"{policy} {field} {column} {key}: raw {r[column]}, rollup {rolledRows[key][column]}");
                    }

                    // GROUP BY * kept the tags, so the history view can filter rollups as it filters raw.
                    Assert.Equal(JsonValueKind.String, rolledRows[key]["site"].ValueKind);
                }
            }
        }
    }

    [Fact]
    public async Task The_cloud_makes_the_policies_and_rollups_at_start()
    {
        var influx = await servers.NewDatabaseAsync("rpstart");
        using var cloud = CloudProcess.Start(servers, influx, new() { ["PILOTS_ROLLUP_1M_RETENTION"] = "53w" });

        await Eventually.TrueAsync(async () => (await QueriesAsync(influx)).Count == 2, TimeSpan.FromSeconds(60), "the cloud's continuous queries");

        Assert.Equal("8904h0m0s", (await PoliciesAsync(influx))["rollup_1m"]);
        Assert.Equal(Retention.Rollups.Select(r => Retention.QueryName(influx.Endpoint.Database, r)).Order(), await QueriesAsync(influx));
        cloud.Terminate();
    }
}
