using System.Globalization;
using System.Net;
using System.Text;
using IoTPilots.Devices;
using IoTPilots.Edge.Gpio;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Serial;
using IoTPilots.Edge.Serial.Ezo;
using IoTPilots.FirmwareSim.Factory;
using IoTPilots.FirmwareSim.Serial;
using IoTPilots.Mqtt;

namespace IoTPilots.FirmwareSim;

/// <summary>Where the simulator listens, and where the edges' uplinks go.</summary>
public sealed record SimOptions
{
    public IPAddress Bind { get; init; } = IPAddress.Loopback;

    /// <summary>The real broker; when set, each gateway's uplink runs through an <see cref="UplinkProxy"/>.</summary>
    public MqttEndpoint? Broker { get; init; }

    /// <summary>Where to emulate the kernel's 1-Wire sysfs tree; a fresh temp folder when null.</summary>
    public string? W1Directory { get; init; }
}

/// <summary>
/// Serves a <see cref="Fleet"/> over the protocols of the real hardware, one gateway per pilot:
/// Modbus TCP servers (one per PLC), Modbus RTU lines on pseudo-terminals with several unit ids each, an Atlas
/// EZO circuit on a pseudo-terminal, and DS18B20 sensors in an emulated 1-Wire sysfs tree. Register maps are
/// the edge's own profiles. <see cref="WriteInventories"/> writes the inventory each edge needs to poll it.
/// </summary>
public sealed class SimHost : IAsyncDisposable
{
    public const string W1SensorId = "28-0000000a2b01";

    private readonly Fleet _fleet;
    private readonly SimOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly Dictionary<string, (SimulatedModbusDevice Device, Func<Dictionary<string, double>> Values)> _modbus = [];
    private readonly List<Action> _obey = [];
    private readonly List<(string Gateway, string Yaml)> _devicesYaml = [];
    private readonly Dictionary<string, UplinkProxy> _proxies = [];
    private readonly string _w1;
    private double[] _ph = [8.0];

    private SimHost(Fleet fleet, SimOptions options)
    {
        _fleet = fleet;
        _options = options;
        _w1 = options.W1Directory ?? Directory.CreateTempSubdirectory("pilots-w1-").FullName;
    }

    public static readonly IReadOnlyDictionary<string, (string Site, string Pilot)> Gateways = new Dictionary<string, (string, string)>
    {
        ["gw-aqua-01"] = ("cat-hai-ras-1", "aquaculture"),
        ["gw-factory-01"] = ("hp-steel-1", "factory"),
        ["gw-port-01"] = ("hp-port-1", "port"),
    };

    /// <summary>One line per endpoint: host:port, pty path, unit ids.</summary>
    public List<string> Endpoints { get; } = [];

    public IReadOnlyDictionary<string, UplinkProxy> Proxies => _proxies;

