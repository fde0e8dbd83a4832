using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The cloud process refuses to start (exit 2, which systemd does not restart on) on a broken rules file or alert
/// store, saying which file and where, and on any option or variable that was given but is wrong, naming it.
/// </summary>
public sealed class CloudStartupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-startup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(int Code, string Log)> StartCloudAsync(Dictionary<string, string> env, params string[] args)
    {
        env.TryAdd("PILOTS_MQTT_URL", "mqtt://127.0.0.1:9");
        env.TryAdd("PILOTS_INFLUX_URL", "http://127.0.0.1:9");
        env.TryAdd("PILOTS_ALERT_DB", Path.Combine(_dir, "alerts.db"));
        using var cloud = new ChildProcess("cloud/IoTPilots.Cloud", [.. (args.Contains("--urls") ? [] : new[] { "--urls", $"http://127.0.0.1:{Servers.FreePort()}" }), .. args], env);
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

    [Theory]
    [InlineData("PILOTS_DELIVERY_INTERVAL_S", "abc", "PILOTS_DELIVERY_INTERVAL_S: 'abc' is not a number of seconds")]
    [InlineData("PILOTS_DELIVERY_INTERVAL_S", "-5", "PILOTS_DELIVERY_INTERVAL_S: '-5' is not a number of seconds")]
    [InlineData("PILOTS_MQTT_URL", "http://127.0.0.1:1883", "PILOTS_MQTT_URL: 'http://127.0.0.1:1883' is not an MQTT URL")]
    [InlineData("PILOTS_INFLUX_URL", "influx:8086", "PILOTS_INFLUX_URL: 'influx:8086' is not an http(s) URL")]
    [InlineData("PILOTS_INFLUX_URL", "http://admin:hunter2@127.0.0.1:8086/?db=pilots", "PILOTS_INFLUX_URL: 'http://admin:***@127.0.0.1:8086/?db=pilots' has a query")]
    [InlineData("PILOTS_INFLUX_API", "v3", "PILOTS_INFLUX_API: 'v3' is not v1 or v2")]
    [InlineData("PILOTS_INGEST_GROUP", "ingest/eu", "PILOTS_INGEST_GROUP: 'ingest/eu' is not a shared-subscription name")]
    [InlineData("PILOTS_DEVICE_REGISTRY", "/nonexistent/inventories", "PILOTS_DEVICE_REGISTRY: '/nonexistent/inventories' is neither a file nor a folder")]
    [InlineData("PILOTS_RULES", "/nonexistent/rules.yaml", "PILOTS_RULES: '/nonexistent/rules.yaml' is neither a file nor a folder")]
    [InlineData("PILOTS_RAW_RETENTION", "30m", "PILOTS_RAW_RETENTION: '30m' is not INF or a duration of at least 1h")]
    [InlineData("PILOTS_MQTT_CA", "/nonexistent/ca.crt", "PILOTS_MQTT_CA: cannot read '/nonexistent/ca.crt'")]
    public async Task A_bad_variable_stops_the_start_naming_it(string variable, string value, string expected)
    {
        var (code, log) = await StartCloudAsync(new() { [variable] = value });

        Assert.Equal(2, code);
        Assert.Contains($"cloud: {expected}", log, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cloud: --summary: 'often' is not a number of seconds", "--summary", "often")]
    [InlineData("cloud: --registry: '/nonexistent/inventories' is neither a file nor a folder", "--registry", "/nonexistent/inventories")]
    [InlineData("cloud: --urls: Invalid url: 'localhost'", "--urls", "localhost")]
    public async Task A_bad_option_stops_the_start_naming_it(string expected, params string[] args)
    {
        var (code, log) = await StartCloudAsync([], args);

        Assert.Equal(2, code);
        Assert.Contains(expected, log, StringComparison.Ordinal);
    }
}
