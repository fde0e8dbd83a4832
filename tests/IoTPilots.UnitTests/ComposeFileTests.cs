using System.Text.RegularExpressions;
using IoTPilots.Cloud.Provisioning;
using YamlDotNet.RepresentationModel;

namespace IoTPilots.UnitTests;

/// <summary>
/// deploy/compose/docker-compose.yml cannot be run here (no Docker), so it is checked by reading it: every file it
/// mounts or reads exists, in the repository or among what <c>./run provision</c> writes into <c>.secrets/</c>; every
/// <c>${VARIABLE}</c> is in .env.example; every PILOTS_ variable handed to a container is one the code reads; and
/// the paths the generated configs name inside the containers are mounted there.
/// </summary>
public sealed partial class ComposeFileTests : IDisposable
{
    private static readonly string Root = ProvisionTests.RepositoryRoot();
    private static readonly string ComposeDir = Path.Combine(Root, "deploy", "compose");
    private readonly string _secrets = Directory.CreateTempSubdirectory("pilots-compose-").FullName;
    private readonly YamlMappingNode _services;

    public ComposeFileTests()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(ComposeDir, "docker-compose.yml"))));
        _services = (YamlMappingNode)((YamlMappingNode)stream.Documents[0].RootNode)["services"];

        // What the deploy README has the integrator run before `docker compose up`.
        var inventory = Path.Combine(_secrets, "gw.yaml");
        File.WriteAllText(inventory, "gateway: gw-a\nsite: s\npilot: port\ndevices:\n  - id: d\n    bus: modbus-tcp\n    address: 10.0.0.1:502\n    profile: crane-plc\n");
        var output = new StringWriter();
        Assert.Equal(0, ProvisionCommand.Run(["--inventory", inventory, "--out", Path.Combine(_secrets, "out"), "--host", "broker.example.org", "--cloud-host", "mosquitto", "--data-dir", "/mosquitto/data"], output, output, TimeProvider.System));
    }

    public void Dispose() => Directory.Delete(_secrets, recursive: true);

    [Fact]
    public void Every_mounted_file_env_file_and_build_input_exists()
    {
        var named = ((YamlMappingNode)((YamlMappingNode)LoadRoot())["volumes"]).Children.Keys.Select(k => k.ToString()).ToHashSet();
        var checkedPaths = 0;
        foreach (var (name, service) in Services())
        {
            foreach (var volume in Sequence(service, "volumes"))
            {
                var source = volume.Split(':')[0];
                if (source.StartsWith('.') || source.StartsWith('/'))
                {
                    Assert.True(Exists(source), $"{name}: volume source '{source}' does not exist (resolved: {Resolve(source)})");
                    checkedPaths++;
                }
                else
                {
                    Assert.True(named.Contains(source), $"{name}: named volume '{source}' is not declared under volumes:");
                }
            }

            foreach (var envFile in Sequence(service, "env_file"))
            {
                Assert.True(File.Exists(Resolve(envFile)), $"{name}: env_file '{envFile}' does not exist");
                checkedPaths++;
            }

            if (service.Children.TryGetValue("build", out var build))
            {
                var context = Path.GetFullPath(Path.Combine(ComposeDir, ((YamlMappingNode)build)["context"].ToString()));
                Assert.True(File.Exists(Path.Combine(context, ((YamlMappingNode)build)["dockerfile"].ToString())), $"{name}: the Dockerfile is missing");
            }
        }

        Assert.True(checkedPaths >= 5, $"only {checkedPaths} paths checked: has the file lost its mounts?");
    }

    [Fact]
    public void Every_interpolated_variable_is_in_the_env_example()
    {
        var example = File.ReadAllLines(Path.Combine(ComposeDir, ".env.example")).Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#')).Select(l => l.Split('=')[0]).ToHashSet();
        var used = Interpolation().Matches(File.ReadAllText(Path.Combine(ComposeDir, "docker-compose.yml"))).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.NotEmpty(used);
        Assert.Empty(used.Except(example));
    }

    [Fact]
    public void Every_pilots_variable_given_to_a_container_or_in_an_env_example_is_read_by_the_code()
    {
        var code = string.Concat(new[] { "edge", "cloud" }.SelectMany(d => Directory.GetFiles(Path.Combine(Root, d), "*.cs", SearchOption.AllDirectories)).Where(f => !f.Contains("/obj/", StringComparison.Ordinal)).Select(File.ReadAllText));
        var given = Services().SelectMany(s => s.Service.Children.TryGetValue("environment", out var env) ? ((YamlMappingNode)env).Children.Keys.Select(k => k.ToString()) : [])
            .Concat(EnvKeys(Path.Combine(_secrets, "out", "cloud", "cloud.env")))
            .Concat(EnvKeys(Path.Combine(_secrets, "out", "edge", "gw-a.env")))
            .Concat(EnvKeys(Path.Combine(Root, "deploy", "cloud", "cloud.env.example")))
            .Concat(EnvKeys(Path.Combine(Root, "deploy", "edge", "edge.env.example")))
            .Where(k => k.StartsWith("PILOTS_", StringComparison.Ordinal))
            .ToHashSet();
        Assert.Contains("PILOTS_MQTT_CA", given);
        Assert.All(given, variable => Assert.True(code.Contains($"\"{variable}\"", StringComparison.Ordinal), $"{variable} is set for a container but no code reads it"));
    }

    [Fact]
    public void The_generated_configs_name_paths_that_are_mounted_in_their_containers()
    {
        // The broker's -c file and everything mosquitto.conf names (except its data folder, a volume) are in a mount.
        var mosquitto = Service("mosquitto");
        var config = Sequence(mosquitto, "command").SkipWhile(a => a != "-c").Skip(1).Single();
        Assert.True(File.Exists(HostPathOf(mosquitto, config)), $"mosquitto -c {config} is not mounted");
        var conf = File.ReadAllText(HostPathOf(mosquitto, config));
        foreach (Match m in Regex.Matches(conf, @"^(?:password_file|acl_file|certfile|keyfile|cafile) (\S+)$", RegexOptions.Multiline))
        {
            Assert.True(File.Exists(HostPathOf(mosquitto, m.Groups[1].Value)), $"mosquitto.conf names {m.Groups[1].Value}, which is not mounted");
        }

        Assert.Contains("persistence_location /mosquitto/data/", conf, StringComparison.Ordinal);
        Assert.Contains(Sequence(mosquitto, "volumes"), v => v.EndsWith(":/mosquitto/data", StringComparison.Ordinal));
        Assert.Contains("log_dest stdout", conf, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^listener \d+ 127\.0\.0\.1", conf);

        // The cloud dials the broker by its service name, over TLS, trusting a CA file mounted in its container.
        var cloud = Service("cloud");
        var env = File.ReadAllLines(Resolve(Sequence(cloud, "env_file").Single())).Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#')).ToDictionary(l => l.Split('=', 2)[0], l => l.Split('=', 2)[1]);
        Assert.Matches(@"^mqtts://cloud:[^@]+@mosquitto:8883$", env["PILOTS_MQTT_URL"]);
        Assert.True(File.Exists(HostPathOf(cloud, env["PILOTS_MQTT_CA"])), $"PILOTS_MQTT_CA={env["PILOTS_MQTT_CA"]} is not mounted in the cloud container");
    }

    [Fact]
    public void Grafana_gets_every_variable_its_provisioning_files_use()
    {
        var grafana = Service("grafana");
        var environment = ((YamlMappingNode)grafana["environment"]).Children.Keys.Select(k => k.ToString()).ToHashSet();
        var used = Directory.GetFiles(Path.Combine(Root, "dashboards", "provisioning"), "*.yaml", SearchOption.AllDirectories)
            .SelectMany(f => Interpolation().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value)).ToHashSet();
        Assert.Empty(used.Except(environment));
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Interpolation();

    private static IEnumerable<string> EnvKeys(string file) =>
        File.ReadAllLines(file).Where(l => l.Contains('=', StringComparison.Ordinal)).Select(l => l.TrimStart('#').Split('=')[0]);

    private static YamlNode LoadRoot()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(ComposeDir, "docker-compose.yml"))));
        return stream.Documents[0].RootNode;
    }

    private IEnumerable<(string Name, YamlMappingNode Service)> Services() =>
        _services.Children.Select(kv => (kv.Key.ToString(), (YamlMappingNode)kv.Value));

    private YamlMappingNode Service(string name) => (YamlMappingNode)_services[name];

    private static IEnumerable<string> Sequence(YamlMappingNode service, string key) =>
        service.Children.TryGetValue(key, out var node) ? ((YamlSequenceNode)node).Children.Select(c => c.ToString()) : [];

    /// <summary>A path relative to the compose file; what lies under the repository's .secrets/ is looked up in this test's provisioning output.</summary>
    private string Resolve(string path)
    {
        var full = Path.GetFullPath(Path.Combine(ComposeDir, path));
        var secrets = Path.Combine(Root, ".secrets");
        return full == secrets || full.StartsWith(secrets + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? Path.Combine(_secrets, "out", Path.GetRelativePath(secrets, full))
            : full;
    }

    private bool Exists(string path) => File.Exists(Resolve(path)) || Directory.Exists(Resolve(path));

    /// <summary>Where a path inside a service's container comes from on the host, through its bind mounts.</summary>
    private string HostPathOf(YamlMappingNode service, string containerPath)
    {
        foreach (var volume in Sequence(service, "volumes"))
        {
            var parts = volume.Split(':');
            if (!(parts[0].StartsWith('.') || parts[0].StartsWith('/')))
            {
                continue;
            }

            if (containerPath == parts[1])
            {
                return Resolve(parts[0]);
            }

            if (containerPath.StartsWith(parts[1] + "/", StringComparison.Ordinal))
            {
                return Path.Combine(Resolve(parts[0]), containerPath[(parts[1].Length + 1)..]);
            }
        }

        return $"(not mounted: {containerPath})";
    }
}
