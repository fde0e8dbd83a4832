using System.Text;
using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge;
using IoTPilots.Edge.Commands;
using IoTPilots.Edge.Modbus;
using IoTPilots.FirmwareSim;
using IoTPilots.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Commands;

/// <summary>
/// The edge's command executor on an in-memory Modbus bus: the write each point type takes (Modbus Application
/// Protocol v1.1b3 §6.5 FC05, §6.6 FC06, §6.12 FC16), the read-back, and a result for every command, whatever happens.
/// </summary>
public sealed class CommandExecutorTests : IDisposable
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 2, 0, 0, TimeSpan.Zero));
    private readonly Dictionary<(string, string), (double Value, DateTimeOffset At)> _latest = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-exec-").FullName;
    private readonly ModbusSlave _relay = new();
    private readonly SlaveTransport _bus = new();
    private readonly EdgeMetrics _metrics = new();
    private readonly Inventory _inventory;
    private IModbusTransport _transport;

    public CommandExecutorTests()
    {
        var file = Path.Combine(_dir, "edge.yaml");
        File.WriteAllText(file, """
            gateway: gw-aqua-01
            site: ras-1
            pilot: aquaculture
            devices:
              - id: tank-03-relay
                bus: modbus-tcp
                address: 127.0.0.1:5020
                retries: 0
                registers:
                  - { name: backup_aerator_on, table: coil, address: 16, unit: bool, write: { min_interval: 30s, max_run: 30m, lock: manual_mode } }
                  - { name: manual_mode, table: coil, address: 17, unit: bool }
                  - { name: setpoint_c, table: holding, address: 4, type: int16, scale: 0.1, unit: degC, write: { min: 20, max: 32 } }
                  - { name: flow_sp_m3_h, table: holding, address: 10, type: float32, order: CDAB, unit: m3/h, write: { min: 0, max: 50 } }
                  - { name: heater_on, table: holding, address: 20, type: bit, bit: 2, unit: bool, write: {} }
            """);
        _inventory = InventoryLoader.Load(file);
        _bus.Units[1] = _relay;
        _transport = _bus;
    }

    public void Dispose()
    {
        _metrics.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private CommandExecutor Executor(bool withKey = true) => new(
        _inventory,
        withKey ? new CommandGate("gw-aqua-01", _inventory.Devices, Key, new SeenCommands(), Latest, _time) : null,
        _ => new ModbusClient(_transport),
        (d, f) => _latest.TryGetValue((d, f), out var r) ? r : null,
        _metrics,
        _time,
        NullLogger.Instance);

    private double? Latest(string device, string field) => _latest.TryGetValue((device, field), out var r) ? r.Value : null;

    /// <summary>What the poller read just now.</summary>
    private void Polled(string field, double value) => _latest[("tank-03-relay", field)] = (value, _time.GetUtcNow());

    private byte[] Signed(string point = "backup_aerator_on", double value = 1, string? id = null) => CommandCodec.Encode(CommandSignature.Sign(
        new CommandMessage(id ?? Guid.NewGuid().ToString("N"), "ras-1", "gw-aqua-01", "tank-03-relay", point, value, "nguyen.van.a", _time.GetUtcNow(), _time.GetUtcNow().AddMinutes(2)),
        Key));

    [Fact]
    public async Task A_signed_command_switches_the_coil_on_and_reads_it_back()
    {
        var executor = Executor();

        var result = await executor.HandleAsync(Signed(), CancellationToken.None);

        Assert.NotNull(result);
        Assert.Equal(CommandOutcome.Done, result.Outcome);
        Assert.Equal(1, result.ReadBack);
        Assert.True(_relay.GetBit(Table.Coil, 16));
        Assert.Equal(("nguyen.van.a", "tank-03-relay", "backup_aerator_on", 1.0), (result.IssuedBy, result.Device, result.Point, result.Value));
        // A confirmed write starts the point's minimum interval.
        Assert.Equal(CommandReasons.TooSoon, (await executor.HandleAsync(Signed(value: 0), CancellationToken.None))!.Reason);
    }

    [Fact]
    public async Task A_scaled_register_is_written_raw_and_read_back_in_engineering_units()
    {
        var result = await Executor().HandleAsync(Signed("setpoint_c", 26.5), CancellationToken.None);

        Assert.Equal(CommandOutcome.Done, result!.Outcome);
        // 26.5 degC at scale 0.1 is raw 265 [docs/domain.md M1: "77.0 °C stored as 770"].
        Assert.Equal((ushort)265, _relay.GetRegisters(Table.HoldingRegister, 4, 1)[0]);
        Assert.Equal(26.5, result.ReadBack!.Value, 9);
    }

    [Fact]
    public async Task A_two_register_float_goes_out_in_one_fc16_in_its_word_order()
    {
        var result = await Executor().HandleAsync(Signed("flow_sp_m3_h", 12.25), CancellationToken.None);

        Assert.Equal(CommandOutcome.Done, result!.Outcome);
        // 12.25f = 0x41440000; CDAB puts the low word first [docs/domain.md M1].
        Assert.Equal([(ushort)0x0000, (ushort)0x4144], _relay.GetRegisters(Table.HoldingRegister, 10, 2));
        Assert.Equal(12.25, result.ReadBack);
    }

    [Fact]
    public async Task A_bit_in_a_status_word_changes_alone()
    {
        _relay.SetRegisters(Table.HoldingRegister, 20, [0b1000_0001]);

        var result = await Executor().HandleAsync(Signed("heater_on", 1), CancellationToken.None);

        Assert.Equal(CommandOutcome.Done, result!.Outcome);
        Assert.Equal((ushort)0b1000_0101, _relay.GetRegisters(Table.HoldingRegister, 20, 1)[0]);
    }

    [Fact]
    public async Task A_relay_that_does_not_pull_in_fails_the_command_with_read_back_mismatch()
    {
        _transport = new StuckRelay(_bus);
        var executor = Executor();

        var result = await executor.HandleAsync(Signed(), CancellationToken.None);

        Assert.Equal((CommandOutcome.Failed, CommandReasons.ReadBackMismatch, 0.0), (result!.Outcome, result.Reason, result.ReadBack));
        Assert.Contains("wrote 1, read back 0", result.Detail, StringComparison.Ordinal);
        // Not a change: trying again at once is not "too soon".
        _transport = _bus;
        Assert.Equal(CommandOutcome.Done, (await executor.HandleAsync(Signed(), CancellationToken.None))!.Outcome);
    }

    [Fact]
    public async Task A_device_that_does_not_answer_fails_the_command_as_unreachable()
    {
        _bus.Units.Clear();

        var result = await Executor().HandleAsync(Signed(), CancellationToken.None);

        Assert.Equal((CommandOutcome.Failed, CommandReasons.Unreachable), (result!.Outcome, result.Reason));
        Assert.Contains("tank-03-relay at 127.0.0.1:5020 did not answer", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_answering_with_a_modbus_exception_fails_the_command_as_device_refused()
    {
        _bus.Units[1] = new ModbusSlave { RegisterLimit = 2 };

        var result = await Executor().HandleAsync(Signed("setpoint_c", 25), CancellationToken.None);

        Assert.Equal((CommandOutcome.Failed, CommandReasons.DeviceRefused), (result!.Outcome, result.Reason));
    }

    [Fact]
    public async Task A_malformed_command_is_refused_by_its_id_or_counted_when_it_has_none()
    {
        var executor = Executor();

        var named = await executor.HandleAsync(Encoding.UTF8.GetBytes("""{"v":1,"id":"c-7","site":"ras-1"}"""), CancellationToken.None);
        var nameless = await executor.HandleAsync(Encoding.UTF8.GetBytes("not json"), CancellationToken.None);

        Assert.Equal(("c-7", CommandOutcome.Refused, CommandReasons.Malformed), (named!.Id, named.Outcome, named.Reason));
        Assert.StartsWith("gateway:", named.Detail, StringComparison.Ordinal);
        Assert.Null(nameless);
        Assert.Equal(1, executor.Unanswerable);
    }

    [Fact]
    public async Task Without_a_command_key_every_command_is_refused_as_unsigned_and_nothing_is_written()
    {
        var result = await Executor(withKey: false).HandleAsync(Signed(), CancellationToken.None);

        Assert.Equal((CommandOutcome.Refused, CommandReasons.Unsigned), (result!.Outcome, result.Reason));
        Assert.Contains("PILOTS_COMMAND_KEY", result.Detail, StringComparison.Ordinal);
        Assert.False(_relay.GetBit(Table.Coil, 16));
        Assert.Equal(0, _bus.Requests);
    }

    [Fact]
    public async Task The_manual_lock_read_by_the_poller_wins_and_nothing_reaches_the_device()
    {
        Polled("manual_mode", 1);

        var result = await Executor().HandleAsync(Signed(), CancellationToken.None);

        Assert.Equal((CommandOutcome.Refused, CommandReasons.Locked), (result!.Outcome, result.Reason));
        Assert.Equal(0, _bus.Requests);
    }

    [Fact]
    public async Task A_point_run_past_its_max_run_is_switched_off_by_the_gateway_and_said_so()
    {
        var executor = Executor();
        await executor.HandleAsync(Signed(), CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(29));
        Assert.Empty(await executor.EnforceMaxRunAsync(CancellationToken.None));

        _time.Advance(TimeSpan.FromMinutes(1));
        var results = await executor.EnforceMaxRunAsync(CancellationToken.None);

        var off = Assert.Single(results);
        Assert.Equal((CommandOutcome.Done, CommandReasons.MaxRun, CommandExecutor.MaxRunIssuer, 0.0), (off.Outcome, off.Reason, off.IssuedBy, off.ReadBack));
        Assert.Equal(("tank-03-relay", "backup_aerator_on"), (off.Device, off.Point));
        Assert.False(_relay.GetBit(Table.Coil, 16));
        Assert.Empty(await executor.EnforceMaxRunAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_failing_max_run_switch_off_is_retried_each_tick_and_reported_once()
    {
        var executor = Executor();
        await executor.HandleAsync(Signed(), CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(31));
        _bus.Units.Clear();

        var first = await executor.EnforceMaxRunAsync(CancellationToken.None);
        var second = await executor.EnforceMaxRunAsync(CancellationToken.None);
        _bus.Units[1] = _relay;
        var third = await executor.EnforceMaxRunAsync(CancellationToken.None);

        Assert.Equal((CommandOutcome.Failed, CommandReasons.Unreachable), (Assert.Single(first).Outcome, first[0].Reason));
        Assert.Empty(second);
        Assert.Equal(CommandOutcome.Done, Assert.Single(third).Outcome);
        Assert.False(_relay.GetBit(Table.Coil, 16));
    }

    [Fact]
    public async Task A_point_found_running_that_the_gateway_did_not_set_is_bounded_by_its_max_run_too()
    {
        // On before the agent restarted (or started at the panel): the poller reads it on.
        var executor = Executor();
        _relay.SetBit(Table.Coil, 16, true);
        Polled("backup_aerator_on", 1);
        Assert.Empty(await executor.EnforceMaxRunAsync(CancellationToken.None));

        _time.Advance(TimeSpan.FromMinutes(30));
        var off = Assert.Single(await executor.EnforceMaxRunAsync(CancellationToken.None));

        Assert.Equal((CommandOutcome.Done, CommandReasons.MaxRun), (off.Outcome, off.Reason));
        Assert.False(_relay.GetBit(Table.Coil, 16));
        // The poller's last reading (on) predates the switch-off: it does not start a new run.
        _time.Advance(TimeSpan.FromMinutes(31));
        Assert.Empty(await executor.EnforceMaxRunAsync(CancellationToken.None));
    }

    [Fact]
    public void The_replay_memory_survives_a_restart_and_forgets_expired_ids()
    {
        var file = Path.Combine(_dir, "state", "commands-seen.txt");
        var now = _time.GetUtcNow();
        var before = new FileSeenCommands(file, now);
        Assert.True(before.TryRemember("c 1/é", now.AddMinutes(5), now));
        Assert.True(before.TryRemember("c-2", now.AddMinutes(1), now));

        var after = new FileSeenCommands(file, now.AddMinutes(2));

        Assert.False(after.TryRemember("c 1/é", now.AddMinutes(5), now.AddMinutes(2)));
        Assert.Equal(1, after.Count);
        Assert.Single(File.ReadAllLines(file));
    }

    /// <summary>A relay whose coil never pulls in: it echoes every write, as Modbus devices do, but its state stays.</summary>
    private sealed class StuckRelay(IModbusTransport inner) : IModbusTransport
    {
        public string Endpoint => inner.Endpoint;

        public Task<byte[]> SendAsync(byte unitId, byte[] requestPdu, CancellationToken cancellationToken) =>
            (FunctionCode)requestPdu[0] is FunctionCode.WriteSingleCoil or FunctionCode.WriteSingleRegister
                ? Task.FromResult(requestPdu)
                : inner.SendAsync(unitId, requestPdu, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
