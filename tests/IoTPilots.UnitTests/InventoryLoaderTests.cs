using IoTPilots.Config;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;

namespace IoTPilots.UnitTests;

public sealed class InventoryLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-inv-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string yaml, string name = "inventory.yaml")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void Queue_section_sets_the_uplink_window_and_backfill_rate_with_defaults_for_what_it_omits()
    {
        Assert.Equal((256, 400), (InventoryLoader.Load(Write(Valid)).Queue.UplinkWindow, InventoryLoader.Load(Write(Valid)).Queue.BackfillRate));
        var tuned = InventoryLoader.Load(Write(Valid + "\nqueue: { uplink_window: 32, backfill_rate: 50 }\n", "tuned.yaml"));
        Assert.Equal((32, 50), (tuned.Queue.UplinkWindow, tuned.Queue.BackfillRate));
    }

    [Theory]
    [InlineData("", true, 0)]
    [InlineData("\nqueue: { fsync: true }\n", true, 0)]
    [InlineData("\nqueue: { fsync: false }\n", false, 0)]
    [InlineData("\nqueue: { fsync: 1s }\n", true, 1000)]
    [InlineData("\nqueue: { fsync: 250ms }\n", true, 250)]
    public void Fsync_is_every_record_never_or_batched_at_a_named_interval(string queue, bool fsync, int batchMs)
    {
        var settings = InventoryLoader.Load(Write(Valid + queue)).Queue;
        Assert.Equal((fsync, TimeSpan.FromMilliseconds(batchMs)), (settings.Fsync, settings.FsyncBatch));
    }

    private const string Valid = """
        gateway: gw-aqua-01
        site: haiphong-ras-1
        pilot: aquaculture
        devices:
          - id: tank-01
            bus: modbus-tcp
            address: 127.0.0.1:1502
            unit: 3
            poll_interval: 2s
            profile: ras-tank-sim
          - id: probe-02
            pilot: aquaculture
            bus: modbus-tcp
            address: 10.0.0.9:502
            registers:
              - { name: do_mg_l, table: holding, address: 0x2600, type: float32, order: DCBA, unit: mg/L, deadband: 0.05 }
              - { name: aerator_on, table: coil, address: 4 }
        """;

    [Fact]
    public void Valid_inventory_loads_profiles_and_inline_registers()
    {
        var inventory = InventoryLoader.Load(Write(Valid));

        Assert.Equal("gw-aqua-01", inventory.Gateway);
        var tank = inventory.Devices[0];
        Assert.Equal(("tank-01", "aquaculture", "haiphong-ras-1", (byte)3, TimeSpan.FromSeconds(2)), (tank.Id, tank.Pilot, tank.Site, tank.UnitId, tank.PollInterval));
        Assert.Equal(["do_mg_l", "temp_c", "ph", "salinity_ppt"], tank.Signals.Take(4).Select(s => s.Name));
        var probe = inventory.Devices[1].Signals[0];
        Assert.Equal((SignalType.Float32, WordOrder.DCBA, (ushort)0x2600, 0.05), (probe.Type, probe.Order, probe.Address, probe.Deadband));
        Assert.Equal(Table.Coil, inventory.Devices[1].Signals[1].Table);
    }

    [Theory]
    [InlineData("{ name: temp_c, table: input, address: 0, write: { min: 0, max: 1 } }", "devices[0].registers[0].write", "a InputRegister cannot be written")]
    [InlineData("{ name: sp_c, table: holding, address: 0, write: { max_run: 5m } }", "devices[0].registers[0].write", "needs min and max")]
    [InlineData("{ name: sp_c, table: holding, address: 0, write: { min: 5, max: 1 } }", "devices[0].registers[0].write.min", "min 5 is above max 1")]
    [InlineData("{ name: pump_on, table: coil, address: 0, write: { max: 2 } }", "devices[0].registers[0].write", "a bit takes 0 or 1")]
    [InlineData("{ name: pump_on, table: coil, address: 0, write: { max_run: 0s } }", "devices[0].registers[0].write.max_run", "max_run must be positive")]
    [InlineData("{ name: pump_on, table: coil, address: 0, write: { speed: 3 } }", "devices[0].registers[0].write.speed", "speed")]
    [InlineData("{ name: pump_on, table: coil, address: 0, write: { lock: hand_switch } }", "devices[0]", "its write lock 'hand_switch' is not a signal of this device")]
    public void A_bad_writable_point_names_the_field(string register, string field, string problem)
    {
        var path = Write($"gateway: gw-1\nsite: s\npilot: aquaculture\ndevices:\n  - id: relay-1\n    bus: modbus-tcp\n    address: '127.0.0.1:502'\n    registers:\n      - {register}\n");
        var ex = Assert.Throws<ConfigException>(() => InventoryLoader.Load(path));

        Assert.Equal(field, ex.Field);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_bus_names_file_line_field_and_the_expected_values()
    {
        var path = Write(Valid.Replace("bus: modbus-tcp\n    address: 127", "bus: canbus\n    address: 127", StringComparison.Ordinal));
        var ex = Assert.Throws<ConfigException>(() => InventoryLoader.Load(path));

        Assert.Equal("devices[0].bus", ex.Field);
        Assert.Equal(path, ex.File);
        Assert.Equal(6, ex.Line);
        Assert.Contains("unknown bus 'canbus' (expected one of: modbus-tcp, modbus-rtu, ezo, ds18b20, bme280, max31855, digital-input)", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith($"{path}:6:", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gateway: gw-aqua-01\nsite: s\ndevices: [ {id: a, pilot: aquaculture, bus: modbus-tcp, address: nohost, profile: ras-tank-sim} ]", "devices[0].address", "host:port")]
    [InlineData("gateway: gw-aqua-01\nsite: s\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', profile: ras-tank-sim} ]", "devices[0]", "pilot is missing")]
    [InlineData("gateway: gw-aqua-01\nsite: s\npilot: shrimp\ndevices: []", "pilot", "unknown pilot 'shrimp'")]
    [InlineData("site: s\ndevices: []", "gateway", "required field is missing")]
    [InlineData("gateway: GW 1\nsite: s\ndevices: []", "gateway", "not a valid id")]
    [InlineData("gateway: g\nsite: s\ndevices: []", "devices", "no devices")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', profile: nope} ]", "devices[0].profile", "no profile 'nope'")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', pol_interval: 5s, profile: ras-tank-sim} ]", "devices[0].pol_interval", "unknown field")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', poll_interval: soon, profile: ras-tank-sim} ]", "devices[0].poll_interval", "expected a duration")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', unit: 300, profile: ras-tank-sim} ]", "devices[0].unit", "out of range 0..247")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', registers: [ {name: x_c, table: holding, address: 0, type: float16} ]} ]", "devices[0].registers[0].type", "unknown type 'float16'")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', registers: [ {name: x_c, table: holding, address: 0, order: ACBD} ]} ]", "devices[0].registers[0].order", "unknown word order 'ACBD'")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', registers: [ {name: X, table: holding, address: 0} ]} ]", "devices[0].registers[0].name", "not a valid field name")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', registers: [ {name: x_c, table: holding, address: 65535, type: float32} ]} ]", "devices[0].registers[0].address", "runs past")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', registers: [ {name: x_c, table: coil, address: 1, type: int16} ]} ]", "devices[0].registers[0].type", "single bits")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', profile: ras-tank-sim}, {id: a, bus: modbus-tcp, address: 'h:1', profile: ras-tank-sim} ]", "devices[1].id", "used twice")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-rtu, address: 'ttyUSB0', profile: ras-tank-sim} ]", "devices[0].address", "device path")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-rtu, address: '/dev/ttyUSB0?baud=9601', profile: ras-tank-sim} ]", "devices[0].address", "bad serial setting 'baud=9601'")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: ezo, address: '/dev/ttyAMA0'} ]", "devices[0].kind", "required field is missing")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: ezo, address: '/dev/ttyAMA0', kind: nh3} ]", "devices[0].kind", "unknown EZO circuit kind 'nh3'")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: ds18b20, address: '10-123'} ]", "devices[0].address", "1-Wire id")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: ds18b20, address: '28-00000a1b2c3d', profile: x} ]", "devices[0].profile", "Modbus devices only")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: bme280, address: '1:0x99'} ]", "devices[0].address", "1:0x76")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: max31855, address: 'spi0'} ]", "devices[0].address", "0.0")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: digital-input, address: 'gpio17'} ]", "devices[0].address", "GPIO line number")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: digital-input, address: '17', active_low: maybe} ]", "devices[0].active_low", "true or false")]
    [InlineData("gateway: g\nsite: s\npilot: port\nqueue: {uplink_window: 0}\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', profile: ras-tank-sim} ]", "queue.uplink_window", "out of range 1..65535")]
    [InlineData("gateway: g\nsite: s\npilot: port\nqueue: {uplink_window: lots}\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', profile: ras-tank-sim} ]", "queue.uplink_window", "")]
    [InlineData("gateway: g\nsite: s\npilot: port\nqueue: {fsync: sometimes}\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', profile: ras-tank-sim} ]", "queue.fsync", "expected true, false or a duration")]
    [InlineData("gateway: g\nsite: s\npilot: port\nqueue: {fsync: 5m}\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', profile: ras-tank-sim} ]", "queue.fsync", "between 10ms and 1m")]
    [InlineData("gateway: g\nsite: [unclosed", "(syntax)", "")]
    [InlineData("- just\n- a list", "(root)", "expected a mapping")]
    public void Malformed_inventory_names_the_field_and_what_was_expected(string yaml, string field, string problem)
    {
        var path = Write(yaml);
        var ex = Assert.Throws<ConfigException>(() => InventoryLoader.Load(path));
        Assert.Equal(field, ex.Field);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_bus_type_loads_with_its_own_settings()
    {
        var inventory = InventoryLoader.Load(Write("""
            gateway: gw-1
            site: s
            pilot: aquaculture
            devices:
              - { id: do-1, bus: modbus-rtu, address: "/dev/ttyUSB0?baud=4800&parity=E&stop=1", unit: 1, registers: [ { name: do_mg_l, table: holding, address: 0 } ] }
              - { id: ph-1, bus: ezo, address: /dev/ttyAMA0, kind: ph, mode: continuous }
              - { id: t-1, bus: ds18b20, address: 28-00000a1b2c3d, field: water_temp_c, w1_dir: /tmp/w1 }
              - { id: air-1, bus: bme280, address: "1:0x76" }
              - { id: tc-1, bus: max31855, address: "0.1", field: zone_temp_c }
              - { id: aer-1, bus: digital-input, address: "17", field: aerator_on, active_low: true, debounce: 20ms }
            """));

        var d = inventory.Devices;
        Assert.Equal(new SerialSettings("/dev/ttyUSB0", 4800, 'E', 8, 1), d[0].Serial);
        Assert.Equal(11, d[0].Serial!.BitsPerCharacter);
        Assert.Equal((9600, "ph", "continuous"), (d[1].Serial!.Baud, d[1].EzoKind, d[1].EzoMode));
        Assert.Equal(("water_temp_c", "/tmp/w1"), (d[2].Field, d[2].W1Directory));
        Assert.Equal(Buses.Bme280, d[3].Bus);
        Assert.Equal("zone_temp_c", d[4].Field);
        Assert.Equal((true, TimeSpan.FromMilliseconds(20)), (d[5].ActiveLow, d[5].Debounce));
    }

    [Fact]
    public void Missing_file_is_named()
    {
        var ex = Assert.Throws<ConfigException>(() => InventoryLoader.Load(Path.Combine(_dir, "absent.yaml")));
        Assert.Contains("absent.yaml", ex.Message, StringComparison.Ordinal);
        Assert.Contains("file not found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shipped_profiles_all_load()
    {
        var files = Directory.GetFiles(InventoryLoader.ShippedProfilesDirectory, "*.yaml");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var profile = ProfileCatalog.LoadFile(file);
            Assert.Equal(Path.GetFileNameWithoutExtension(file), profile.Id);
            Assert.NotEmpty(profile.Source);
        }
    }
}
