using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>The cloud process refuses to start on a broken rules file or alert store, saying which file and where.</summary>
public sealed class CloudStartupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-startup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(int Code, string Log)> StartCloudAsync(Dictionary<string, string> env)
    {
        env["PILOTS_MQTT_URL"] = "mqtt://127.0.0.1:9";
        env["PILOTS_INFLUX_URL"] = "http://127.0.0.1:9";
        using var cloud = new ChildProcess("cloud/IoTPilots.Cloud", ["--urls", $"http://127.0.0.1:{Servers.FreePort()}"], env);
        cloud.Start();
        var code = await cloud.ExitCodeAsync(TimeSpan.FromSeconds(60));
        return (code, cloud.Log);
    }

    [Fact]
    public async Task A_mistake_in_the_rules_file_stops_the_start_naming_file_line_and_field()
    {
        var rules = Path.Combine(_dir, "farm-rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - id: do-low\n    kind: threshold\n    field: do_mg_l\n    below: 3\n    clear: 2\n    severity: critical\n    source: A5\n");

        var (code, log) = await StartCloudAsync(new() { ["PILOTS_RULES"] = rules, ["PILOTS_ALERT_DB"] = Path.Combine(_dir, "alerts.db") });

        Assert.Equal(2, code);
        Assert.Contains($"{rules}:6:", log, StringComparison.Ordinal);
        Assert.Contains("rules[0].clear", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_alert_store_that_is_not_a_database_stops_the_start_naming_it()
    {
        var db = Path.Combine(_dir, "alerts.db");
        await File.WriteAllTextAsync(db, "this is not SQLite, it is a text file that someone put here by mistake");

        var (code, log) = await StartCloudAsync(new() { ["PILOTS_ALERT_DB"] = db });

        Assert.Equal(2, code);
        Assert.Contains($"{db} is not an alert database", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_rules_switch_stops_the_start_naming_the_variable()
    {
        var (code, log) = await StartCloudAsync(new() { ["PILOTS_RULES_ENABLED"] = "maybe", ["PILOTS_ALERT_DB"] = Path.Combine(_dir, "alerts.db") });

        Assert.Equal(2, code);
        Assert.Contains("PILOTS_RULES_ENABLED: 'maybe' is not 1 or 0", log, StringComparison.Ordinal);
    }
}
