using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Polling;
using IoTPilots.FirmwareSim;
using IoTPilots.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests;

public class DevicePollerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
    private readonly SlaveTransport _bus = new();

    private static DeviceConfig Device(byte unit, params SignalDefinition[] signals) => new()
    {
        Id = $"dev-{unit}",
        Pilot = Pilots.Aquaculture,
        Site = "s",
        Bus = Buses.ModbusTcp,
        Address = "h:1",
        UnitId = unit,
        Retries = 0,
        OfflineAfter = 2,
        Signals = signals.Length > 0 ? signals :
        [
            new SignalDefinition { Name = "do_mg_l", Table = Table.HoldingRegister, Address = 0, Scale = 0.01, Unit = "mg/L" },
            new SignalDefinition { Name = "temp_c", Table = Table.HoldingRegister, Address = 1, Type = SignalType.Int16, Scale = 0.1, Unit = "degC", BadValues = [-32768] },
        ],
    };

    private ModbusDevicePoller Poller(DeviceConfig device) => new(device, new ModbusClient(_bus), _time, NullLogger.Instance);

    [Fact]
    public void Signals_of_a_device_are_read_in_one_request()
    {
        Assert.Single(Poller(Device(1)).Plan);
    }

    [Fact]
    public async Task Readings_carry_scaled_values_and_the_sampling_time()
    {
        _bus.Units[1] = new ModbusSlave();
        _bus.Units[1].SetRegisters(Table.HoldingRegister, 0, [652, 283]);

        var readings = await Poller(Device(1)).PollAsync(default);

        Assert.Equal(2, readings.Count);
        Assert.All(readings, r => Assert.Equal((Quality.Good, _time.GetUtcNow()), (r.Quality, r.Timestamp)));
        Assert.Equal(6.52, readings[0].Value!.Value, 9);
        Assert.Equal(28.3, readings[1].Value!.Value, 9);
    }

    [Fact]
    public async Task Silent_device_yields_comm_failure_goes_offline_is_backed_off_and_comes_back()
    {
        var poller = Poller(Device(9));

        var first = await poller.PollAsync(default);
        Assert.All(first, r => Assert.Equal((Quality.CommFailure, (double?)null), (r.Quality, r.Value)));
        Assert.True(poller.Online);
        await poller.PollAsync(default);
        Assert.False(poller.Online);

        _bus.Units[9] = new ModbusSlave();
        var requests = _bus.Requests;
        var skipped = await poller.PollAsync(default);
        Assert.Equal(requests, _bus.Requests);
        Assert.All(skipped, r => Assert.Equal(Quality.CommFailure, r.Quality));

        _time.Advance(DeviceHealth.MaxBackoff);
        var back = await poller.PollAsync(default);
        Assert.True(poller.Online);
        Assert.All(back, r => Assert.Equal(Quality.Good, r.Quality));
    }

    [Fact]
    public async Task Last_value_is_never_restamped_when_the_device_stops_answering()
    {
        _bus.Units[1] = new ModbusSlave();
        _bus.Units[1].SetRegisters(Table.HoldingRegister, 0, [652, 283]);
        var poller = Poller(Device(1));
        await poller.PollAsync(default);

        _bus.Units.Remove(1);
        _time.Advance(TimeSpan.FromSeconds(10));
        var later = await poller.PollAsync(default);

        Assert.All(later, r => Assert.Null(r.Value));
        Assert.All(later, r => Assert.Equal(Quality.CommFailure, r.Quality));
    }

    [Fact]
    public async Task Sensor_break_value_is_bad_quality()
    {
        _bus.Units[1] = new ModbusSlave();
        _bus.Units[1].SetRegisters(Table.HoldingRegister, 0, [652, 0x8000]);

        var readings = await Poller(Device(1)).PollAsync(default);

        Assert.Equal((Quality.Bad, (double?)null), (readings[1].Quality, readings[1].Value));
    }

    [Fact]
    public async Task Exception_response_is_not_retried_and_yields_comm_failure()
    {
        _bus.Units[1] = new ModbusSlave { RegisterLimit = 1 };
        var device = Device(1) with { Retries = 3 };

        var readings = await Poller(device).PollAsync(default);

        Assert.Equal(1, _bus.Requests);
        Assert.All(readings, r => Assert.Equal(Quality.CommFailure, r.Quality));
    }

    [Fact]
    public async Task Deadband_holds_back_small_changes_until_the_heartbeat()
    {
        _bus.Units[1] = new ModbusSlave();
        var signal = new SignalDefinition { Name = "do_mg_l", Table = Table.HoldingRegister, Address = 0, Scale = 0.01, Deadband = 0.05 };
        var poller = Poller(Device(1, signal));
        _bus.Units[1].SetRegisters(Table.HoldingRegister, 0, [650]);
        Assert.Single(await poller.PollAsync(default));

        _bus.Units[1].SetRegisters(Table.HoldingRegister, 0, [652]);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(await poller.PollAsync(default));

        _bus.Units[1].SetRegisters(Table.HoldingRegister, 0, [660]);
        Assert.Single(await poller.PollAsync(default));

        _time.Advance(poller.Heartbeat);
        Assert.Single(await poller.PollAsync(default));
    }

    [Fact]
    public async Task Dead_slave_on_a_shared_rtu_line_never_stalls_its_neighbour()
    {
        var (master, device) = SerialPipe.CreatePair(9600);
        var server = new ModbusRtuServer(device);
        server.AddUnit(1).SetRegisters(Table.HoldingRegister, 0, [652, 283]);
        using var stop = new CancellationTokenSource();
        var serving = server.RunAsync(stop.Token);
        var line = new CountingTransport(new ModbusRtuTransport(master, TimeSpan.FromMilliseconds(500)));
        var good = new ModbusDevicePoller(Device(1), new ModbusClient(line), _time, NullLogger.Instance);
        var dead = new ModbusDevicePoller(Device(7), new ModbusClient(line), _time, NullLogger.Instance);

        for (var poll = 0; poll < 10; poll++)
        {
            Assert.All(await good.PollAsync(default), r => Assert.Equal(Quality.Good, r.Quality));
            Assert.All(await dead.PollAsync(default), r => Assert.Equal(Quality.CommFailure, r.Quality));
        }

        // 10 polls of the good unit, but only offline_after (2) attempts at the dead one: it is backed off.
        Assert.Equal(12, line.Requests);
        Assert.False(dead.Online);
        Assert.True(good.Online);
        await stop.CancelAsync();
        await serving;
    }

    private sealed class CountingTransport(IModbusTransport inner) : IModbusTransport
    {
        public int Requests { get; private set; }

        public string Endpoint => inner.Endpoint;

        public Task<byte[]> SendAsync(byte unitId, byte[] requestPdu, CancellationToken cancellationToken)
        {
            Requests++;
            return inner.SendAsync(unitId, requestPdu, cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
