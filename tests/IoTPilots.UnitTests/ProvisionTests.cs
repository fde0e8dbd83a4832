using System.Net.Security;
using IoTPilots.Cloud.Provisioning;
using IoTPilots.Mqtt;

namespace IoTPilots.UnitTests;

public sealed class ProvisionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-prov-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Inventories => Path.Combine(_dir, "inv");

    private string Out => Path.Combine(_dir, "out");

    private string WriteInventory(string gateway, string site, string name, string? deviceSite = null)
    {
        Directory.CreateDirectory(Inventories);
        var file = Path.Combine(Inventories, name);
        File.WriteAllText(file, $"""
            gateway: {gateway}
            site: {site}
            pilot: aquaculture
            devices:
              - id: tank-01
                bus: modbus-tcp
                address: 127.0.0.1:5020
                profile: ras-tank-sim
              - id: tank-02
                bus: modbus-tcp
                address: 127.0.0.1:5020
                profile: ras-tank-sim
            {(deviceSite is null ? "" : $"    site: {deviceSite}")}
            """);
        return file;
    }

    private (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = ProvisionCommand.Run(args, output, error, TimeProvider.System);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Password_line_matches_mosquitto_passwd_byte_for_byte()
    {
        // Written by Mosquitto 2.0.11's `mosquitto_passwd -c -b pw gw-test 'correct horse'`.
        const string reference = "gw-test:$7$101$4dbCXzH7S0y9XKru$9EVD1wwn8pqfA27PLZMoc1gsMNKg9t47aiGKBUWPTnYKYTY0Z7s1sI0dACbtILFplrZ1SDWnwyM9Toy9bHNBmg==";

        Assert.True(MosquittoPassword.Verifies(reference, "gw-test", "correct horse"));
        Assert.False(MosquittoPassword.Verifies(reference, "gw-test", "wrong horse"));
        Assert.False(MosquittoPassword.Verifies(reference, "gw-other", "correct horse"));
        Assert.Equal(reference, MosquittoPassword.Line("gw-test", "correct horse", Convert.FromBase64String("4dbCXzH7S0y9XKru")));
    }

    [Fact]
    public void Acl_lets_each_gateway_write_only_its_own_topics_and_read_only_its_commands_and_the_viewer_only_read()
    {
        WriteInventory("gw-a", "site-a", "a.yaml", deviceSite: "site-x");
        WriteInventory("gw-b", "site-b", "b.yaml");

        var acl = BrokerAccess.Acl(BrokerAccess.FromInventories(ProvisionCommand.LoadInventories([Inventories])));

        Assert.Contains("""
            user gw-a
            topic write pilots/v1/site-a/gw-a/+/telemetry
            topic write pilots/v1/site-x/gw-a/+/telemetry
            topic write pilots/v1/site-a/gw-a/status
            topic write pilots/v1/site-a/gw-a/gap
            topic read pilots/v1/site-a/gw-a/command
            topic write pilots/v1/site-a/gw-a/command/result
            """.ReplaceLineEndings("\n"), acl, StringComparison.Ordinal);
        Assert.Contains("user gw-b\ntopic write pilots/v1/site-b/gw-b/+/telemetry\n", acl, StringComparison.Ordinal);
        Assert.Contains("user viewer\ntopic read pilots/v1/#\n", acl, StringComparison.Ordinal);
        Assert.Contains("user cloud\ntopic read pilots/v1/+/+/+/telemetry\ntopic read pilots/v1/+/+/gap\n", acl, StringComparison.Ordinal);
        Assert.Contains("topic write pilots/v1/+/+/command\ntopic read pilots/v1/+/+/command/result\n", acl, StringComparison.Ordinal);
        // No pattern rules (they would apply to every user), and a gateway reads nothing but its own commands and pushes.
        Assert.DoesNotContain("pattern", acl.Split('\n').Where(l => !l.StartsWith('#')), StringComparer.Ordinal);
        var gatewayRules = acl.Split("\n\n").Where(b => b.StartsWith("user gw-", StringComparison.Ordinal)).SelectMany(b => b.Split('\n').Skip(1)).Where(l => l.Length > 0);
        Assert.All(gatewayRules, rule => Assert.True(rule.StartsWith("topic write ", StringComparison.Ordinal) || rule.EndsWith("/command", StringComparison.Ordinal) || rule.EndsWith("/config", StringComparison.Ordinal), rule));
        Assert.Contains("topic read pilots/v1/site-a/gw-a/config\ntopic write pilots/v1/site-a/gw-a/config/result\n", acl, StringComparison.Ordinal);
        Assert.Contains("topic write pilots/v1/+/+/config\ntopic read pilots/v1/+/+/config/result\n", acl, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_gateway_id_exits_2_naming_both_files_and_the_field()
    {
        WriteInventory("gw-a", "site-a", "a.yaml");
        var second = WriteInventory("gw-a", "site-b", "b.yaml");

        var (code, _, error) = Run("--inventory", Inventories, "--out", Out);

        Assert.Equal(2, code);
        Assert.Contains($"{second}: gateway: 'gw-a' is already the gateway of", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Out));
    }

    [Fact]
    public void A_gateway_named_like_the_cloud_user_exits_2()
    {
        var file = WriteInventory("cloud", "site-a", "a.yaml");
        var (code, _, error) = Run("--inventory", file, "--out", Out);
        Assert.Equal(2, code);
        Assert.Contains($"{file}: gateway: 'cloud'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--out", "x", "--inventory")]
    [InlineData("--inventory", "inv", "--out")]
    [InlineData("--inventory", "inv", "--out", "o", "--port", "70000", "--port")]
    [InlineData("--inventory", "inv", "--out", "o", "--host", "bad host", "--host")]
    [InlineData("--inventory", "inv", "--out", "o", "--broker-dir", "relative", "--broker-dir")]
    [InlineData("--inventory", "inv", "--out", "o", "--frobnicate", "1", "--frobnicate")]
    [InlineData("--inventory", "inv", "--out", "o", "--host", "--host")]
    public void Bad_arguments_exit_2_naming_the_option(params string[] argsThenOption)
    {
        var (code, _, error) = Run(argsThenOption[..^1]);
        Assert.Equal(2, code);
        Assert.StartsWith($"provision: {argsThenOption[^1]}:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_invalid_inventory_exits_2_naming_it()
    {
        var missing = Path.Combine(_dir, "nope.yaml");
        Assert.Contains($"--inventory: '{missing}' is neither a file nor a folder", Run("--inventory", missing, "--out", Out).Error, StringComparison.Ordinal);

        var bad = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(bad, "site: s\ndevices: []\n");
        var (code, _, error) = Run("--inventory", bad, "--out", Out);
        Assert.Equal(2, code);
        Assert.Contains(bad, error, StringComparison.Ordinal);
        Assert.Contains("gateway", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unwritable_out_folder_exits_2_naming_it()
    {
        var file = WriteInventory("gw-a", "site-a", "a.yaml");
        var blocker = Path.Combine(_dir, "a-file");
        File.WriteAllText(blocker, "");
        var (code, _, error) = Run("--inventory", file, "--out", Path.Combine(blocker, "out"));
        Assert.Equal(2, code);
        Assert.Contains($"--out: cannot write into '{Path.Combine(blocker, "out")}'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rerun_keeps_everything_and_adds_a_new_gateway_and_rotate_makes_all_anew()
    {
        WriteInventory("gw-a", "site-a", "a.yaml");
        Assert.Equal(0, Run("--inventory", Inventories, "--out", Out, "--host", "broker.example.org").Code);
        var first = Snapshot();

        WriteInventory("gw-b", "site-b", "b.yaml");
        Assert.Equal(0, Run("--inventory", Inventories, "--out", Out, "--host", "broker.example.org").Code);
        var second = Snapshot();

        foreach (var (file, content) in first.Where(f => f.Key is not ("credentials" or "mosquitto/passwords" or "mosquitto/acl" or "cloud/command-keys" or "nats/users.conf")))
        {
            Assert.True(second[file] == content, $"{file} changed on a re-run");
        }

        Assert.All(first["mosquitto/passwords"].Split('\n'), line => Assert.Contains(line, second["mosquitto/passwords"], StringComparison.Ordinal));
        Assert.Contains("edge/gw-b.env", second.Keys);
        Assert.Contains("user gw-b", second["mosquitto/acl"], StringComparison.Ordinal);
        Assert.Contains("PILOTS_MQTT_URL=mqtts://gw-a:", second["edge/gw-a.env"], StringComparison.Ordinal);
        Assert.Contains("@broker.example.org:8883\n", second["edge/gw-a.env"], StringComparison.Ordinal);
        // Each gateway's command key is the one the cloud signs its commands with, and a re-run keeps it.
        var keys = IoTPilots.Cloud.Commands.CommandKeys.Load(Path.Combine(Out, "cloud", "command-keys"));
        Assert.Equal(2, keys.Count);
        Assert.Contains($"PILOTS_COMMAND_KEY={Convert.ToBase64String(keys.For("gw-a")!)}\n", second["edge/gw-a.env"], StringComparison.Ordinal);
        Assert.Contains(first["cloud/command-keys"].Split('\n')[1], second["cloud/command-keys"], StringComparison.Ordinal);
        Assert.Contains("PILOTS_COMMAND_KEYS=", second["cloud/cloud.env"], StringComparison.Ordinal);
        Assert.DoesNotContain("PILOTS_COMMAND_KEY", second["cloud/viewer.env"], StringComparison.Ordinal);

        if (!OperatingSystem.IsWindows())
        {
            foreach (var secret in new[] { "ca/ca.key", "mosquitto/server.key", "mosquitto/passwords", "credentials", "edge/gw-a.env", "cloud/cloud.env", "cloud/command-keys" })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Out, secret)));
            }
        }

        Assert.Equal(0, Run("--inventory", Inventories, "--out", Out, "--host", "broker.example.org", "--rotate").Code);
        var rotated = Snapshot();
        Assert.NotEqual(second["ca/ca.crt"], rotated["ca/ca.crt"]);
        Assert.NotEqual(second["edge/gw-a.env"], rotated["edge/gw-a.env"]);
    }

    [Fact]
    public void A_gateway_that_left_the_inventories_loses_its_files_and_login()
    {
        WriteInventory("gw-a", "site-a", "a.yaml");
        var b = WriteInventory("gw-b", "site-b", "b.yaml");
        Assert.Equal(0, Run("--inventory", Inventories, "--out", Out).Code);
        File.Delete(b);
        Assert.Equal(0, Run("--inventory", Inventories, "--out", Out).Code);

        Assert.False(File.Exists(Path.Combine(Out, "edge", "gw-b.env")));
        Assert.DoesNotContain("gw-b", File.ReadAllText(Path.Combine(Out, "mosquitto", "passwords")), StringComparison.Ordinal);
        Assert.DoesNotContain("gw-b", File.ReadAllText(Path.Combine(Out, "mosquitto", "acl")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_mosquitto_conf_is_what_provision_writes_by_default() =>
        Assert.Equal(BrokerConfig.Render(new BrokerLayout()), File.ReadAllText(Path.Combine(RepositoryRoot(), "deploy", "mosquitto", "mosquitto.conf")));

    [Fact]
    public void The_server_certificate_chains_to_the_generated_ca_and_names_every_host()
    {
        var now = DateTimeOffset.UtcNow;
        using var ca = DevelopmentCa.Create("test CA", now);
        using var other = DevelopmentCa.Create("other CA", now);
        using var server = ca.IssueServer(["broker.example.org", "localhost", "127.0.0.1"], now);

        Assert.True(BrokerTrust.Validate(server, null, SslPolicyErrors.RemoteCertificateChainErrors, [ca.Certificate]));
        Assert.False(BrokerTrust.Validate(server, null, SslPolicyErrors.RemoteCertificateChainErrors, [other.Certificate]));
        Assert.False(BrokerTrust.Validate(server, null, SslPolicyErrors.RemoteCertificateNameMismatch, [ca.Certificate]));
        Assert.True(DevelopmentCa.Names(server).SetEquals(["broker.example.org", "localhost", "127.0.0.1"]));
    }

    [Fact]
    public void Pilots_mqtt_ca_is_checked_at_start_naming_the_variable()
    {
        var missing = Path.Combine(_dir, "absent.crt");
        var notPem = Path.Combine(_dir, "not.crt");
        File.WriteAllText(notPem, "hello");
        var endpoint = MqttEndpoint.Parse("mqtts://gw-a:pw@broker.example.org:8883");

        foreach (var file in new[] { missing, notPem })
        {
            var ex = Assert.Throws<FormatException>(() => endpoint.WithTlsFromEnvironment(n => n == "PILOTS_MQTT_CA" ? file : null));
            Assert.StartsWith("PILOTS_MQTT_CA:", ex.Message, StringComparison.Ordinal);
            Assert.Contains(file, ex.Message, StringComparison.Ordinal);
        }

        using var ca = DevelopmentCa.Create("test CA", DateTimeOffset.UtcNow);
        var good = Path.Combine(_dir, "ca.crt");
        File.WriteAllText(good, ca.Certificate.ExportCertificatePem());
        Assert.Single(endpoint.WithTlsFromEnvironment(n => n == "PILOTS_MQTT_CA" ? good : null).TrustedCa!);

        var plain = Assert.Throws<FormatException>(() => MqttEndpoint.Parse("mqtt://broker:1883").WithTlsFromEnvironment(n => n == "PILOTS_MQTT_CA" ? good : null));
        Assert.StartsWith("PILOTS_MQTT_CA: is set but PILOTS_MQTT_URL is not an mqtts:// URL", plain.Message, StringComparison.Ordinal);
    }

    private Dictionary<string, string> Snapshot() =>
        Directory.GetFiles(Out, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(Out, f).Replace('\\', '/'), File.ReadAllText);

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IoTPilots.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("IoTPilots.sln not found above the test binaries");
    }
}
