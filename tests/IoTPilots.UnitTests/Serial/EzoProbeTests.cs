using IoTPilots.Edge.Serial.Ezo;
using IoTPilots.Testing;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Serial;

public class EzoProbeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);

    // Datasheet: a reading takes about 900 ms to process (EZO-pH, "R").
    private static readonly TimeSpan Processing = TimeSpan.FromMilliseconds(900);

    // A guard against a hung test, not a timing assertion.
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new(T0);

    private ScriptedSerialLine Line(bool blockWhenDrained = false) => new(_time) { BlockWhenDrained = blockWhenDrained };

    [Fact]
    public async Task Reads_ph_on_request_and_stamps_the_end_of_its_line()
    {
        var line = Line().On("R", Processing, "9.560\r*OK\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.True(r.Ok);
        Assert.Equal(9.560, r["ph"]);
        Assert.Equal("pH", Assert.Single(r.Values).Unit);
        Assert.Equal(T0 + Processing, r.SampledAt);
        Assert.Equal(["R"], line.Written);
        Assert.Equal(1, line.Discards);
        Assert.Equal(0, probe.Errors);
        Assert.Equal(0, probe.CommFailures);
    }

    [Fact]
    public async Task Reading_split_across_reads_is_reassembled()
    {
        var line = Line().On("R", "9.", TimeSpan.FromMilliseconds(5), "56", "0\r*", "OK\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time);

        Assert.Equal(9.560, (await probe.ReadAsync())["ph"]);
    }

    [Fact]
    public async Task Ec_reading_gives_four_fields()
    {
        var line = Line().On("R", Processing, "1413,763,0.70,1.000\r*OK\r");
        var probe = new EzoProbe(line, EzoKind.Ec, _time);

        var r = await probe.ReadAsync();

        Assert.Equal(["ec_us_cm", "tds_ppm", "salinity_ppt", "sg"], r.Values.Select(v => v.Field));
        Assert.Equal(0.70, r["salinity_ppt"]);
    }

    [Fact]
    public async Task Silence_is_a_comm_failure_after_the_timeout()
    {
        var line = Line();
        var probe = new EzoProbe(line, EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.Equal(EzoOutcome.CommFailure, r.Outcome);
        Assert.Equal([new EzoValue("ph", null, "pH")], r.Values);
        Assert.Equal("/dev/ttyFAKE0: no answer to R within 2000 ms", r.Error);
        Assert.Equal(T0 + TimeSpan.FromSeconds(2), r.SampledAt);
        Assert.Equal(1, probe.CommFailures);
        Assert.Equal(0, probe.Errors);
    }

    [Fact]
    public async Task Timeout_is_configurable_for_a_slow_circuit()
    {
        var slow = TimeSpan.FromSeconds(3);
        var line = Line().On("R", slow, "9.560\r*OK\r");

        var impatient = await new EzoProbe(line, EzoKind.Ph, _time).ReadAsync();
        var patient = await new EzoProbe(Line().On("R", slow, "9.560\r*OK\r"), EzoKind.Ph, _time, new EzoProbeOptions { ResponseTimeout = TimeSpan.FromSeconds(5) }).ReadAsync();

        Assert.Equal(EzoOutcome.CommFailure, impatient.Outcome);
        Assert.True(patient.Ok);
    }

    [Fact]
    public async Task Rejected_command_is_a_bad_reading_and_counted()
    {
        var probe = new EzoProbe(Line().On("R", "*ER\r"), EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.Equal(EzoOutcome.Bad, r.Outcome);
        Assert.Equal("*ER: circuit rejected the command", r.Error);
        Assert.Equal(1, probe.Errors);
    }

    [Fact]
    public async Task Garbage_bytes_are_a_bad_reading_and_counted()
    {
        var probe = new EzoProbe(Line().On("R", new byte[] { 0x39, 0xFF, 0x2E, 0x35, 0x0D }), EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.Equal(EzoOutcome.Bad, r.Outcome);
        Assert.Contains("garbage on the line: byte 0xFF", r.Error, StringComparison.Ordinal);
        Assert.Equal(1, probe.Errors);
    }

    [Fact]
    public async Task Truncated_line_is_bad_not_a_comm_failure()
    {
        var probe = new EzoProbe(Line().On("R", Processing, "9.5"), EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.Equal(EzoOutcome.Bad, r.Outcome);
        Assert.Equal("truncated line '9.5': no \\r within 2000 ms", r.Error);
        Assert.Equal(1, probe.Errors);
        Assert.Equal(0, probe.CommFailures);
    }

    [Fact]
    public async Task Over_long_line_is_bad_and_counted()
    {
        var probe = new EzoProbe(Line().On("R", new string('9', 200) + "\r*OK\r"), EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.Equal(EzoOutcome.Bad, r.Outcome);
        Assert.StartsWith("over-long line", r.Error, StringComparison.Ordinal);
        Assert.Equal(1, probe.Errors);
    }

    [Fact]
    public async Task Non_numeric_reading_is_bad_and_counted()
    {
        var probe = new EzoProbe(Line().On("R", "abc\r*OK\r"), EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.Equal(EzoOutcome.Bad, r.Outcome);
        Assert.Equal("expected 1 number for pH, got 'abc'", r.Error);
        Assert.Equal(1, probe.Errors);
    }

    [Fact]
    public async Task Under_voltage_spoils_the_reading()
    {
        var probe = new EzoProbe(Line().On("R", "*UV\r9.560\r*OK\r"), EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.Equal(EzoOutcome.Bad, r.Outcome);
        Assert.StartsWith("*UV", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reboot_notice_during_a_read_is_an_event_not_an_error()
    {
        var probe = new EzoProbe(Line().On("R", "*RE\r", Processing, "9.560\r*OK\r"), EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.True(r.Ok);
        Assert.Equal(1, probe.Events);
        Assert.Equal("*RE", probe.LastEvent);
    }

    [Fact]
    public async Task Line_failure_is_a_comm_failure_naming_the_device_and_never_throws()
    {
        var probe = new EzoProbe(Line().On("R", new IOException("read failed: device unplugged")), EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.Equal(EzoOutcome.CommFailure, r.Outcome);
        Assert.Equal("/dev/ttyFAKE0: read failed: device unplugged", r.Error);
    }

    [Fact]
    public async Task Stale_input_is_discarded_before_the_command()
    {
        // A late answer to an earlier request is already waiting when R goes out.
        var line = Line().Send("4.000\r*OK\r").On("R", Processing, "9.560\r*OK\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time);

        Assert.Equal(9.560, (await probe.ReadAsync())["ph"]);
    }

    [Fact]
    public async Task In_continuous_mode_the_last_reading_before_ok_wins()
    {
        // The circuit's own once-a-second line arrives between R and its answer.
        var line = Line().On("R", TimeSpan.FromMilliseconds(400), "7.010\r", TimeSpan.FromMilliseconds(500), "7.020\r*OK\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.Equal(7.020, r["ph"]);
        Assert.Equal(T0 + Processing, r.SampledAt);
    }

    [Fact]
    public async Task Without_response_codes_the_reading_is_taken_as_its_line_ends()
    {
        var line = Line().On("R", Processing, "9.560\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time, new EzoProbeOptions { ResponseCodes = false });

        var r = await probe.ReadAsync();

        Assert.True(r.Ok);
        Assert.Equal(T0 + Processing, _time.GetUtcNow());
    }

    [Fact]
    public async Task Complete_reading_whose_ok_never_comes_is_still_good()
    {
        var probe = new EzoProbe(Line().On("R", Processing, "9.560\r"), EzoKind.Ph, _time);

        var r = await probe.ReadAsync();

        Assert.True(r.Ok);
        Assert.Equal(T0 + Processing, r.SampledAt);
    }

    [Fact]
    public async Task Failure_lists_the_fields_of_the_last_good_reading()
    {
        var line = Line().On("R", Processing, "1413,763,0.70,1.000\r*OK\r");
        var probe = new EzoProbe(line, EzoKind.Ec, _time);
        await probe.ReadAsync();
        line.On("R");

        var r = await probe.ReadAsync();

        Assert.Equal(EzoOutcome.CommFailure, r.Outcome);
        Assert.Equal(["ec_us_cm", "tds_ppm", "salinity_ppt", "sg"], r.Values.Select(v => v.Field));
        Assert.All(r.Values, v => Assert.Null(v.Value));
    }

    [Fact]
    public async Task Device_information_and_status_are_queried()
    {
        var line = Line()
            .On("i", "?I,pH,2.10\r*OK\r")
            .On("Status", "?Status,P,5.038\r*OK\r")
            .On("C,?", "?C,1\r*OK\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time);

        Assert.Equal(new EzoDeviceInfo("pH", "2.10"), await probe.GetDeviceInfoAsync());
        Assert.Equal(new EzoDeviceStatus(EzoRestartReason.PoweredOff, 5.038), await probe.GetStatusAsync());
        Assert.Equal(1, await probe.GetContinuousAsync());
        Assert.Equal(["i", "Status", "C,?"], line.Written);
    }

    [Fact]
    public async Task Rejected_command_throws_naming_device_and_command()
    {
        var probe = new EzoProbe(Line().On("Bogus", "*ER\r"), EzoKind.Ph, _time);

        var ex = await Assert.ThrowsAsync<EzoException>(() => probe.CommandAsync("Bogus"));

        Assert.Equal("/dev/ttyFAKE0: *ER: circuit rejected the command 'Bogus'", ex.Message);
    }

    [Fact]
    public async Task Unanswered_command_times_out()
    {
        var probe = new EzoProbe(Line(), EzoKind.Ph, _time);

        var ex = await Assert.ThrowsAsync<EzoTimeoutException>(() => probe.GetStatusAsync());

        Assert.Equal("/dev/ttyFAKE0: no answer to 'Status' within 2000 ms", ex.Message);
    }

    [Fact]
    public async Task Turning_continuous_mode_off_skips_readings_until_ok()
    {
        var line = Line().On("C,0", "7.010\r", TimeSpan.FromMilliseconds(20), "*OK\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time);

        await probe.SetContinuousAsync(false);

        Assert.Equal(["C,0"], line.Written);
    }

    [Fact]
    public async Task Continuous_mode_keeps_the_newest_line_with_its_arrival_time()
    {
        var line = Line(blockWhenDrained: true).Send("7.010\r", TimeSpan.FromSeconds(1), "7.020\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time);
        using var stop = new CancellationTokenSource();

        var listening = probe.RunContinuousAsync(stop.Token);
        await line.Drained.WaitAsync(Hang);

        var latest = probe.ReadLatest(TimeSpan.FromSeconds(5));
        Assert.True(latest.Ok);
        Assert.Equal(7.020, latest["ph"]);
        Assert.Equal(T0 + TimeSpan.FromSeconds(1), latest.SampledAt);
        Assert.Same(probe.Latest, latest);

        await stop.CancelAsync();
        await listening.WaitAsync(Hang);
    }

    [Fact]
    public async Task Continuous_mode_never_restamps_an_old_line()
    {
        var line = Line(blockWhenDrained: true).Send("7.010\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time);
        using var stop = new CancellationTokenSource();
        var listening = probe.RunContinuousAsync(stop.Token);
        await line.Drained.WaitAsync(Hang);

        _time.Advance(TimeSpan.FromSeconds(3));
        var again = probe.ReadLatest(TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(3));
        var stale = probe.ReadLatest(TimeSpan.FromSeconds(5));

        // Still the same line at its own time, then no reading at all: never the old value with a new stamp.
        Assert.Equal(T0, again.SampledAt);
        Assert.Equal(7.010, again["ph"]);
        Assert.Equal(EzoOutcome.CommFailure, stale.Outcome);
        Assert.Null(stale["ph"]);
        Assert.Equal(T0 + TimeSpan.FromSeconds(6), stale.SampledAt);
        Assert.Contains("last line 6.0 s ago", stale.Error, StringComparison.Ordinal);
        Assert.Equal(T0, probe.Latest!.SampledAt);
        Assert.Equal(1, probe.CommFailures);

        await stop.CancelAsync();
        await listening.WaitAsync(Hang);
    }

    [Fact]
    public async Task Continuous_garbage_is_a_bad_latest_until_the_next_good_line()
    {
        var line = Line(blockWhenDrained: true).Send(new byte[] { 0x37, 0x00, 0x0D });
        var probe = new EzoProbe(line, EzoKind.Ph, _time);
        using var stop = new CancellationTokenSource();
        var listening = probe.RunContinuousAsync(stop.Token);
        await line.Drained.WaitAsync(Hang);

        Assert.Equal(EzoOutcome.Bad, probe.ReadLatest(TimeSpan.FromSeconds(5)).Outcome);
        Assert.Equal(1, probe.Errors);

        await stop.CancelAsync();
        await listening.WaitAsync(Hang);
    }

    [Fact]
    public async Task Continuous_listener_ignores_status_lines_and_survives_a_failing_line()
    {
        var line = Line(blockWhenDrained: true).Send("*RE\r", new IOException("read failed: unplugged"), "7.010\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time);
        using var stop = new CancellationTokenSource();
        var listening = probe.RunContinuousAsync(stop.Token);

        // The listener backs off for a response time on the FakeTimeProvider after the failure.
        while (!line.Drained.IsCompleted)
        {
            await Task.Yield();
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(7.010, probe.ReadLatest(TimeSpan.FromSeconds(5))["ph"]);
        Assert.Equal(1, probe.Events);

        await stop.CancelAsync();
        await listening.WaitAsync(Hang);
    }

    [Fact]
    public void Before_any_line_latest_is_a_comm_failure()
    {
        var probe = new EzoProbe(Line(), EzoKind.Do, _time);

        var r = probe.ReadLatest(TimeSpan.FromSeconds(5));

        Assert.Equal(EzoOutcome.CommFailure, r.Outcome);
        Assert.Equal([new EzoValue("do_mg_l", null, "mg/L")], r.Values);
        Assert.Contains("no line yet", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Commands_are_refused_while_the_listener_runs()
    {
        var line = Line(blockWhenDrained: true).On("R", "9.560\r*OK\r");
        var probe = new EzoProbe(line, EzoKind.Ph, _time);
        using var stop = new CancellationTokenSource();
        var listening = probe.RunContinuousAsync(stop.Token);
        await line.Drained.WaitAsync(Hang);

        await Assert.ThrowsAsync<InvalidOperationException>(() => probe.ReadAsync());
        Assert.Empty(line.Written);

        await stop.CancelAsync();
        await listening.WaitAsync(Hang);
        Assert.True((await probe.ReadAsync()).Ok);
    }

    [Fact]
    public void Outputs_of_another_circuit_fail_at_construction()
    {
        Assert.Throws<ArgumentException>(() => new EzoProbe(Line(), EzoKind.Ec, _time, new EzoProbeOptions { Outputs = [EzoFields.Ph] }));
    }
}