    public static async Task<SimHost> StartAsync(Fleet fleet, SimOptions options)
    {
        var host = new SimHost(fleet, options);
        try
        {
            host.StartAquaculture();
            host.StartFactory();
            host.StartPort();
            host.StartProxies();
            host.Update();
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return host;
    }

    private static DeviceProfile Profile(string id) => ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, id + ".yaml"));

    private ModbusTcpServer TcpServer()
    {
        var server = new ModbusTcpServer(_options.Bind, 0);
        _owned.Add(server);
        return server;
    }

    private (PseudoTerminal Pty, ModbusRtuServer Server) RtuLine(int baud)
    {
        var pty = PseudoTerminal.Open(baud);
        _owned.Add(pty);
        var server = new ModbusRtuServer(pty.Master);
        _loops.Add(server.RunAsync(_stop.Token));
        return (pty, server);
    }

    private void AddModbus(string gateway, string id, string profile, ModbusSlave slave, string busYaml, Func<Dictionary<string, double>> values, string extra = "")
    {
        _modbus[id] = (new SimulatedModbusDevice(Profile(profile), slave), values);
        _devicesYaml.Add((gateway, $"  - {{ id: {id}, {busYaml}, profile: {profile}{extra} }}"));
    }

    private void StartAquaculture()
    {
        const string gw = "gw-aqua-01";
        var plc = TcpServer();
        var unit = (byte)1;
        foreach (var (id, tank) in _fleet.Tanks)
        {
            var u = unit++;
            AddModbus(gw, id, "ras-tank-sim", plc.AddUnit(u), $"bus: modbus-tcp, address: \"{_options.Bind}:{{plc}}\", unit: {u}, poll_interval: 5s", () => FleetSignals.Tank(tank));
            var device = _modbus[id].Device;
            _obey.Add(() => FleetSignals.ObeyTank(tank, device));
        }

        plc.Start();
        Fill(gw, "{plc}", plc.Port.ToString(CultureInfo.InvariantCulture));
        Endpoints.Add($"sim: {gw} tank PLC modbus-tcp://{_options.Bind}:{plc.Port} units 1-{_fleet.Tanks.Count} ({string.Join(", ", _fleet.Tanks.Keys)})");

        var (rtu, line) = RtuLine(9600);
        var buoy = _fleet.Buoy;
        AddModbus(gw, "buoy-catba-01", "buoy-sim", line.AddUnit(1), $"bus: modbus-rtu, address: \"{rtu.SlavePath}?baud=9600\", unit: 1, poll_interval: 10s, site: cat-ba-coast", () => FleetSignals.Buoy(buoy));
        var tank4 = _fleet.Tanks["tank-04"];
        AddModbus(gw, "tank-04-do", "renke-rs-ldo", line.AddUnit(2), $"bus: modbus-rtu, address: \"{rtu.SlavePath}?baud=9600\", unit: 2, poll_interval: 10s", () => FleetSignals.DoProbe(tank4));
        Endpoints.Add($"sim: {gw} RS-485 line {rtu.SlavePath} 9600 8N1 units 1 (buoy-catba-01), 2 (tank-04-do)");

        var ezoPty = PseudoTerminal.Open(9600);
        _owned.Add(ezoPty);
        var ezo = new EzoEmulator(ezoPty.Master, EzoKind.Ph, () => _ph);
        _loops.Add(ezo.RunAsync(_stop.Token));
        _devicesYaml.Add((gw, $"  - {{ id: tank-01-ph, bus: ezo, address: \"{ezoPty.SlavePath}\", profile: atlas-ezo-ph, mode: continuous, poll_interval: 5s }}"));
        Endpoints.Add($"sim: {gw} Atlas EZO-pH on {ezoPty.SlavePath} 9600 8N1 (tank-01-ph)");

        _devicesYaml.Add((gw, $"  - {{ id: tank-02-probe, bus: ds18b20, address: {W1SensorId}, field: water_temp_c, w1_dir: \"{_w1}\", poll_interval: 10s }}"));
        Endpoints.Add($"sim: {gw} DS18B20 {W1SensorId} in emulated 1-Wire sysfs {_w1} (tank-02-probe)");
    }

    private void StartFactory()
    {
        const string gw = "gw-factory-01";
        var (rtu, line) = RtuLine(19200);
        var bus = $"bus: modbus-rtu, address: \"{rtu.SlavePath}?baud=19200\"";
        byte unit = 1;
        foreach (var (fid, furnace) in _fleet.Furnaces)
        {
            for (var z = 0; z < furnace.Parameters.Zones.Count; z++)
            {
                var zone = z;
                var id = furnace.Parameters.Zones.Count == 1 ? $"{fid}-{furnace.Parameters.Zones[z].Name}" : $"{fid}-zone-{z + 1}";
                AddModbus(gw, id, "eurotherm-3500", line.AddUnit(unit), $"{bus}, unit: {unit}, poll_interval: 5s", () => FleetSignals.Zone(furnace, zone));
                unit++;
            }
        }

        byte meterUnit = 10;
        foreach (var (fid, furnace) in _fleet.Furnaces)
        {
            AddModbus(gw, $"{fid}-meter", "eastron-sdm630", line.AddUnit(meterUnit), $"{bus}, unit: {meterUnit}, poll_interval: 5s", () => FleetSignals.Meter(furnace));
            meterUnit++;
        }

        Endpoints.Add($"sim: {gw} RS-485 line {rtu.SlavePath} 19200 8N1 units 1-{unit - 1} (Eurotherm 3500 zones), 10-{meterUnit - 1} (SDM630 meters)");

        var plc = TcpServer();
        byte plcUnit = 1;
        foreach (var (fid, furnace) in _fleet.Furnaces)
        {
            AddModbus(gw, $"{fid}-aux", "furnace-plc", plc.AddUnit(plcUnit), $"bus: modbus-tcp, address: \"{_options.Bind}:{{fplc}}\", unit: {plcUnit}, poll_interval: 5s", () => FleetSignals.Aux(furnace));
            plcUnit++;
        }

        var mill = _fleet.Mill;
        AddModbus(gw, "mill-1", "mill-drive", plc.AddUnit(plcUnit), $"bus: modbus-tcp, address: \"{_options.Bind}:{{fplc}}\", unit: {plcUnit}, poll_interval: 2s", () => FleetSignals.Mill(mill));
        plc.Start();
        Fill(gw, "{fplc}", plc.Port.ToString(CultureInfo.InvariantCulture));
        Endpoints.Add($"sim: {gw} furnace PLC modbus-tcp://{_options.Bind}:{plc.Port} units 1-{plcUnit} (furnace aux, mill-1)");
    }

    private void StartPort()
    {
        const string gw = "gw-port-01";
        foreach (var (id, crane) in _fleet.Cranes)
        {
            var plc = TcpServer();
            AddModbus(gw, id, "crane-plc", plc.AddUnit(1), $"bus: modbus-tcp, address: \"{_options.Bind}:{{{id}}}\", unit: 1, poll_interval: 2s", () => FleetSignals.Crane(crane));
            plc.Start();
            Fill(gw, $"{{{id}}}", plc.Port.ToString(CultureInfo.InvariantCulture));
            Endpoints.Add($"sim: {gw} crane PLC {id} ({crane.Parameters.Kind}) modbus-tcp://{_options.Bind}:{plc.Port} unit 1");
        }
    }

    private void StartProxies()
    {
        if (_options.Broker is not { } broker)
        {
            return;
        }

        if (broker.Tls)
        {
            Endpoints.Add("sim: the broker uses TLS, so uplinks are not proxied (link-outage and slow-link need a plain mqtt:// broker)");
            return;
        }

        foreach (var gw in Gateways.Keys)
        {
            var proxy = new UplinkProxy(gw, _options.Bind, broker.Host, broker.Port);
            _proxies[gw] = proxy;
            _owned.Add(proxy);
            Endpoints.Add($"sim: {gw} uplink mqtt://{_options.Bind}:{proxy.Port} -> {broker}");
        }
    }

    private void Fill(string gateway, string placeholder, string value)
    {
        for (var i = 0; i < _devicesYaml.Count; i++)
        {
            if (_devicesYaml[i].Gateway == gateway)
            {
                _devicesYaml[i] = (gateway, _devicesYaml[i].Yaml.Replace(placeholder, value, StringComparison.Ordinal));
            }
        }
    }

    /// <summary>
    /// Takes what masters wrote (the backup aerators' coils) into the fleet, then copies the fleet's state into registers,
    /// the EZO circuit, the 1-Wire file (with probe noise) and the uplink relays.
    /// </summary>
    public void Update()
    {
        foreach (var obey in _obey)
        {
            obey();
        }

        foreach (var (_, (device, values)) in _modbus)
        {
            foreach (var (signal, value) in values())
            {
                if (double.IsNaN(value))
                {
                    // The controller reports its sensor-break code instead of a temperature.
                    device.SetRaw(signal, device.Profile.Signals.First(s => s.Name == signal).BadValues.FirstOrDefault(-32768));
                    continue;
                }

                device.Set(signal, value + Noise(signal, value));
            }
        }

        _ph = [Math.Round(_fleet.Tanks["tank-01"].Ph + (Gaussian() * 0.01), 2)];
        WriteW1(_fleet.Tanks["tank-02"].Temperature + (Gaussian() * 0.03));
        UpdateLinks();
    }

    /// <summary>Sets each uplink relay as the fleet says: cut (link-outage), slowed (slow-link), or neither.</summary>
    public void UpdateLinks()
    {
        foreach (var (gw, proxy) in _proxies)
        {
            proxy.Down = _fleet.LinksDown.Contains(gw);
            proxy.OneWayDelay = _fleet.LinkRoundTrips.GetValueOrDefault(gw) / 2;
        }
    }

    /// <summary>Sensor noise [U]: about 0.2 % of the value, none on counters, states and setpoints.</summary>
    private double Noise(string signal, double value) =>
        signal.EndsWith("_on", StringComparison.Ordinal) || signal.EndsWith("_mode", StringComparison.Ordinal) || signal.Contains("count", StringComparison.Ordinal) || signal.Contains("cycles", StringComparison.Ordinal)
        || signal is "twistlock_locked" or "spreader_landed" or "wind_block" or "bar_in_mill" or "zone_sp_c" or "energy_kwh"
            ? 0
            : Gaussian() * Math.Max(0.002 * Math.Abs(value), 0.005);

    private double Gaussian()
    {
        var r = _fleet.Random;
        return Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
    }

    /// <summary>Writes the sensor's w1_slave file atomically (write a sibling, then rename), as the kernel presents a whole file.</summary>
    private void WriteW1(double celsius)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_w1, W1SensorId)).FullName;
        var staging = Path.Combine(dir, "w1_slave.tmp");
        File.WriteAllText(staging, W1Therm.Format(W1Therm.Scratchpad(celsius)));
        File.Move(staging, Path.Combine(dir, "w1_slave"), overwrite: true);
    }

    /// <summary>Writes <c>{gateway}.yaml</c> (inventory) for each gateway, and <c>{gateway}.env</c> naming its uplink when proxied.</summary>
    public IReadOnlyList<string> WriteInventories(string directory)
    {
        Directory.CreateDirectory(directory);
        var files = new List<string>();
        foreach (var (gw, (site, pilot)) in Gateways)
        {
            var yaml = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"# Written by firmware-sim for its current endpoints; regenerated at every start.")
                .AppendLine(CultureInfo.InvariantCulture, $"gateway: {gw}")
                .AppendLine(CultureInfo.InvariantCulture, $"site: {site}")
                .AppendLine(CultureInfo.InvariantCulture, $"pilot: {pilot}")
                .AppendLine("devices:");
            foreach (var (_, line) in _devicesYaml.Where(d => d.Gateway == gw))
            {
                yaml.AppendLine(line);
            }

            var file = Path.Combine(directory, gw + ".yaml");
            File.WriteAllText(file, yaml.ToString());
            files.Add(file);
            if (_proxies.TryGetValue(gw, out var proxy) && _options.Broker is { } broker)
            {
                var auth = broker.Username is null ? "" : $"{Uri.EscapeDataString(broker.Username)}:{Uri.EscapeDataString(broker.Password ?? "")}@";
                File.WriteAllText(Path.Combine(directory, gw + ".env"), $"PILOTS_MQTT_URL=mqtt://{auth}{_options.Bind}:{proxy.Port}\n");
            }
        }

        return files;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
        if (_options.W1Directory is null)
        {
            Directory.Delete(_w1, recursive: true);
        }
    }
}
