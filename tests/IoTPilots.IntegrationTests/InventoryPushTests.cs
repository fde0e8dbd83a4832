using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Issue 15 item 5, remote configuration, on the real broker with the real cloud and edge executables and a simulated
/// RAS tank: a good push applies and the cloud shows its version; one whose device cannot be reached is rolled back
/// after a 3 s probation; every refusal, at the cloud's API and at the gateway (the test then plays the cloud).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class InventoryPushTests(Servers servers) : IAsyncLifetime
{
    private const string Site = "push-site";
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-push-").FullName;
    private readonly string _gateway = $"gw-p{Guid.NewGuid():N}"[..12];
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, List<InventoryResult>> _results = new();
    private readonly List<ChildProcess> _processes = [];
    private ModbusTcpServer _plc = null!;
    private Uri _address = null!;
    private string _usersDb = null!;
    private ChildProcess _edge = null!;
    private string _inventoryFile = null!;
    private MqttSession _mqtt = null!;

    public async Task InitializeAsync()
    {
        _plc = new ModbusTcpServer(IPAddress.Loopback, 0);
        var profile = ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, "ras-tank-sim.yaml"));
        new SimulatedModbusDevice(profile, _plc.AddUnit(1)).Set("do_mg_l", 6.5);
        _plc.Start();
        var inventory = Path.Combine(_dir, "edge.yaml");
        await File.WriteAllTextAsync(inventory, Inventory(_plc.Port, "1s"));
        var keys = Path.Combine(_dir, "command-keys");
        await File.WriteAllTextAsync(keys, $"{_gateway} {Convert.ToBase64String(_key)}\n");
        var influx = await servers.NewDatabaseAsync("push");
        _usersDb = Path.Combine(_dir, "users.db");
        var port = Servers.FreePort();
        _address = new Uri($"http://127.0.0.1:{port}");
        var cloud = Track(FaultRig.Cloud(servers, influx, "g" + _gateway, "1", Path.Combine(_dir, "alerts.db"), port, new()
        {
            ["PILOTS_COMMAND_KEYS"] = keys,
            ["PILOTS_DEVICE_REGISTRY"] = inventory,
        }));
        _inventoryFile = inventory;
        _edge = Track(Edge(probationSeconds: 3));
        _mqtt = await TestPublisher.ConnectAsync(servers.Mqtt);
        _mqtt.Client.ApplicationMessageReceivedAsync += e =>
        {
            if (InventoryCodec.TryDecodeResult(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload), out _) is { } result)
            {
                var list = _results.GetOrAdd(result.Id, _ => []);
                lock (list)
                {
                    list.Add(result);
                }
            }

            return Task.CompletedTask;
        };
        await _mqtt.Client.SubscribeAsync(new MQTTnet.MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(Topics.ConfigResult(Site, _gateway), MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        cloud.Start();
        _edge.Start();
        await Eventually.TrueAsync(() => Task.FromResult(_edge.Output.Any(l => l.Contains("MQTT connected", StringComparison.Ordinal))), TimeSpan.FromSeconds(60), $"the edge to connect (log: {_edge.Log})");
        await Listening.AliveAsync(cloud, _address);
    }

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }

        await _mqtt.DisposeAsync();
        await _plc.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private ChildProcess Edge(int probationSeconds) => new("edge/IoTPilots.Edge", ["--inventory", _inventoryFile], new()
    {
        ["PILOTS_MQTT_URL"] = $"mqtt://{servers.Mqtt.Host}:{servers.Mqtt.Port}",
        ["PILOTS_COMMAND_KEY"] = Convert.ToBase64String(_key),
        ["PILOTS_EDGE_STATE_DIR"] = Path.Combine(_dir, "state"),
        ["PILOTS_INVENTORY_PROBATION_S"] = probationSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    private ChildProcess Track(ChildProcess p)
    {
        _processes.Add(p);
        return p;
    }

    private string Inventory(int port, string poll, string gateway = "", string site = Site) => $"""
        gateway: {(gateway.Length > 0 ? gateway : _gateway)}
        site: {site}
        pilot: aquaculture
        devices:
          - id: tank-01
            bus: modbus-tcp
            address: 127.0.0.1:{port}
            poll_interval: {poll}
            profile: ras-tank-sim
        """;

    private HttpClient Client(Role role, string sites = "*") => AlertHost.KeyClient(_address, Hosts.CreateApiKey(_usersDb, role, sites));

    private static Task<HttpResponseMessage> PushAsync(HttpClient http, string gateway, string yaml) =>
        http.PostAsync(new Uri($"/api/gateways/{gateway}/inventory", UriKind.Relative), new StringContent(yaml, Encoding.UTF8, "application/yaml"));

    private async Task<JsonElement> GatewayAsync(HttpClient http)
    {
        using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/gateways", UriKind.Relative)));
        return doc.RootElement.EnumerateArray().Single(g => g.GetProperty("gateway").GetString() == _gateway).Clone();
    }

    /// <summary>Waits until the cloud shows the gateway running <paramref name="version"/> in <paramref name="state"/>.</summary>
    private async Task<JsonElement> RunningAsync(HttpClient http, long version, string state)
    {
        var text = await Eventually.ValueAsync(
            async () => await GatewayAsync(http) is var g && g.GetProperty("inventory") is { ValueKind: JsonValueKind.Object } i
                && i.GetProperty("version").GetInt64() == version && i.GetProperty("state").GetString() == state ? g.GetRawText() : null,
            TimeSpan.FromSeconds(60),
            $"the cloud to show version {version} {state} (edge log: {_edge.Log})");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task A_good_push_applies_and_the_cloud_shows_its_version_and_one_whose_device_is_unreachable_is_rolled_back_after_probation()
    {
        using var admin = Client(Role.Admin);
        await RunningAsync(admin, 0, RunningInventory.Running);

        using (var response = await PushAsync(admin, _gateway, Inventory(_plc.Port, "2s")))
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
            Assert.Contains("\"version\":1", body, StringComparison.Ordinal);
        }

        var confirmed = await RunningAsync(admin, 1, RunningInventory.Running);
        Assert.Equal("online", confirmed.GetProperty("state").GetString());
        Assert.Equal(InventoryPush.HashOf(Inventory(_plc.Port, "2s")), confirmed.GetProperty("inventory").GetProperty("sha256").GetString());
        Assert.Contains("\"state\":\"confirmed\"", await admin.GetStringAsync(new Uri($"/api/gateways/{_gateway}/pushes", UriKind.Relative)), StringComparison.Ordinal);

        // Valid YAML, but the tank is not at that port: no device answers within the probation, so version 1 comes back.
        using (var response = await PushAsync(admin, _gateway, Inventory(Servers.FreePort(), "1s")))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var back = await RunningAsync(admin, 1, RunningInventory.RolledBack);
        Assert.Equal(2, back.GetProperty("inventory").GetProperty("highest").GetInt64());
        Assert.Contains("no device of version 2 answered", back.GetProperty("inventory").GetProperty("detail").GetString(), StringComparison.Ordinal);
        // The push's result is a message of its own, which may arrive after the status that shows the rollback.
        var pushes = "";
        await Eventually.TrueAsync(
            async () => (pushes = await admin.GetStringAsync(new Uri($"/api/gateways/{_gateway}/pushes", UriKind.Relative))).Contains($"\"reason\":\"{InventoryReasons.DevicesUnreachable}\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            () => $"the rolled-back push recorded with its reason; pushes: {pushes}");
        // The rolled-back inventory polls again: its reading reaches the edge's latest values, so a next push is judged fresh.
        Assert.Equal(InventoryPush.HashOf(Inventory(_plc.Port, "2s")), back.GetProperty("inventory").GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Only_an_admin_of_the_site_may_push_and_the_cloud_refuses_invalid_or_identity_changing_inventories()
    {
        using (var viewer = Client(Role.Viewer))
        using (var forbidden = await PushAsync(viewer, _gateway, Inventory(_plc.Port, "2s")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
            // A viewer still sees the gateway and its running version.
            Assert.Equal(Site, (await GatewayAsync(viewer)).GetProperty("site").GetString());
        }

        using (var operatorClient = Client(Role.Operator))
        using (var forbidden = await PushAsync(operatorClient, _gateway, Inventory(_plc.Port, "2s")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        // Admins see every site (Access); a viewer of another site does not see this gateway at all.
        using (var otherSite = Client(Role.Viewer, "another-site"))
        {
            using var list = JsonDocument.Parse(await otherSite.GetStringAsync(new Uri("/api/gateways", UriKind.Relative)));
            Assert.DoesNotContain(list.RootElement.EnumerateArray(), g => g.GetProperty("gateway").GetString() == _gateway);
            using var pushes = await otherSite.GetAsync(new Uri($"/api/gateways/{_gateway}/pushes", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, pushes.StatusCode);
        }

        using var admin = Client(Role.Admin);
        foreach (var (yaml, field) in new[]
        {
            (Inventory(_plc.Port, "2s").Replace($"127.0.0.1:{_plc.Port}", "nowhere", StringComparison.Ordinal), $"{_gateway}.yaml:7"),
            (Inventory(_plc.Port, "2s", site: "other-site"), "a push may not change a gateway"),
        })
        {
            using var response = await PushAsync(admin, _gateway, yaml);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
            Assert.Contains(field, body, StringComparison.Ordinal);
        }

        using var missing = await PushAsync(admin, "gw-nowhere", Inventory(_plc.Port, "2s"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(0, (await GatewayAsync(admin)).GetProperty("inventory").GetProperty("version").GetInt64());
    }

    private InventoryPush Push(long version, string yaml, TimeSpan? lifetime = null, string gateway = "") =>
        new(Guid.NewGuid().ToString("N"), Site, gateway.Length > 0 ? gateway : _gateway, version, InventoryPush.HashOf(yaml), yaml, "test.admin", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow + (lifetime ?? TimeSpan.FromHours(1)));

    private async Task<InventoryResult> SendAsync(InventoryPush push, string outcome = InventoryOutcomes.Refused)
    {
        await _mqtt.PublishAsync(Topics.Config(Site, _gateway), InventoryCodec.Encode(push));
        return await AnswerAsync(push, outcome);
    }

    private Task<InventoryResult> AnswerAsync(InventoryPush push, string outcome) => Eventually.ValueAsync(
        () => Task.FromResult(_results.TryGetValue(push.Id, out var list) ? FirstOf(list, outcome) : null),
        TimeSpan.FromSeconds(60),
        $"the gateway's {outcome} answer to push {push.Id} (edge log: {_edge.Log})");

    private static InventoryResult? FirstOf(List<InventoryResult> list, string outcome)
    {
        lock (list)
        {
            return list.FirstOrDefault(r => r.Outcome == outcome);
        }
    }

    [Fact]
    public async Task The_gateway_refuses_unsigned_tampered_expired_replayed_older_invalid_and_identity_changing_pushes()
    {
        var good = Inventory(_plc.Port, "2s");
        Assert.Equal(InventoryReasons.Unsigned, (await SendAsync(Push(5, good))).Reason);
        var tampered = InventorySignature.Sign(Push(5, good), _key) with { Content = Inventory(_plc.Port, "9s") };
        Assert.Equal(InventoryReasons.HashMismatch, (await SendAsync(tampered)).Reason);
        Assert.Equal(InventoryReasons.BadSignature, (await SendAsync(InventorySignature.Sign(Push(5, good), new byte[32]))).Reason);
        var expired = InventorySignature.Sign(Push(5, good) with { IssuedAt = DateTimeOffset.UtcNow.AddHours(-2), ExpiresAt = DateTimeOffset.UtcNow.AddHours(-1) }, _key);
        Assert.Equal(InventoryReasons.Expired, (await SendAsync(expired)).Reason);

        var invalid = await SendAsync(InventorySignature.Sign(Push(5, good.Replace("profile: ras-tank-sim", "profile: no-such-profile", StringComparison.Ordinal)), _key));
        Assert.Equal(InventoryReasons.Invalid, invalid.Reason);
        Assert.Contains("pushed.yaml:9", invalid.Detail, StringComparison.Ordinal);
        var identity = await SendAsync(InventorySignature.Sign(Push(5, Inventory(_plc.Port, "2s", site: "other-site")), _key));
        Assert.Equal(InventoryReasons.IdentityChange, identity.Reason);

        var applied = InventorySignature.Sign(Push(5, good), _key);
        Assert.Equal(InventoryReasons.Ok, (await SendAsync(applied, InventoryOutcomes.Probation)).Reason);
        Assert.Equal(5, (await SendAsync(applied, InventoryOutcomes.Confirmed)).Running);

        _results.TryRemove(applied.Id, out _);
        Assert.Equal(InventoryReasons.Replayed, (await SendAsync(applied)).Reason);
        var older = await SendAsync(InventorySignature.Sign(Push(4, Inventory(_plc.Port, "3s")), _key));
        Assert.Equal((InventoryReasons.NotNewer, 5L), (older.Reason, older.Running));
    }

    [Fact]
    public async Task A_gateway_killed_during_probation_comes_back_on_the_previous_inventory_and_says_so()
    {
        // A probation long enough that only the kill can end it.
        _edge.Terminate();
        _edge = Track(Edge(probationSeconds: 600));
        await StartEdgeAsync();
        var push = InventorySignature.Sign(Push(1, Inventory(_plc.Port, "2s")), _key);
        Assert.Equal(InventoryReasons.Ok, (await SendAsync(push, InventoryOutcomes.Probation)).Reason);

        _edge.Kill();
        await StartEdgeAsync();

        var back = await AnswerAsync(push, InventoryOutcomes.RolledBack);
        Assert.Equal((InventoryReasons.RestartedInProbation, 0L), (back.Reason, back.Running));
        using var admin = Client(Role.Admin);
        var shown = await RunningAsync(admin, 0, RunningInventory.RolledBack);
        Assert.Equal(InventoryPush.HashOf(await File.ReadAllTextAsync(_inventoryFile)), shown.GetProperty("inventory").GetProperty("sha256").GetString());
        // Version 1 was tried: it does not come again.
        Assert.Equal(InventoryReasons.NotNewer, (await SendAsync(InventorySignature.Sign(Push(1, Inventory(_plc.Port, "3s")), _key))).Reason);
    }

    private Task StartEdgeAsync() => _edge.StartConnectedAsync();
}
