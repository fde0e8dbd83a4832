using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Cloud.Nats;
using IoTPilots.Cloud.Provisioning;
using IoTPilots.Contract;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The NATS mode secured as <c>./run provision --broker nats</c> secures it (deploy/README.md, "The NATS mode"), run for
/// real: nats-server nodes that include exactly the generated fragments (TLS on the client, MQTT and route ports, the
/// generated users and permissions), clients with exactly the generated env files. Like Mosquitto, NATS's MQTT gateway
/// answers a publish its permissions deny with a PUBACK and drops it before the stream (server/mqtt.go,
/// <c>mqttProcessPub</c>), so these tests look at what the cloud stores, never at the PUBACK.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class SecureNatsTests(Servers servers) : IAsyncLifetime
{
    /// <summary>Ports the env files are provisioned with; the tests dial the cluster's own free ports instead.</summary>
    private const int ProvisionedMqttPort = 18883;
    private const int ProvisionedNatsPort = 14222;

    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-secnats-").FullName;
    private ModbusTcpServer _plc = null!;

    private string Inventories => Path.Combine(_dir, "inventories");

    private string Secrets => Path.Combine(_dir, "secrets");

    public async Task InitializeAsync()
    {
        _plc = FaultRig.StartTank();
        await FaultRig.WriteGatewayInventoriesAsync(_dir, _plc, ("gw-a", "site-a"), ("gw-b", "site-b"));

        var output = new StringWriter();
        var code = ProvisionCommand.Run(
            [
                "--inventory", Inventories, "--out", Secrets, "--broker", "nats", "--host", "localhost",
                "--nats-dir", Path.Combine(Secrets, "nats"), "--client-dir", Path.Combine(Secrets, "ca"),
                "--port", $"{ProvisionedMqttPort}", "--nats-port", $"{ProvisionedNatsPort}",
            ],
            output,
            output,
            TimeProvider.System);
        Assert.True(code == 0, $"provision exited {code}: {output}");
    }

    public async Task DisposeAsync()
    {
        await _plc.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_gateway_with_its_own_login_over_TLS_gets_every_reading_stored_through_the_clouds_JetStream_consumer()
    {
        // Three nodes: the routes between them run the generated mutual TLS too.
        await using var cluster = await StartClusterAsync(3);
        var influx = await servers.NewDatabaseAsync("secnats");
        var log = new ErrorLog();
        using var worker = await StartedAsync(Worker(cluster, CloudEnv(), influx.Endpoint, log));
        // The rules engine's own consumer (RulesService in the NATS mode), under the cloud's permissions too.
        var judged = 0;
        var rulesReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stopRules = new CancellationTokenSource();
        var rules = worker.Services.GetRequiredService<IMessageSources>().Open(new MessageSourceOptions("cloud-rules-sec", [Topics.AllTelemetry])
        {
            AutoAck = true,
            Subscribed = () => rulesReady.TrySetResult(),
            Replay = new StreamReplay("sec-rules", [Topics.AllTelemetry], TimeSpan.FromMinutes(10)),
        }).RunAsync((_, _) => { Interlocked.Increment(ref judged); return ValueTask.CompletedTask; }, stopRules.Token);
        await rulesReady.Task.WaitAsync(TimeSpan.FromSeconds(60));

        using var edge = Edge("gw-a", cluster);
        edge.Start();
        await Eventually.TrueAsync(async () => (await influx.LedgerEpochsAsync("gw-a")).Values.Sum(s => s.Count) >= 20, TimeSpan.FromSeconds(90), $"readings flowing over TLS (edge log: {edge.Log})");
        await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref judged) > 0), TimeSpan.FromSeconds(30), "gw-a's readings handed to the rules engine's consumer");
        await stopRules.CancelAsync();
        await rules;
        edge.Terminate();
        var (left, last) = QueuedLast("gw-a");
        Assert.Equal(0, left);
        await Eventually.TrueAsync(async () => (await influx.LedgerEpochsAsync("gw-a")).Values.Sum(s => s.Count) == last, TimeSpan.FromSeconds(60), $"all {last} messages of gw-a in the ledger");
        Assert.Equal(last, (await influx.LedgerEpochsAsync("gw-a")).Values.Single().Max);
        Assert.DoesNotContain("refused", edge.Log, StringComparison.Ordinal);
        Assert.DoesNotContain(log.Errors, e => e.Contains("refused", StringComparison.Ordinal));
        await worker.StopAsync();
    }

    [Fact]
    public async Task Gateway_a_cannot_publish_as_gateway_b_nothing_of_it_is_stored()
    {
        await using var cluster = await StartClusterAsync(1);
        var influx = await servers.NewDatabaseAsync("secnats");
        var log = new ErrorLog();
        using var worker = await StartedAsync(Worker(cluster, CloudEnv(), influx.Endpoint, log));
        var stats = worker.Services.GetRequiredService<IngestionStats>();

        await using (var a = await TestPublisher.ConnectAsync(Login(cluster, "gw-a")))
        {
            await a.PublishAsync(Topics.Telemetry("site-b", "gw-b", "tank-01"), Telemetry("site-b", "gw-b", 1, 66.6));
            await a.PublishAsync(GapReport.Topic("site-b", "gw-b"), "{}"u8.ToArray());
            // Its own site, another gateway's id: refused as well (the subject pins both).
            await a.PublishAsync(Topics.Telemetry("site-a", "gw-b", "tank-01"), Telemetry("site-a", "gw-b", 2, 77.7));
        }

        // The fence: gw-b's own reading, published after the forgeries were acknowledged. The stream keeps messages in
        // order and the consumer hands them over in order, so once the fence is stored a stored forgery would be too.
        await using (var b = await TestPublisher.ConnectAsync(Login(cluster, "gw-b")))
        {
            await b.PublishAsync(Topics.Telemetry("site-b", "gw-b", "tank-01"), Telemetry("site-b", "gw-b", 1, 6.5));
        }

        await Eventually.TrueAsync(async () => (await influx.RowsAsync("SELECT do_mg_l FROM telemetry WHERE gateway = 'gw-b'")).Count >= 1, TimeSpan.FromSeconds(60), "gw-b's own reading stored");
        var rows = await influx.RowsAsync("SELECT do_mg_l FROM telemetry WHERE gateway = 'gw-b'");
        Assert.Equal(6.5, Assert.Single(rows)["do_mg_l"].GetDouble(), 9);
        Assert.Equal(1, stats.Messages);
        await worker.StopAsync();
    }

    [Fact]
    public async Task A_wrong_password_and_a_gateway_speaking_NATS_are_refused()
    {
        await using var cluster = await StartClusterAsync(1);

        // MQTT: a gateway with a wrong password is refused at CONNECT, and says so.
        var log = new ErrorLog();
        await using (var session = new MqttSession(cluster.Mqtt(0) with { Username = "gw-a", Password = "not-the-password" }, "it-wrong", log.CreateLogger("session"), cleanStart: true))
        {
            using var stop = new CancellationTokenSource();
            var running = session.RunAsync(stop.Token);
            await Eventually.TrueAsync(() => Task.FromResult(log.Errors.Any(e => e.Contains("refused the connection as gw-a: login refused", StringComparison.Ordinal))), TimeSpan.FromSeconds(30), "the refused MQTT login logged");
            Assert.False(session.IsConnected);
            await stop.CancelAsync();
            await running;
        }

        // NATS: the cloud's user with a wrong password, and a gateway's right password over the NATS protocol (gateways
        // may connect over MQTT only), are refused.
        var cloud = Client(cluster, CloudEnv());
        await AssertRefusedAsync(cloud with { Password = "not-the-password" });
        await AssertRefusedAsync(cloud with { User = "gw-a", Password = Password("gw-a") });

        // The controls: the right logins get in.
        await using (await TestPublisher.ConnectAsync(Login(cluster, "gw-a")))
        {
        }

        await using var good = new NatsConnection(cloud.ClientOptions("it-good", NullLoggerFactory.Instance) with { RetryOnInitialConnect = false });
        await good.ConnectAsync();
        Assert.Equal(NatsConnectionState.Open, good.ConnectionState);
    }

    [Fact]
    public async Task The_cloud_with_a_wrong_password_logs_an_error_naming_the_settings_and_stores_nothing()
    {
        await using var cluster = await StartClusterAsync(1);
        var influx = await servers.NewDatabaseAsync("secnats");
        var log = new ErrorLog();
        var env = CloudEnv();
        env["PILOTS_NATS_PASSWORD"] = "not-the-password";
        using var worker = Worker(cluster, env, influx.Endpoint, log);
        await worker.StartAsync();
        await Eventually.TrueAsync(() => Task.FromResult(log.Errors.Any(e => e.Contains("refused the login as cloud", StringComparison.Ordinal) && e.Contains("PILOTS_NATS_PASSWORD", StringComparison.Ordinal))), TimeSpan.FromSeconds(60), $"the refused NATS login logged as an error (errors: {string.Join(" | ", log.Errors)})");
        Assert.DoesNotContain(log.Errors, e => e.Contains("not-the-password", StringComparison.Ordinal));
        Assert.False(worker.Services.GetRequiredService<IngestionSubscription>().IsActive);
        await worker.StopAsync();
    }

    private async Task<NatsCluster> StartClusterAsync(int nodes)
    {
        var env = CloudEnv();
        return await NatsCluster.StartAsync(nodes, new NatsSecurity(Path.Combine(Secrets, "nats"), env["PILOTS_NATS_CA"], NatsOptions.FromEnvironment(n => env.GetValueOrDefault(n))!));
    }

    private static async Task AssertRefusedAsync(NatsOptions options)
    {
        await using var nats = new NatsConnection(options.ClientOptions("it-refused", NullLoggerFactory.Instance) with { RetryOnInitialConnect = false });
        var refused = await Assert.ThrowsAnyAsync<NatsException>(async () => await nats.ConnectAsync());
        Assert.Contains("uthorization", refused.ToString(), StringComparison.Ordinal);
    }

    /// <summary>The cloud's generated env file (<c>cloud/cloud.env</c>) as written.</summary>
    private Dictionary<string, string> CloudEnv() => EnvFile(Path.Combine(Secrets, "cloud", "cloud.env"));

    private static Dictionary<string, string> EnvFile(string path) =>
        File.ReadAllLines(path)
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv[1]);

    private string Password(string user) =>
        File.ReadAllLines(Path.Combine(Secrets, "credentials")).Single(l => l.StartsWith(user + ":", StringComparison.Ordinal))[(user.Length + 1)..];

    /// <summary>The cloud's NATS options from its env file, on this cluster's ports.</summary>
    private static NatsOptions Client(NatsCluster cluster, Dictionary<string, string> env) =>
        NatsOptions.FromEnvironment(name => name == "PILOTS_NATS_URL" ? cluster.ClientUrls : env.GetValueOrDefault(name))!;

    /// <summary>Node 1's MQTT gateway with <paramref name="user"/>'s generated password.</summary>
    private MqttEndpoint Login(NatsCluster cluster, string user) => cluster.Mqtt(0) with { Username = user, Password = Password(user) };

    /// <summary>A cloud worker wired as Program.cs wires it in the NATS mode, with the settings of <paramref name="env"/> on this cluster's ports.</summary>
    private static IHost Worker(NatsCluster cluster, Dictionary<string, string> env, InfluxEndpoint influx, ErrorLog log)
    {
        var broker = (MqttEndpoint.Parse(env["PILOTS_MQTT_URL"]) with { Port = cluster.Mqtt(0).Port }).WithTlsFromEnvironment(n => env.GetValueOrDefault(n));
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().AddProvider(log);
        builder.Services.AddIngestion(new IngestionOptions(broker, influx, $"s{Guid.NewGuid():N}"[..10], "1")
        {
            DeliveryInterval = TimeSpan.FromSeconds(1),
            Nats = Client(cluster, env) with { AckWait = TimeSpan.FromSeconds(5) },
        });
        return builder.Build();
    }

    private static async Task<IHost> StartedAsync(IHost worker)
    {
        await worker.StartAsync();
        await worker.Services.GetRequiredService<IngestionSubscription>().WaitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        return worker;
    }

    /// <summary>The real edge agent with its generated env file, on this cluster's MQTT port.</summary>
    private ChildProcess Edge(string gateway, NatsCluster cluster)
    {
        var env = EnvFile(Path.Combine(Secrets, "edge", gateway + ".env"));
        env["PILOTS_MQTT_URL"] = env["PILOTS_MQTT_URL"].Replace($":{ProvisionedMqttPort}?", $":{cluster.Mqtt(0).Port}?", StringComparison.Ordinal);
        return new ChildProcess("edge/IoTPilots.Edge", ["--inventory", Path.Combine(Inventories, gateway + ".yaml")], env);
    }

    private (int Count, long Last) QueuedLast(string gateway) => FaultRig.QueuedLast(_dir, gateway);

    private static byte[] Telemetry(string site, string gateway, long seq, double value) =>
        TelemetryCodec.Encode(new TelemetryMessage(Pilots.Aquaculture, site, gateway, "tank-01", seq, [new Reading("do_mg_l", DateTimeOffset.UtcNow, value, "mg/L", Quality.Good)]));
}
