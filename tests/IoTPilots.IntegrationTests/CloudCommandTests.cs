using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.Devices;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Issue 15's command path from the cloud's API to the tank's coil: the real cloud (keys from PILOTS_COMMAND_KEYS,
/// the registry from the gateway's inventory) and the real edge, on the real broker, against a simulated RAS tank.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class CloudCommandTests(Servers servers) : IAsyncLifetime
{
    private const string Site = "cmdapi-site";
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-cloudcmd-").FullName;
    private readonly string _gateway = $"gw-k{Guid.NewGuid():N}"[..12];
    private readonly List<ChildProcess> _processes = [];
    private ModbusTcpServer _plc = null!;
    private ModbusSlave _tank = null!;
    private SignalDefinition _coil = null!;
    private Uri _address = null!;
    private string _usersDb = null!;

    public async Task InitializeAsync()
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        _plc = new ModbusTcpServer(IPAddress.Loopback, 0);
        var profile = ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, "ras-tank-sim.yaml"));
        _coil = profile.Signals.Single(s => s.Name == "backup_aerator_on");
        var tank = new SimulatedModbusDevice(profile, _plc.AddUnit(1));
        tank.Set("do_mg_l", 2.9);
        _tank = tank.Slave;
        _plc.Start();
        var inventory = await FaultRig.WriteInventoryAsync(_dir, _gateway, Site, _plc, "1s", Path.Combine(_dir, "queue"));
        var keys = Path.Combine(_dir, "command-keys");
        await File.WriteAllTextAsync(keys, $"# test\n{_gateway} {key}\n");
        var influx = await servers.NewDatabaseAsync("cmdapi");
        _usersDb = Path.Combine(_dir, "users.db");
        var port = Servers.FreePort();
        _address = new Uri($"http://127.0.0.1:{port}");
        var cloud = Track(FaultRig.Cloud(servers, influx, "g" + _gateway, "1", Path.Combine(_dir, "alerts.db"), port, new()
        {
            ["PILOTS_COMMAND_KEYS"] = keys,
            ["PILOTS_DEVICE_REGISTRY"] = inventory,
        }));
        var edge = Track(new ChildProcess("edge/IoTPilots.Edge", ["--inventory", inventory], new()
        {
            ["PILOTS_MQTT_URL"] = $"mqtt://{servers.Mqtt.Host}:{servers.Mqtt.Port}",
            ["PILOTS_COMMAND_KEY"] = key,
        }));
        cloud.Start();
        edge.Start();
        // Subscribed to its command topic once connected: a command sent before would find no subscriber.
        await Eventually.TrueAsync(() => Task.FromResult(edge.Output.Any(l => l.Contains("MQTT connected", StringComparison.Ordinal))), TimeSpan.FromSeconds(60), $"the edge to connect (log: {edge.Log})");
        await Eventually.TrueAsync(() => Task.FromResult(cloud.Log.Contains("Subscribed to", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), $"the cloud to subscribe (log: {cloud.Log})");
        await Listening.AliveAsync(cloud, _address);
    }

    private ChildProcess Track(ChildProcess p)
    {
        _processes.Add(p);
        return p;
    }

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }

        await _plc.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private HttpClient Client(Role role, string sites = "*") => AlertHost.KeyClient(_address, Hosts.CreateApiKey(_usersDb, role, sites));

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, object body) => http.PostAsJsonAsync(new Uri("/api/commands", UriKind.Relative), body);

    [Fact]
    public async Task An_operator_starts_the_backup_aerator_through_the_api_and_the_gateways_answer_is_recorded()
    {
        using var operatorClient = Client(Role.Operator);
        using var response = await PostAsync(operatorClient, new { gateway = _gateway, device = "tank-01", point = "backup_aerator_on", value = 1, minutes = 2 });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        using var issued = JsonDocument.Parse(body);
        Assert.Equal("sent", issued.RootElement.GetProperty("state").GetString());
        var id = issued.RootElement.GetProperty("id").GetString()!;

        // The gateway checked the signature, wrote the coil, read it back, and answered; the cloud recorded it.
        var answered = await Eventually.ValueAsync(
            async () =>
            {
                var text = await operatorClient.GetStringAsync(new Uri($"/api/commands/{id}", UriKind.Relative));
                return text.Contains("\"state\":\"done\"", StringComparison.Ordinal) ? text : null;
            },
            TimeSpan.FromSeconds(60),
            "the gateway's answer in the record");
        using var doc = JsonDocument.Parse(answered);
        var record = doc.RootElement;
        Assert.Equal(1.0, record.GetProperty("readBack").GetDouble());
        Assert.StartsWith("key:", record.GetProperty("issuedBy").GetString(), StringComparison.Ordinal);
        Assert.True(_tank.GetBit(Table.Coil, _coil.Address));
    }

    [Fact]
    public async Task A_viewer_cannot_command_another_sites_operator_finds_nothing_and_bad_requests_name_the_field()
    {
        using var viewer = Client(Role.Viewer);
        using (var forbidden = await PostAsync(viewer, new { gateway = _gateway, device = "tank-01", point = "backup_aerator_on", value = 1 }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        using var otherSite = Client(Role.Operator, "another-site");
        using (var hidden = await PostAsync(otherSite, new { gateway = _gateway, device = "tank-01", point = "backup_aerator_on", value = 1 }))
        {
            Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        }

        using var operatorClient = Client(Role.Operator);
        foreach (var (request, status, field) in new (object, HttpStatusCode, string)[]
        {
            (new { gateway = _gateway, device = "tank-01", point = "do_mg_l", value = 1 }, HttpStatusCode.BadRequest, "point: tank-01.do_mg_l is not declared writable"),
            (new { gateway = _gateway, device = "tank-01", point = "backup_aerator_on", value = 3 }, HttpStatusCode.BadRequest, "value: 3 is outside 0..1"),
            (new { gateway = _gateway, device = "tank-09", point = "backup_aerator_on", value = 1 }, HttpStatusCode.NotFound, "device: tank-09"),
            (new { gateway = _gateway, device = "tank-01", point = "backup_aerator_on" }, HttpStatusCode.BadRequest, "value: a number is required"),
        })
        {
            using var response = await PostAsync(operatorClient, request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{status} expected: {body}");
            Assert.Contains(field, body, StringComparison.Ordinal);
        }

        Assert.False(_tank.GetBit(Table.Coil, _coil.Address));
        using var list = JsonDocument.Parse(await operatorClient.GetStringAsync(new Uri("/api/commands", UriKind.Relative)));
        Assert.Equal(0, list.RootElement.GetArrayLength());
    }
}
