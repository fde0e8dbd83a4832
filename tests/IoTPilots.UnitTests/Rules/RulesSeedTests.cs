using System.Text.Json;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Rules;

/// <summary>The pure parts of the missing-data seeding and of the rules watcher: which series, what query, what answer.</summary>
public sealed class RulesSeedTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-seed-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private DeviceRegistry Registry()
    {
        File.WriteAllText(Path.Combine(_dir, "gw-ras.yaml"), """
            gateway: gw-ras
            site: ras-1
            pilot: aquaculture
            devices:
              - { id: tank-01-do, bus: modbus-tcp, address: '127.0.0.1:1502', profile: renke-rs-ldo }
              - { id: tank-02-probe, bus: ds18b20, address: 28-00000a1b2c3d, field: water_temp_c }
              - { id: buoy-01, bus: modbus-tcp, address: '127.0.0.1:1502', unit: 2, profile: renke-rs-ldo, site: cat-ba }
            """);
        return DeviceRegistry.Load(_dir);
    }

    [Fact]
    public void The_registry_s_devices_and_fields_that_a_missing_data_rule_matches_are_expected()
    {
        var rules = RuleSet.Parse("""
            rules:
              - { id: do-missing, kind: missing, pilot: aquaculture, site: "ras-*", field: do_mg_l, after: 2m, severity: critical, source: CONTEXT }
              - { id: temp-missing, kind: missing, field: "*temp_c", after: 5m, severity: warning, source: CONTEXT }
              - { id: do-low, kind: threshold, field: do_sat_pct, below: 30, severity: warning, source: U }
            """, "r.yaml");

        var expected = RulesSeed.Expected(rules, Registry());

        Assert.Equal(
            ["ras-1/gw-ras/tank-01-do do_mg_l", "ras-1/gw-ras/tank-01-do temp_c", "ras-1/gw-ras/tank-02-probe water_temp_c", "cat-ba/gw-ras/buoy-01 temp_c"],
            expected.Select(e => $"{e.Series} {e.Field}"));
        Assert.All(expected, e => Assert.Equal(Pilots.Aquaculture, e.Series.Pilot));
    }

    [Fact]
    public void One_last_statement_per_field_and_the_answer_read_by_statement_and_tags()
    {
        string[] fields = ["do_mg_l", "temp_c"];

        var query = RulesSeed.Query(fields, TimeSpan.FromDays(7));
        // As InfluxDB 1.6 answers with epoch=ms: one result per statement; a field never stored has no series.
        using var answer = JsonDocument.Parse("""
            {"results":[
              {"statement_id":0,"series":[
                {"name":"telemetry","tags":{"device":"tank-01-do","gateway":"gw-ras","pilot":"aquaculture","site":"ras-1"},"columns":["time","last"],"values":[[1764554400123,6.5]]}]},
              {"statement_id":1}]}
            """);
        var last = RulesSeed.Parse(answer.RootElement, fields);

        Assert.Equal(
            "SELECT last(\"do_mg_l\") FROM \"telemetry\" WHERE time > now() - 604800s GROUP BY \"pilot\", \"site\", \"gateway\", \"device\";" +
            "SELECT last(\"temp_c\") FROM \"telemetry\" WHERE time > now() - 604800s GROUP BY \"pilot\", \"site\", \"gateway\", \"device\"",
            query);
        var (key, at) = Assert.Single(last);
        Assert.Equal((new SeriesKey(Pilots.Aquaculture, "ras-1", "gw-ras", "tank-01-do"), "do_mg_l"), key);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1764554400123), at);
    }

    [Fact]
    public void The_rules_hash_changes_with_a_file_s_content_or_a_file_added_to_the_folder_and_not_otherwise()
    {
        var rules = Directory.CreateDirectory(Path.Combine(_dir, "rules")).FullName;
        File.WriteAllText(Path.Combine(rules, "10-default.yaml"), "rules: []\n");
        var first = RulesFileWatcher.Hash(rules);
        File.WriteAllText(Path.Combine(rules, "notes.txt"), "not rules");
        var unrelated = RulesFileWatcher.Hash(rules);
        File.WriteAllText(Path.Combine(rules, "20-site.yaml"), "rules: []\n");
        var added = RulesFileWatcher.Hash(rules);
        File.WriteAllText(Path.Combine(rules, "20-site.yaml"), "rules: [ ]\n");
        var edited = RulesFileWatcher.Hash(rules);

        Assert.Equal(first, unrelated);
        Assert.Equal(4, new[] { first, added, edited, RulesFileWatcher.Hash(Path.Combine(rules, "gone.yaml")) }.Distinct().Count());
    }
}
