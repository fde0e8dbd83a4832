using IoTPilots.Cloud;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Config;

namespace IoTPilots.UnitTests;

/// <summary>
/// The cloud's settings, read once at start: unset or empty means the default; a value given but wrong is a
/// FormatException whose message starts with the variable or option, never a silent default.
/// </summary>
public sealed class CloudSettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Nothing_set_means_the_documented_defaults()
    {
        var options = IngestionOptions.FromEnvironment(Env());

        Assert.Equal(("127.0.0.1", 1883, false), (options.Broker.Host, options.Broker.Port, options.Broker.Tls));
        Assert.Equal(new Uri("http://127.0.0.1:8086/"), options.Influx.BaseUri);
        Assert.Equal(("pilots", false), (options.Influx.Database, options.Influx.UseV2Api));
        Assert.Equal(("ingest", "1"), (options.Group, options.Worker));
        Assert.Equal(TimeSpan.FromSeconds(10), options.DeliveryInterval);
    }

    [Fact]
    public void An_empty_variable_counts_as_unset()
    {
        var options = IngestionOptions.FromEnvironment(Env(("PILOTS_DELIVERY_INTERVAL_S", ""), ("PILOTS_INFLUX_URL", ""), ("PILOTS_INGEST_GROUP", "")));

        Assert.Equal(TimeSpan.FromSeconds(10), options.DeliveryInterval);
        Assert.Equal("ingest", options.Group);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("2.5", 2.5)]
    [InlineData("86400", 86400)]
    public void The_delivery_interval_takes_seconds_and_zero_turns_it_off(string value, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), IngestionOptions.FromEnvironment(Env(("PILOTS_DELIVERY_INTERVAL_S", value))).DeliveryInterval);

    [Theory]
    [InlineData("PILOTS_DELIVERY_INTERVAL_S", "abc", "PILOTS_DELIVERY_INTERVAL_S: 'abc' is not a number of seconds from 0 to 86400")]
    [InlineData("PILOTS_DELIVERY_INTERVAL_S", "10s", "PILOTS_DELIVERY_INTERVAL_S: '10s' is not a number of seconds")]
    [InlineData("PILOTS_DELIVERY_INTERVAL_S", "-1", "PILOTS_DELIVERY_INTERVAL_S: '-1' is not a number of seconds")]
    [InlineData("PILOTS_DELIVERY_INTERVAL_S", "NaN", "PILOTS_DELIVERY_INTERVAL_S: 'NaN' is not a number of seconds")]
    [InlineData("PILOTS_DELIVERY_INTERVAL_S", "1e9", "PILOTS_DELIVERY_INTERVAL_S: '1e9' is not a number of seconds")]
    [InlineData("PILOTS_MQTT_URL", "127.0.0.1:1883", "PILOTS_MQTT_URL: '127.0.0.1:1883' is not an MQTT URL")]
    [InlineData("PILOTS_MQTT_URL", "http://ingest:secret@broker:1883", "PILOTS_MQTT_URL: 'http://ingest:***@broker:1883' is not an MQTT URL")]
    [InlineData("PILOTS_INFLUX_URL", "ftp://127.0.0.1:8086", "PILOTS_INFLUX_URL: 'ftp://127.0.0.1:8086' is not an http(s) URL")]
    [InlineData("PILOTS_INFLUX_URL", "http://127.0.0.1:8086/#x", "PILOTS_INFLUX_URL: 'http://127.0.0.1:8086/#x' has a query or fragment")]
    [InlineData("PILOTS_INFLUX_URL", "http://u:secret@127.0.0.1:8086?db=x", "PILOTS_INFLUX_URL: 'http://u:***@127.0.0.1:8086?db=x' has a query")]
    [InlineData("PILOTS_INFLUX_API", "2", "PILOTS_INFLUX_API: '2' is not v1 or v2")]
    [InlineData("PILOTS_INGEST_GROUP", "a+b", "PILOTS_INGEST_GROUP: 'a+b' is not a shared-subscription name")]
    [InlineData("PILOTS_INGEST_GROUP", "#", "PILOTS_INGEST_GROUP: '#' is not a shared-subscription name")]
    public void A_wrong_ingestion_variable_is_refused_naming_it(string name, string value, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => IngestionOptions.FromEnvironment(Env((name, value))));

        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_influx_url_with_a_path_keeps_it_for_every_request()
    {
        // InfluxDB behind a reverse proxy at /influx: /write must become /influx/write, not replace the segment.
        var endpoint = InfluxEndpoint.FromEnvironment(Env(("PILOTS_INFLUX_URL", "https://tsdb.example:443/influx"), ("PILOTS_INFLUX_API", "v2")));

        Assert.Equal("https://tsdb.example/influx/write", new Uri(endpoint.BaseUri, "write").ToString());
        Assert.True(endpoint.UseV2Api);
    }

    [Fact]
    public void Influx_credentials_come_from_the_url_or_else_the_variables()
    {
        var fromUrl = InfluxEndpoint.FromEnvironment(Env(("PILOTS_INFLUX_URL", "http://reader:p%40ss@127.0.0.1:8086"), ("PILOTS_INFLUX_USER", "other")));
        var fromVariables = InfluxEndpoint.FromEnvironment(Env(("PILOTS_INFLUX_USER", "writer"), ("PILOTS_INFLUX_PASSWORD", "pw")));

        Assert.Equal(("reader", "p@ss"), (fromUrl.Username, fromUrl.Password));
        Assert.Equal(new Uri("http://127.0.0.1:8086/"), fromUrl.BaseUri);
        Assert.Equal(("writer", "pw"), (fromVariables.Username, fromVariables.Password));
    }

    [Fact]
    public void Rules_default_to_the_shipped_file_and_worker_1_evaluates()
    {
        var worker1 = RulesOptions.FromEnvironment(Env(), "1");
        var worker2 = RulesOptions.FromEnvironment(Env(), "2");

        Assert.Equal(IoTPilots.Rules.RuleSet.DefaultFile, worker1.RulesPath);
        Assert.Equal(Path.Combine("state", "alerts.db"), worker1.DatabasePath);
        Assert.True(worker1.Evaluate);
        Assert.False(worker2.Evaluate);
        Assert.True(RulesOptions.FromEnvironment(Env(("PILOTS_RULES_ENABLED", "1")), "2").Evaluate);
    }

    [Fact]
    public void Wrong_rules_settings_are_refused_naming_the_variable_or_option()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "no-rules")).FullName;

        Assert.StartsWith("PILOTS_RULES: '/nonexistent/rules.yaml' is neither a file nor a folder", Assert.Throws<FormatException>(() => RulesOptions.FromEnvironment(Env(("PILOTS_RULES", "/nonexistent/rules.yaml")), "1")).Message, StringComparison.Ordinal);
        Assert.StartsWith($"PILOTS_RULES: '{empty}' is a folder without *.yaml rule files", Assert.Throws<FormatException>(() => RulesOptions.FromEnvironment(Env(("PILOTS_RULES", empty)), "1")).Message, StringComparison.Ordinal);
        Assert.StartsWith("--rules: '/nonexistent' is neither", Assert.Throws<FormatException>(() => RulesOptions.FromEnvironment(Env(("PILOTS_RULES", empty), ("--rules", "/nonexistent")), "1")).Message, StringComparison.Ordinal);
        Assert.StartsWith($"PILOTS_ALERT_DB: '{_dir}' is a folder", Assert.Throws<FormatException>(() => RulesOptions.FromEnvironment(Env(("PILOTS_ALERT_DB", _dir)), "1")).Message, StringComparison.Ordinal);
        Assert.StartsWith("PILOTS_RULES_ENABLED: 'yes' is not 1 or 0", Assert.Throws<FormatException>(() => RulesOptions.FromEnvironment(Env(("PILOTS_RULES_ENABLED", "yes")), "1")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_rules_option_overrides_the_variable()
    {
        var file = Path.Combine(_dir, "farm.yaml");
        File.WriteAllText(file, "rules: []\n");

        Assert.Equal(file, RulesOptions.FromEnvironment(Env(("PILOTS_RULES", "/nonexistent"), ("--rules", file)), "1").RulesPath);
    }

    [Fact]
    public void Command_line_options_are_named_as_typed_and_checked_too()
    {
        Assert.Null(CloudSettings.Read(Env(), Env()).Summary);
        Assert.Equal(TimeSpan.FromSeconds(5), CloudSettings.Read(Env(("summary", "5")), Env()).Summary);
        Assert.Null(CloudSettings.Read(Env(("summary", "0")), Env()).Summary);
        Assert.StartsWith("--summary: 'often' is not a number of seconds from 0 to 3600", Assert.Throws<FormatException>(() => CloudSettings.Read(Env(("summary", "often")), Env())).Message, StringComparison.Ordinal);
        Assert.StartsWith("--registry: '/nonexistent' is neither", Assert.Throws<FormatException>(() => CloudSettings.Read(Env(("registry", "/nonexistent")), Env())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_device_registry_must_exist_and_hold_inventories()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "inventories")).FullName;
        Assert.True(CloudSettings.Read(Env(), Env()).Registry.IsOpen);
        Assert.StartsWith("PILOTS_DEVICE_REGISTRY: '/nonexistent' is neither", Assert.Throws<FormatException>(() => CloudSettings.Read(Env(), Env(("PILOTS_DEVICE_REGISTRY", "/nonexistent")))).Message, StringComparison.Ordinal);
        Assert.StartsWith($"PILOTS_DEVICE_REGISTRY: '{empty}' is a folder without edge inventories", Assert.Throws<FormatException>(() => CloudSettings.Read(Env(), Env(("PILOTS_DEVICE_REGISTRY", empty)))).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mqtt://user:secret@broker:1883", "mqtt://user:***@broker:1883")]
    [InlineData("http://user@host:8086", "http://user@host:8086")]
    [InlineData("not a url: at all", "not a url: at all")]
    public void A_quoted_url_never_repeats_its_password(string value, string shown) => Assert.Equal(shown, SettingsReader.Redact(value));
}
