using IoTPilots.Config;
using IoTPilots.Edge.Devices;
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
        Assert.Equal(["do_mg_l", "temp_c", "ph", "salinity_ppt"], tank.Signals.Select(s => s.Name));
        var probe = inventory.Devices[1].Signals[0];
        Assert.Equal((SignalType.Float32, WordOrder.DCBA, (ushort)0x2600, 0.05), (probe.Type, probe.Order, probe.Address, probe.Deadband));
        Assert.Equal(Table.Coil, inventory.Devices[1].Signals[1].Table);
    }

    [Fact]
    public void Unknown_bus_names_file_line_field_and_the_expected_values()
    {
        var path = Write(Valid.Replace("bus: modbus-tcp\n    address: 127", "bus: canbus\n    address: 127", StringComparison.Ordinal));
        var ex = Assert.Throws<ConfigException>(() => InventoryLoader.Load(path));

        Assert.Equal("devices[0].bus", ex.Field);
        Assert.Equal(path, ex.File);
        Assert.Equal(6, ex.Line);
        Assert.Contains("unknown bus 'canbus' (expected one of: modbus-tcp)", ex.Message, StringComparison.Ordinal);
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
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', unit: 300, profile: ras-tank-sim} ]", "devices[0].unit", "out of range 0..255")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', registers: [ {name: x_c, table: holding, address: 0, type: float16} ]} ]", "devices[0].registers[0].type", "unknown type 'float16'")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', registers: [ {name: x_c, table: holding, address: 0, order: ACBD} ]} ]", "devices[0].registers[0].order", "unknown word order 'ACBD'")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', registers: [ {name: X, table: holding, address: 0} ]} ]", "devices[0].registers[0].name", "not a valid field name")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', registers: [ {name: x_c, table: holding, address: 65535, type: float32} ]} ]", "devices[0].registers[0].address", "runs past")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', registers: [ {name: x_c, table: coil, address: 1, type: int16} ]} ]", "devices[0].registers[0].type", "single bits")]
    [InlineData("gateway: g\nsite: s\npilot: port\ndevices: [ {id: a, bus: modbus-tcp, address: 'h:1', profile: ras-tank-sim}, {id: a, bus: modbus-tcp, address: 'h:1', profile: ras-tank-sim} ]", "devices[1].id", "used twice")]
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
