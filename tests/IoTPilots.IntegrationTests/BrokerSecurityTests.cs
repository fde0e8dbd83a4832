using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Cloud.Provisioning;
using IoTPilots.Contract;
using IoTPilots.Edge.Modbus;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The broker that <c>./run provision</c> configures, run for real (<see cref="TlsBroker"/>): TLS only, no anonymous
/// clients, a password per gateway, and an ACL under which a gateway speaks only for itself. Mosquitto 2.0 answers a
/// denied publish with a PUBACK and drops the message, so these tests look at what reaches a subscriber and the
/// cloud, never at the PUBACK.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class BrokerSecurityTests(Servers servers) : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-sec-").FullName;
    private ModbusTcpServer _plc = null!;
    private TlsBroker _broker = null!;

    private string Inventories => Path.Combine(_dir, "inventories");

    public async Task InitializeAsync()
    {
        _plc = FaultRig.StartTank();
        await FaultRig.WriteGatewayInventoriesAsync(_dir, _plc, ("gw-a", "site-a"), ("gw-b", "site-b"));
        _broker = await TlsBroker.StartAsync(Inventories);
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _plc.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Anonymous_connection_is_refused()
    {
        var result = await ConnectRawAsync(_broker.Endpoint(null, null));
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, result);
    }

    [Fact]
    public async Task A_wrong_password_is_refused_the_edge_says_so_and_keeps_its_queue_until_the_right_one_sends_it_all()
    {
        Assert.Equal(MqttClientConnectResultCode.NotAuthorized, await ConnectRawAsync(_broker.Endpoint("gw-a", "not-the-password")));

        var influx = await servers.NewDatabaseAsync("sec");
        using var cloud = Cloud(influx, out _);
        var edgeEnv = EdgeEnv("gw-a");
        edgeEnv["PILOTS_MQTT_URL"] = edgeEnv["PILOTS_MQTT_URL"].Replace(_broker.Password("gw-a"), "not-the-password", StringComparison.Ordinal);
        var edge = Edge("gw-a", edgeEnv);
        try
        {
            await cloud.StartAsync();
            edge.Start();
            await Eventually.TrueAsync(() => Task.FromResult(edge.Log.Contains("refused the connection as gw-a: login refused", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), $"the edge to log the refused login (log: {edge.Log})");
            await Eventually.TrueAsync(() => Task.FromResult(QueuedLast("gw-a").Count >= 5), TimeSpan.FromSeconds(60), "readings queued while the login is refused");
        }
        finally
        {
            edge.Dispose();
        }

        var (count, _) = QueuedLast("gw-a");
        Assert.True(count >= 5, $"the queue kept {count} records");
        Assert.Empty(await influx.LedgerEpochsAsync("gw-a"));

        // With the generated password, everything queued during the refusal goes out: nothing was dropped.
        using var fixedEdge = Edge("gw-a", EdgeEnv("gw-a"));
        fixedEdge.Start();
        await Eventually.TrueAsync(async () => (await influx.LedgerEpochsAsync("gw-a")).Values.Sum(s => s.Count) >= count + 5, TimeSpan.FromSeconds(90), "the backlog and new readings stored");
        fixedEdge.Terminate();
        var (left, last) = QueuedLast("gw-a");
        Assert.Equal(0, left);
        await AssertEverySeqStoredAsync(influx, "gw-a", last);
        await cloud.StopAsync();
    }

    [Fact]
    public async Task A_broker_certificate_from_another_ca_is_refused_by_the_client()
    {
        var otherCa = Path.Combine(_dir, "other-ca.crt");
        using (var other = DevelopmentCa.Create("Someone else's CA", DateTimeOffset.UtcNow))
        {
            await File.WriteAllTextAsync(otherCa, other.Certificate.ExportCertificatePem());
        }

        var log = new ErrorLog();
        await using var session = new MqttSession(_broker.Endpoint("gw-a", _broker.Password("gw-a"), otherCa), "it-other-ca", log.CreateLogger("session"), cleanStart: true);
        using var stop = new CancellationTokenSource();
        var running = session.RunAsync(stop.Token);
        await Eventually.TrueAsync(() => Task.FromResult(log.Errors.Any(e => e.Contains("TLS handshake failed", StringComparison.Ordinal))), TimeSpan.FromSeconds(30), "the TLS refusal logged as an error");
        Assert.False(session.IsConnected);
        await stop.CancelAsync();
        await running;

        // The control: the same credentials with the generated CA connect.
        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectRawAsync(_broker.Endpoint("gw-a", _broker.Password("gw-a"))));
    }

    [Fact]
    public async Task A_client_certificate_from_another_ca_is_refused_by_the_broker_in_certificate_mode()
    {
        using var other = DevelopmentCa.Create("Someone else's CA", DateTimeOffset.UtcNow);
        using var forged = other.IssueClient("gw-a", DateTimeOffset.UtcNow);
        var endpoint = new MqttEndpoint("localhost", _broker.CertPort, true, null, null) { ClientCertificate = forged }
            .WithTlsFromEnvironment(n => n == "PILOTS_MQTT_CA" ? _broker.CaFile : null);
        Assert.NotEqual(MqttClientConnectResultCode.Success, await ConnectRawAsync(endpoint));

        // The control: the generated certificate of gw-a connects, with no password.
        using var own = X509CertificateLoader.LoadPkcs12FromFile(Path.Combine(_broker.Dir, "edge", "gw-a.p12"), null);
        Assert.Equal(MqttClientConnectResultCode.Success, await ConnectRawAsync(endpoint with { ClientCertificate = own }));
    }

    [Fact]
    public async Task Gateway_a_cannot_publish_as_gateway_b_the_message_never_reaches_the_cloud_and_b_figures_do_not_move()
    {
        var influx = await servers.NewDatabaseAsync("sec");
        using var cloud = Cloud(influx, out var stats);
        await cloud.StartAsync();
        await cloud.Services.GetRequiredService<IngestionSubscription>().WaitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        await using var viewer = await SubscribeAsync("viewer", $"{Topics.Root}/{Topics.Version}/#");

        var gwA = _broker.Endpoint("gw-a", _broker.Password("gw-a"));
        await ForgeAsync(gwA, Topics.Telemetry("site-b", "gw-b", "tank-01"), Telemetry("site-b", "gw-b", 1, 66.6));
        await ForgeAsync(gwA, Topics.Status("site-b", "gw-b"), "{\"state\":\"offline\"}"u8.ToArray());

        // The fence: gw-b's own message, published after the forgery. The broker handles publishes in order, so once
        // the fence is delivered, a forgery it had let through would have been delivered before it.
        await using (var b = await ConnectPublisherAsync(_broker.Endpoint("gw-b", _broker.Password("gw-b"))))
        {
            await b.PublishAsync(Topics.Telemetry("site-b", "gw-b", "tank-01"), Telemetry("site-b", "gw-b", 1, 6.5));
        }

        await Eventually.TrueAsync(async () => (await influx.RowsAsync("SELECT do_mg_l FROM telemetry WHERE gateway = 'gw-b'")).Count == 1, TimeSpan.FromSeconds(60), "gw-b's own reading stored");
        await Eventually.TrueAsync(() => Task.FromResult(viewer.Received.Count == 1), TimeSpan.FromSeconds(30), "the viewer to see gw-b's own message");

        var rows = await influx.RowsAsync("SELECT do_mg_l FROM telemetry WHERE gateway = 'gw-b'");
        Assert.Equal(6.5, Assert.Single(rows)["do_mg_l"].GetDouble(), 9);
        Assert.Equal(1, stats.Messages);
        Assert.Equal([Topics.Telemetry("site-b", "gw-b", "tank-01")], viewer.Received.Select(m => m.Topic));
        await cloud.StopAsync();
    }

    [Fact]
    public async Task A_viewer_cannot_publish_at_all()
    {
        await using var cloudSide = await SubscribeAsync(BrokerAccess.CloudUser, $"{Topics.Root}/{Topics.Version}/#");
        var viewer = _broker.Endpoint("viewer", _broker.Password("viewer"));
        await ForgeAsync(viewer, Topics.Telemetry("site-a", "gw-a", "tank-01"), Telemetry("site-a", "gw-a", 1, 1.0));
        await ForgeAsync(viewer, Topics.Status("site-a", "gw-a"), "{\"state\":\"offline\"}"u8.ToArray());
        await ForgeAsync(viewer, GapReport.Topic("site-a", "gw-a"), "{}"u8.ToArray());

        await using (var a = await ConnectPublisherAsync(_broker.Endpoint("gw-a", _broker.Password("gw-a"))))
        {
            await a.PublishAsync(Topics.Telemetry("site-a", "gw-a", "tank-01"), Telemetry("site-a", "gw-a", 1, 6.5));
        }

        await Eventually.TrueAsync(() => Task.FromResult(!cloudSide.Received.IsEmpty), TimeSpan.FromSeconds(30), "gw-a's fence message");
        var only = Assert.Single(cloudSide.Received);
        Assert.Contains("6.5", System.Text.Encoding.UTF8.GetString(only.Payload), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_pipeline_runs_over_tls_with_the_generated_credentials_and_stores_every_sequence_number()
    {
        var influx = await servers.NewDatabaseAsync("sec");
        var cloudEnv = _broker.Env(BrokerAccess.CloudUser);
        cloudEnv["PILOTS_MQTT_CA"] = _broker.CaFile;
        cloudEnv["PILOTS_INFLUX_URL"] = servers.InfluxUrl;
        cloudEnv["PILOTS_INFLUX_DB"] = influx.Endpoint.Database;
        cloudEnv["PILOTS_DELIVERY_INTERVAL_S"] = "1";
        cloudEnv["PILOTS_ALERT_DB"] = Path.Combine(_dir, "alerts.db");
        // As installed: the command keys where cloud.env names them, and the registry they need.
        Assert.EndsWith("/command-keys", cloudEnv["PILOTS_COMMAND_KEYS"], StringComparison.Ordinal);
        cloudEnv["PILOTS_COMMAND_KEYS"] = Path.Combine(_broker.Dir, "cloud", "command-keys");
        cloudEnv["PILOTS_DEVICE_REGISTRY"] = Inventories;
        using var cloud = new ChildProcess("cloud/IoTPilots.Cloud", ["--urls", $"http://127.0.0.1:{Servers.FreePort()}"], cloudEnv);
        cloud.Start();
        await Eventually.TrueAsync(() => Task.FromResult(cloud.Log.Contains("Subscribed to", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), $"the cloud to subscribe over TLS (log: {cloud.Log})");
        using var edge = Edge("gw-a", EdgeEnv("gw-a"));
        edge.Start();
        await Eventually.TrueAsync(async () => (await influx.LedgerEpochsAsync("gw-a")).Values.Sum(s => s.Count) >= 20, TimeSpan.FromSeconds(60), $"readings flowing over TLS (edge log: {edge.Log})");
        edge.Terminate();
        var (left, last) = QueuedLast("gw-a");
        Assert.Equal(0, left);
        await AssertEverySeqStoredAsync(influx, "gw-a", last);
        Assert.DoesNotContain("refused", edge.Log, StringComparison.Ordinal);
    }

    /// <summary>A QoS 1 publisher as <paramref name="broker"/>'s user; a failure says what the broker logged.</summary>
    private async Task<MqttSession> ConnectPublisherAsync(MqttEndpoint broker)
    {
        try
        {
            return await TestPublisher.ConnectAsync(broker);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"could not connect as {broker.Username}; broker log:\n{_broker.Log}", ex);
        }
    }

    /// <summary>
    /// Publishes what the ACL should deny, each on its own connection: Mosquitto acknowledges a denied QoS 1 publish
    /// (MQTT 5 reason 0x87) and the connection may not survive it, so whatever happens to the client is ignored.
    /// </summary>
    private async Task ForgeAsync(MqttEndpoint broker, string topic, byte[] payload)
    {
        await using var session = await ConnectPublisherAsync(broker);
        try
        {
            await session.PublishAsync(topic, payload);
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException)
        {
        }
    }

    private static async Task AssertEverySeqStoredAsync(InfluxWriter influx, string gateway, long last)
    {
        await Eventually.TrueAsync(async () => (await influx.LedgerEpochsAsync(gateway)).Values.Sum(s => s.Count) == last, TimeSpan.FromSeconds(60), $"all {last} messages of {gateway} in the ledger");
        Assert.Equal(last, (await influx.LedgerEpochsAsync(gateway)).Values.Single().Max);
    }

    private Dictionary<string, string> EdgeEnv(string gateway)
    {
        var env = _broker.Env(gateway);
        env["PILOTS_MQTT_CA"] = _broker.CaFile;
        return env;
    }

    private ChildProcess Edge(string gateway, Dictionary<string, string> env) =>
        new("edge/IoTPilots.Edge", ["--inventory", Path.Combine(Inventories, gateway + ".yaml")], env);

    private (int Count, long Last) QueuedLast(string gateway) => FaultRig.QueuedLast(_dir, gateway);

    private Microsoft.Extensions.Hosting.IHost Cloud(InfluxWriter influx, out IngestionStats stats)
    {
        var host = Hosts.Cloud(_broker.Endpoint(BrokerAccess.CloudUser, _broker.Password(BrokerAccess.CloudUser)), influx.Endpoint, new ErrorLog());
        stats = host.Services.GetRequiredService<IngestionStats>();
        return host;
    }

    private static byte[] Telemetry(string site, string gateway, long seq, double value) =>
        TelemetryCodec.Encode(new TelemetryMessage(Pilots.Aquaculture, site, gateway, "tank-01", seq, [new Reading("do_mg_l", DateTimeOffset.UtcNow, value, "mg/L", Quality.Good)]));

    private static async Task<MqttClientConnectResultCode> ConnectRawAsync(MqttEndpoint endpoint)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var builder = new MqttClientOptionsBuilder().WithTcpServer(endpoint.Host, endpoint.Port).WithProtocolVersion(MqttProtocolVersion.V500).WithClientId($"it-raw-{Guid.NewGuid():N}")
            .WithTlsOptions(o =>
            {
                o.UseTls();
                if (endpoint.ClientCertificate is { } certificate)
                {
                    o.WithClientCertificates([certificate]);
                }

                o.WithCertificateValidationHandler(e => BrokerTrust.Validate(e.Certificate, e.Chain, e.SslPolicyErrors, endpoint.TrustedCa!));
            });
        if (endpoint.Username is { } user)
        {
            builder.WithCredentials(user, endpoint.Password);
        }

        using var client = new MqttClientFactory().CreateMqttClient();
        try
        {
            var result = await client.ConnectAsync(builder.Build(), timeout.Token);
            return result.ResultCode;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The broker closed the TLS handshake (a client certificate it does not trust).
            return MqttClientConnectResultCode.UnspecifiedError;
        }
    }

    private async Task<Subscriber> SubscribeAsync(string user, string filter)
    {
        var subscriber = new Subscriber(new MqttSession(_broker.Endpoint(user, _broker.Password(user)), $"it-sub-{Guid.NewGuid():N}", NullLogger.Instance, cleanStart: true));
        var subscribed = new TaskCompletionSource();
        subscriber.Session.OnConnected = async (client, ct) =>
        {
            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct);
            subscribed.TrySetResult();
        };
        subscriber.Session.Client.ApplicationMessageReceivedAsync += e =>
        {
            subscriber.Received.Enqueue((e.ApplicationMessage.Topic, System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload)));
            return Task.CompletedTask;
        };
        subscriber.Running = subscriber.Session.RunAsync(subscriber.Stop.Token);
        await subscribed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return subscriber;
    }

    private sealed class Subscriber(MqttSession session) : IAsyncDisposable
    {
        public MqttSession Session { get; } = session;

        public ConcurrentQueue<(string Topic, byte[] Payload)> Received { get; } = new();

        public CancellationTokenSource Stop { get; } = new();

        public Task Running { get; set; } = Task.CompletedTask;

        public async ValueTask DisposeAsync()
        {
            await Stop.CancelAsync();
            await Running;
            await Session.DisposeAsync();
            Stop.Dispose();
        }
    }
}
