using IoTPilots.Edge.Serial;
using IoTPilots.Edge.Serial.Ezo;
using IoTPilots.FirmwareSim.Serial;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests.Serial;

/// <summary>
/// The edge's EZO driver on the slave of a real pseudo-terminal, through System.IO.Ports at 9600 8N1, against
/// the firmware-sim emulator on the master: the whole serial path short of the chip.
/// </summary>
public sealed class EzoOverPtyTests
{
    // Generous: a loaded CI machine must not turn a slow round trip into a failure.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Reads_ph_on_request()
    {
        var ph = 7.012;
        await using var rig = Rig.Start(EzoKind.Ph, () => [Volatile.Read(ref ph)]);

        // The circuit leaves the factory in continuous mode [docs/domain.md S1]; a polling driver turns it off first.
        Assert.Equal(1, await rig.Probe.GetContinuousAsync());
        await rig.Probe.SetContinuousAsync(false);
        Assert.Equal(0, await rig.Probe.GetContinuousAsync());
        var first = await rig.Probe.ReadAsync();
        Volatile.Write(ref ph, 8.250);
        var second = await rig.Probe.ReadAsync();

        Assert.True(first.Ok, first.Error);
        Assert.Equal([new EzoValue("ph", 7.012, "pH")], first.Values);
        Assert.Equal(8.250, second["ph"]);
        Assert.True(second.SampledAt > first.SampledAt);
        Assert.Equal(0, rig.Probe.Errors);
        Assert.Equal(0, rig.Probe.CommFailures);
    }

    [Fact]
    public async Task Reads_ph_on_request_while_the_circuit_streams()
    {
        await using var rig = Rig.Start(EzoKind.Ph, () => [6.900]);

        var r = await rig.Probe.ReadAsync();

        Assert.True(r.Ok, r.Error);
        Assert.Equal(6.900, r["ph"]);
    }

    [Fact]
    public async Task Reads_ph_in_continuous_mode()
    {
        var ph = 7.100;
        await using var rig = Rig.Start(EzoKind.Ph, () => [Volatile.Read(ref ph)]);
        await rig.Probe.SetContinuousAsync(true);
        using var stop = new CancellationTokenSource();
        var listening = rig.Probe.RunContinuousAsync(stop.Token);

        var first = await Eventually.ValueAsync(() => Task.FromResult(rig.Probe.Latest), Patience, "a continuous line");
        Volatile.Write(ref ph, 7.450);
        var changed = await Eventually.ValueAsync(
            () => Task.FromResult(rig.Probe.Latest is { Ok: true } l && l["ph"] == 7.450 ? l : null),
            Patience,
            "a continuous line with the new value");
        var polled = rig.Probe.ReadLatest(Patience);

        Assert.True(first.Ok, first.Error);
        Assert.Equal(7.100, first["ph"]);
        Assert.True(changed.SampledAt > first.SampledAt);
        Assert.True(polled.SampledAt >= changed.SampledAt);
        Assert.Equal(0, rig.Probe.Errors);

        await stop.CancelAsync();
        await listening.WaitAsync(Patience);
    }

    [Fact]
    public async Task Emulator_rejects_an_unknown_command_and_the_driver_reports_it()
    {
        await using var rig = Rig.Start(EzoKind.Ph, () => [7.0]);
        await rig.Probe.SetContinuousAsync(false);

        var ex = await Assert.ThrowsAsync<EzoException>(() => rig.Probe.CommandAsync("Bogus,1"));
        var after = await rig.Probe.ReadAsync();

        Assert.Equal($"{rig.Line.Name}: *ER: circuit rejected the command 'Bogus,1'", ex.Message);
        Assert.True(after.Ok, after.Error);
    }

    [Fact]
    public async Task Device_information_and_status_come_from_the_circuit()
    {
        await using var rig = Rig.Start(EzoKind.Ph, () => [7.0]);

        Assert.Equal(new EzoDeviceInfo("pH", "2.10"), await rig.Probe.GetDeviceInfoAsync());
        Assert.Equal(new EzoDeviceStatus(EzoRestartReason.PoweredOff, 5.038), await rig.Probe.GetStatusAsync());
    }

    [Fact]
    public async Task Ec_reading_carries_four_fields()
    {
        await using var rig = Rig.Start(EzoKind.Ec, () => [53000, 34600, 35.01, 1.025]);
        await rig.Probe.SetContinuousAsync(false);

        var r = await rig.Probe.ReadAsync();

        Assert.True(r.Ok, r.Error);
        Assert.Equal(53000, r["ec_us_cm"]);
        Assert.Equal(34600, r["tds_ppm"]);
        Assert.Equal(35.01, r["salinity_ppt"]);
        Assert.Equal(1.025, r["sg"]);
    }

    [Fact]
    public async Task Damaged_reading_is_bad_and_counted_not_thrown()
    {
        await using var rig = Rig.Start(EzoKind.Ph, () => [double.NaN]);
        await rig.Probe.SetContinuousAsync(false);

        var r = await rig.Probe.ReadAsync();

        Assert.Equal(EzoOutcome.Bad, r.Outcome);
        Assert.Equal("expected 1 number for pH, got 'NaN'", r.Error);
        Assert.Equal(1, rig.Probe.Errors);
    }

    [Fact]
    public async Task Unplugged_circuit_is_a_comm_failure()
    {
        await using var rig = Rig.Start(EzoKind.Ph, () => [7.0], serve: false);

        var r = await rig.Probe.ReadAsync();

        Assert.Equal(EzoOutcome.CommFailure, r.Outcome);
        Assert.Equal($"{rig.Line.Name}: no answer to R within 2000 ms", r.Error);
    }

    /// <summary>A pty, the emulator on its master, and the driver on its slave through SerialPortLine.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly PseudoTerminal _pty;
        private readonly Task _served;

        private Rig(EzoKind kind, Func<double[]> values, bool serve)
        {
            _pty = PseudoTerminal.Open();
            Emulator = new EzoEmulator(_pty.Master, kind, values);
            _served = serve ? Emulator.RunAsync(_stop.Token) : Task.CompletedTask;
            Line = new SerialPortLine(_pty.SlavePath, 9600, Parity.None, 8, StopBits.One);
            Probe = new EzoProbe(Line, kind);
        }

        public EzoEmulator Emulator { get; }

        public SerialPortLine Line { get; }

        public EzoProbe Probe { get; }

        public static Rig Start(EzoKind kind, Func<double[]> values, bool serve = true) => new(kind, values, serve);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _served.WaitAsync(Patience);
            await Line.DisposeAsync();
            await _pty.DisposeAsync();
            _stop.Dispose();
        }
    }
}
