using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Gpio;
using IoTPilots.Edge.Polling;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPilots.IntegrationTests.Hardware;

/// <summary>
/// Tests on a real gateway with real sensors wired to it. They carry the Hardware trait, so './run test' leaves
/// them out; './run test --hardware' runs only them, on the gateway, during commissioning. Each one skips with the
/// reason when what it needs is not attached.
/// </summary>
[Trait("Category", "Hardware")]
public sealed class HardwareTests
{
    /// <summary>
    /// PILOTS_HW_INVENTORY names an inventory of the devices actually wired (any bus: Modbus RTU/TCP, EZO, 1-Wire,
    /// I2C, SPI, digital inputs). Every device must answer, and every signal must read with good quality.
    /// </summary>
    [SkippableFact]
    public async Task Every_device_of_the_wired_inventory_answers_with_good_readings()
    {
        var file = Environment.GetEnvironmentVariable("PILOTS_HW_INVENTORY");
        Skip.If(string.IsNullOrEmpty(file), "set PILOTS_HW_INVENTORY to an inventory of the devices wired to this gateway");
        var inventory = InventoryLoader.Load(file!);
        await using var factory = new PollerFactory(TimeProvider.System, NullLoggerFactory.Instance, new SystemSerialPorts());
        var problems = new List<string>();

        foreach (var poller in factory.CreateAll(inventory.Devices))
        {
            // EZO circuits in continuous mode and debounced inputs need a few polls before their first value.
            IReadOnlyList<Reading> readings = [];
            for (var attempt = 0; attempt < 5 && !AllGood(readings); attempt++)
            {
                readings = await poller.PollAsync(default);
                if (!AllGood(readings))
                {
                    await Task.Delay(poller.Device.PollInterval);
                }
            }

            problems.AddRange(readings.Where(r => r.Quality != Quality.Good || r.Value is null)
                .Select(r => $"{poller.Device.Id}.{r.Field}: {r.Quality}"));
            if (readings.Count == 0)
            {
                problems.Add($"{poller.Device.Id}: no readings");
            }
        }

        Assert.True(problems.Count == 0, "not good: " + string.Join(", ", problems));
    }

    /// <summary>Every DS18B20 the kernel's w1-therm driver lists answers with a CRC-checked, plausible temperature.</summary>
    [SkippableFact]
    public void Ds18b20_sensors_on_the_kernel_one_wire_bus_read_plausible_temperatures()
    {
        Skip.IfNot(Directory.Exists(W1Therm.DevicesDirectory), $"no 1-Wire bus ({W1Therm.DevicesDirectory}); enable dtoverlay=w1-gpio");
        var sensors = Ds18b20.Discover(W1Therm.DevicesDirectory);
        Skip.If(sensors.Count == 0, "no DS18B20 on the 1-Wire bus");

        foreach (var id in sensors)
        {
            var sensor = new Ds18b20(W1Therm.DevicesDirectory, id);
            Assert.True(sensor.TryReadTemperature(out var celsius, out var failure), $"{id}: {failure}");
            // Air or water at a site; the driver itself rejects the +85 °C power-on value and CRC errors.
            Assert.InRange(celsius, -10.0, 60.0);
        }
    }

    private static bool AllGood(IReadOnlyList<Reading> readings) =>
        readings.Count > 0 && readings.All(r => r.Quality == Quality.Good && r.Value is not null);
}
