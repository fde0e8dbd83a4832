using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Gpio;
using IoTPilots.Edge.Polling;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests;

public sealed class SensorPollerTests : IDisposable
{
    private const string SensorId = "28-00000a1b2c3d";
    private readonly string _w1 = Directory.CreateTempSubdirectory("pilots-w1-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_w1, recursive: true);

    private DeviceConfig Ds18b20Device() => new()
    {
        Id = "pond-temp-1",
        Pilot = Pilots.Aquaculture,
        Site = "s",
        Bus = Buses.Ds18b20,
        Address = SensorId,
        Field = "water_temp_c",
        W1Directory = _w1,
        OfflineAfter = 1,
        Signals = [],
    };

    private SensorPoller Poller(DeviceConfig device)
    {
        var (fields, read) = GpioPollers.Ds18b20(device);
        return new SensorPoller(device, fields, read, _time, NullLogger.Instance);
    }

    [Fact]
    public async Task Ds18b20_through_emulated_sysfs_gives_a_good_reading_under_its_field_name()
    {
        W1Therm.Write(_w1, SensorId, 25.0625);

        var reading = Assert.Single(await Poller(Ds18b20Device()).PollAsync(default));

        Assert.Equal(("water_temp_c", 25.0625, Quality.Good, _time.GetUtcNow()), (reading.Field, reading.Value!.Value, reading.Quality, reading.Timestamp));
    }

    [Fact]
    public async Task Disconnected_sensor_is_bad_and_a_missing_one_is_comm_failure()
    {
        var poller = Poller(Ds18b20Device());
        W1Therm.Write(_w1, SensorId, Enumerable.Repeat((byte)0xFF, 9).ToArray());
        var bad = Assert.Single(await poller.PollAsync(default));
        Assert.Equal((Quality.Bad, (double?)null), (bad.Quality, bad.Value));
        Assert.True(poller.Online);

        Directory.Delete(Path.Combine(_w1, SensorId), recursive: true);
        var missing = Assert.Single(await poller.PollAsync(default));
        Assert.Equal((Quality.CommFailure, (double?)null), (missing.Quality, missing.Value));
        Assert.False(poller.Online);
    }

    [Fact]
    public async Task A_driver_that_throws_becomes_comm_failure_not_a_crash()
    {
        var device = Ds18b20Device() with { Bus = Buses.Bme280, Address = "1:0x76" };
        var poller = new SensorPoller(device, [("temp_c", "degC")], _ => throw new IOException("/dev/i2c-1 not found"), _time, NullLogger.Instance);

        var reading = Assert.Single(await poller.PollAsync(default));

        Assert.Equal(Quality.CommFailure, reading.Quality);
    }
}
