using System.Net;
using System.Security.Cryptography;
using IoTPilots.Cloud.Access;
using IoTPilots.Devices;
using IoTPilots.FirmwareSim;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>
/// What the command tests share (issue 15): a simulated RAS tank PLC with its backup aerator coil, its gateway's
/// inventory, a command key for that gateway on both sides, and the real cloud (keys from PILOTS_COMMAND_KEYS, the
/// registry from the inventory) and the real edge on the test broker, both started and connected.
/// </summary>
public sealed class CommandRig : IAsyncDisposable
{
    private readonly List<ChildProcess> _processes = [];
    private ModbusTcpServer _plc = null!;

    private CommandRig(string site, string gateway)
    {
        Site = site;
        Gateway = gateway;
    }

    public string Site { get; }

    public string Gateway { get; }

    /// <summary>A throwaway folder for the test's files (rules, ...); deleted with the rig.</summary>
    public string Dir { get; } = Directory.CreateTempSubdirectory("pilots-cmdrig-").FullName;

    public Uri Address { get; private set; } = null!;

    /// <summary>The cloud's users and keys file (beside its alert database, as by default).</summary>
    public string UsersDb => Path.Combine(Dir, "users.db");

    public ChildProcess Cloud { get; private set; } = null!;

    public ModbusSlave Tank { get; private set; } = null!;

    /// <summary>The tank's <c>backup_aerator_on</c> coil.</summary>
    public SignalDefinition Coil { get; private set; } = null!;

    /// <param name="doMgL">The tank's dissolved oxygen (below 3 mg/L raises the shipped and the tests' DO rules).</param>
    /// <param name="cloudEnvironment">More cloud settings, given the rig (for its address or folder): PILOTS_RULES, PILOTS_WEBHOOK_URL, ...</param>
    public static async Task<CommandRig> StartAsync(Servers servers, string site, string gatewayPrefix, double doMgL, Func<CommandRig, Dictionary<string, string>>? cloudEnvironment = null)
    {
        var rig = new CommandRig(site, $"{gatewayPrefix}{Guid.NewGuid():N}"[..12]);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        rig._plc = new ModbusTcpServer(IPAddress.Loopback, 0);
        var profile = ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, "ras-tank-sim.yaml"));
        rig.Coil = profile.Signals.Single(s => s.Name == "backup_aerator_on");
        var tank = new SimulatedModbusDevice(profile, rig._plc.AddUnit(1));
        tank.Set("do_mg_l", doMgL);
        rig.Tank = tank.Slave;
        rig._plc.Start();
        var inventory = await FaultRig.WriteInventoryAsync(rig.Dir, rig.Gateway, site, rig._plc, "1s", Path.Combine(rig.Dir, "queue"));
        var keys = Path.Combine(rig.Dir, "command-keys");
        await File.WriteAllTextAsync(keys, $"# test\n{rig.Gateway} {key}\n");
        var influx = await servers.NewDatabaseAsync(gatewayPrefix.Replace("-", "", StringComparison.Ordinal));
        var port = Servers.FreePort();
        rig.Address = new Uri($"http://127.0.0.1:{port}");
        var environment = cloudEnvironment?.Invoke(rig) ?? [];
        environment["PILOTS_COMMAND_KEYS"] = keys;
        environment["PILOTS_DEVICE_REGISTRY"] = inventory;
        var cloud = rig.Cloud = rig.Track(FaultRig.Cloud(servers, influx, "g" + rig.Gateway, "1", Path.Combine(rig.Dir, "alerts.db"), port, environment));
        var edge = rig.Track(new ChildProcess("edge/IoTPilots.Edge", ["--inventory", inventory], new()
        {
            ["PILOTS_MQTT_URL"] = $"mqtt://{servers.Mqtt.Host}:{servers.Mqtt.Port}",
            ["PILOTS_COMMAND_KEY"] = key,
        }));
        cloud.Start();
        edge.Start();
        // Subscribed to its command topic once connected: a command sent before would find no subscriber.
        await Eventually.TrueAsync(() => Task.FromResult(edge.Output.Any(l => l.Contains("MQTT connected", StringComparison.Ordinal))), TimeSpan.FromSeconds(60), $"the edge to connect (log: {edge.Log})");
        await Eventually.TrueAsync(() => Task.FromResult(cloud.Log.Contains("Subscribed to", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), $"the cloud to subscribe (log: {cloud.Log})");
        await Listening.AliveAsync(cloud, rig.Address);
        return rig;
    }

    /// <summary>An HTTP client for the cloud with a fresh API key of <paramref name="role"/> and <paramref name="sites"/>.</summary>
    public HttpClient Client(Role role, string sites = "*") => AlertHost.KeyClient(Address, Hosts.CreateApiKey(UsersDb, role, sites));

    public bool AeratorOn => Tank.GetBit(Table.Coil, Coil.Address);

    private ChildProcess Track(ChildProcess p)
    {
        _processes.Add(p);
        return p;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }

        await _plc.DisposeAsync();
        Directory.Delete(Dir, recursive: true);
    }
}
