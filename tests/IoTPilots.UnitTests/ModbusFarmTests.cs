using IoTPilots.Devices;
using IoTPilots.FirmwareSim;

namespace IoTPilots.UnitTests;

/// <summary>The bench's Modbus farm: its arguments are checked, and the inventory it writes is one the edge loads.</summary>
public sealed class ModbusFarmTests
{
    [Theory]
    [InlineData(new[] { "--registers", "20", "--inventory", "x.yaml" }, "--devices is required")]
    [InlineData(new[] { "--devices", "0", "--registers", "20", "--inventory", "x.yaml" }, "--devices: '0' is not a whole number from 1 to 1000")]
    [InlineData(new[] { "--devices", "5", "--registers", "126", "--inventory", "x.yaml" }, "--registers: '126' is not a whole number from 1 to 125")]
    [InlineData(new[] { "--devices", "5", "--registers", "20", "--inventory" }, "--inventory: a value is missing")]
    [InlineData(new[] { "--devices", "5", "--registers", "20", "--inventory", "x.yaml", "--gateway", "GW 1" }, "--gateway: 'GW 1' must be 1-64 of a-z 0-9 - _")]
    [InlineData(new[] { "--devcies", "5" }, "unknown option '--devcies'")]
    public void Bad_arguments_are_refused_naming_the_option(string[] args, string message) =>
        Assert.Equal(message, Assert.Throws<FormatException>(() => ModbusFarmCommand.Parse(args)).Message);

    [Fact]
    public void The_inventory_it_writes_loads_with_one_signal_per_register_and_every_register_moves()
    {
        var options = ModbusFarmCommand.Parse(["--devices", "3", "--registers", "20", "--inventory", "x.yaml", "--queue-dir", "/tmp/q"]);
        var dir = Directory.CreateTempSubdirectory("pilots-farm-").FullName;
        try
        {
            var file = Path.Combine(dir, "edge.yaml");
            File.WriteAllText(file, ModbusFarmCommand.Inventory(options, [5020, 5021, 5022]));

            var inventory = InventoryLoader.Load(file);

            Assert.Equal(["dev-000", "dev-001", "dev-002"], inventory.Devices.Select(d => d.Id));
            Assert.All(inventory.Devices, d => Assert.Equal(20, d.Signals.Count));
            Assert.Equal("127.0.0.1:5021", inventory.Devices[1].Address);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        Assert.All(Enumerable.Range(0, 20), j => Assert.NotEqual(ModbusFarmCommand.Values(2, 0, 20)[j], ModbusFarmCommand.Values(2, 1, 20)[j]));
    }
}

/// <summary>The edge's Modbus bench: bad arguments exit 2 naming them, before anything connects.</summary>
public sealed class ModbusBenchTests
{
    [Theory]
    [InlineData(new[] { "--registers", "20" }, "usage: IoTPilots.Edge bench modbus")]
    [InlineData(new[] { "--address", "nohost" }, "usage: IoTPilots.Edge bench modbus")]
    [InlineData(new[] { "--address", "127.0.0.1:502", "--registers", "200" }, "bad argument '--registers 200'")]
    [InlineData(new[] { "--address", "127.0.0.1:502", "--seconds", "0" }, "bad argument '--seconds 0'")]
    public async Task Bad_arguments_exit_2_naming_them(string[] args, string expected)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        Assert.Equal(2, await IoTPilots.Edge.Bench.ModbusBench.RunAsync(args, output, error));
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }
}
