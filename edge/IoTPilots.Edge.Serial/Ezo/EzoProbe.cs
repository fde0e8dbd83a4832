using System.Globalization;
using System.Text;

namespace IoTPilots.Edge.Serial.Ezo;

/// <summary>Settings of one <see cref="EzoProbe"/>.</summary>
public sealed record EzoProbeOptions
{
    /// <summary>
    /// How long a command may take to answer. A reading takes about a second on a real circuit (the EZO-pH
    /// datasheet gives a 900 ms processing delay for R), so the default leaves a second of slack.
    /// </summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Whether the circuit sends *OK after each command: on by default on every EZO circuit (<c>*OK,1</c>). With it
    /// off, a reading is taken as soon as its line ends and a plain command gets no answer at all.
    /// </summary>
    public bool ResponseCodes { get; init; } = true;

    /// <summary>
    /// The values the circuit has enabled (command O), in its order, when only some are: e.g. EC and salinity
    /// only. Null infers them from the count of numbers (see <see cref="EzoParser.ParseReading"/>).
    /// </summary>
    public IReadOnlyList<EzoField>? Outputs { get; init; }
}

/// <summary>
/// An Atlas Scientific EZO circuit in UART mode (factory setting 9600 8N1, <c>\r</c>-terminated ASCII)
/// [docs/domain.md S1, S2], over any <see cref="ISerialLine"/>.
/// </summary>
/// <remarks>
/// <para>Two ways to read, matching the circuit's two modes:</para>
/// <para>Command/response: <see cref="ReadAsync"/> sends <c>R</c> and waits for the reading and its *OK. It never
/// throws for anything the line or the circuit does: silence is a comm-failure result, garbage or *ER a bad one.
/// Lines the circuit sends on its own in continuous mode are tolerated; the last reading before *OK wins.</para>
/// <para>Continuous (the factory setting, one line a second): <see cref="RunContinuousAsync"/> reads lines as
/// they come and keeps the newest, stamped with the time its <c>\r</c> arrived; <see cref="ReadLatest"/> hands
/// it to a poller as is, never re-stamped, or a comm-failure when nothing arrived for too long.</para>
/// <para>One exchange at a time: commands wait for each other, and are refused while the listener runs.</para>
/// </remarks>
public sealed class EzoProbe
{
    private readonly ISerialLine _line;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _io = new(1, 1);
    private readonly byte[] _buffer = new byte[256];
    private readonly EzoLineFramer _framer = new();
    private readonly List<EzoFrame> _frames = [];
    private EzoField[] _failureFields;
    private EzoResult? _latest;
    private string? _lastEvent;
    private string? _lastLineError;
    private long _errors;
    private long _commFailures;
    private long _events;
    private int _listening;

    public EzoProbe(ISerialLine line, EzoKind kind, TimeProvider? time = null, EzoProbeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(line);
        _line = line;
        Kind = kind;
        _time = time ?? TimeProvider.System;
        Options = options ?? new EzoProbeOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Options.ResponseTimeout, TimeSpan.Zero, nameof(options));
        if (Options.Outputs is { } outputs)
        {
            // A config mistake fails at start-up, not once per reading.
            EzoParser.ValidateOutputs(kind, outputs);
        }

        _failureFields = [.. Options.Outputs ?? [kind.Outputs()[0]]];
    }

    public EzoKind Kind { get; }

    public EzoProbeOptions Options { get; }

    /// <summary>The line's name, e.g. <c>/dev/ttyAMA0</c>.</summary>
    public string Name => _line.Name;

    /// <summary>Readings that came back bad: framing, parse, *ER, *OV/*UV.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Readings that came back as comm-failures: silence, a failing line, or no recent line.</summary>
    public long CommFailures => Interlocked.Read(ref _commFailures);

    /// <summary>Status lines that answer nothing asked (*RE after a reboot, *WA, *SL, *RS, stray *OK or replies).</summary>
    public long Events => Interlocked.Read(ref _events);

    /// <summary>The last such line, e.g. <c>*RE</c>.</summary>
    public string? LastEvent => Volatile.Read(ref _lastEvent);

    /// <summary>The newest line the continuous listener received (good or bad), with its arrival time; null before the first.</summary>
    public EzoResult? Latest => Volatile.Read(ref _latest);

    /// <summary>Sends <c>R</c> and returns the reading. Throws only <see cref="OperationCanceledException"/> for its own token.</summary>
    /// <exception cref="InvalidOperationException">The continuous listener is running on this probe.</exception>
    public async Task<EzoResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await ReadLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _io.Release();
        }
    }

    /// <summary>
    /// The newest continuous-mode line if it arrived within <paramref name="maxAge"/>, unchanged (the same line
    /// comes back with the same <see cref="EzoResult.SampledAt"/> until a newer one arrives); otherwise a
    /// comm-failure stamped now.
    /// </summary>
    public EzoResult ReadLatest(TimeSpan maxAge)
    {
        var now = _time.GetUtcNow();
        var latest = Latest;
        if (latest is not null && now - latest.SampledAt <= maxAge)
        {
            return latest;
        }

        var since = latest is null ? "no line yet" : $"last line {(now - latest.SampledAt).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s ago";
        var lineError = Volatile.Read(ref _lastLineError) is { } e ? $"; last line error: {e}" : "";
        return Counted(EzoResult.CommFailure(FailureFields, $"{Name}: no reading within {maxAge.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s ({since}{lineError})", now));
    }

    /// <summary>
    /// Reads continuous-mode lines until <paramref name="cancellationToken"/> is cancelled, then returns. Put the
    /// circuit in continuous mode first (<see cref="SetContinuousAsync"/>), or rely on its factory setting.
    /// Nothing the line or the circuit does ends it.
    /// </summary>
    public async Task RunContinuousAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _listening, 1, 0) != 0)
        {
            throw new InvalidOperationException($"{Name}: the continuous listener is already running");
        }

        try
        {
            await _io.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await ListenLockedAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _io.Release();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            Volatile.Write(ref _listening, 0);
        }
    }

    /// <summary>
    /// Sends any command (without its <c>\r</c>) and returns its <c>?</c> reply line, or null when the circuit
    /// only acknowledged it.
    /// </summary>
    /// <exception cref="EzoException">*ER, or a line that failed framing.</exception>
    /// <exception cref="EzoTimeoutException">No answer within the response timeout.</exception>
    /// <exception cref="IOException">The line failed.</exception>
    public async Task<string?> CommandAsync(string command, CancellationToken cancellationToken = default)
    {
        CheckCommand(command);
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await CommandLockedAsync(command, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _io.Release();
        }
    }

    /// <summary>Device type and firmware (<c>i</c> → <c>?I,pH,2.10</c>).</summary>
    public async Task<EzoDeviceInfo> GetDeviceInfoAsync(CancellationToken cancellationToken = default) =>
        EzoParser.ParseDeviceInfo(await QueryAsync("i", cancellationToken).ConfigureAwait(false));

    /// <summary>Last restart reason and supply voltage (<c>Status</c> → <c>?Status,P,5.038</c>).</summary>
    public async Task<EzoDeviceStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
        EzoParser.ParseStatus(await QueryAsync("Status", cancellationToken).ConfigureAwait(false));

    /// <summary>Seconds between continuous readings, 0 when off (<c>C,?</c> → <c>?C,1</c>).</summary>
    public async Task<int> GetContinuousAsync(CancellationToken cancellationToken = default) =>
        EzoParser.ParseContinuous(await QueryAsync("C,?", cancellationToken).ConfigureAwait(false));

    /// <summary>Turns continuous mode on (<c>C,1</c>: a reading every second) or off (<c>C,0</c>).</summary>
    public Task SetContinuousAsync(bool enabled, CancellationToken cancellationToken = default) =>
        CommandAsync(enabled ? "C,1" : "C,0", cancellationToken);

    private EzoField[] FailureFields => Volatile.Read(ref _failureFields);

    private async Task<string> QueryAsync(string command, CancellationToken cancellationToken)
    {
        var reply = await CommandAsync(command, cancellationToken).ConfigureAwait(false)
            ?? throw new EzoException($"{Name}: '{command}' was acknowledged without a reply");
        return reply;
    }

    private async Task EnterAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _listening) != 0)
        {
            throw new InvalidOperationException($"{Name}: the continuous listener is running; cancel RunContinuousAsync before sending commands");
        }

        await _io.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task SendAsync(string command, CancellationToken cancellationToken)
    {
        // Whatever is waiting (a late answer to a timed-out command, continuous lines) belongs to nobody now.
        _line.DiscardInput();
        _framer.Reset();
        await _line.WriteAsync(Encoding.ASCII.GetBytes(command + "\r"), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads what arrives within the rest of the response timeout and frames it; false on silence.</summary>
    private async Task<bool> ReceiveAsync(long started, CancellationToken cancellationToken)
    {
        _frames.Clear();
        var remaining = Options.ResponseTimeout - _time.GetElapsedTime(started);
        if (remaining <= TimeSpan.Zero)
        {
            return false;
        }

        var n = await _line.ReadAsync(_buffer, remaining, cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            return false;
        }

        _framer.Feed(_buffer.AsSpan(0, n), _frames);
        return true;
    }

    private async Task<EzoResult> ReadLockedAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        EzoResult? reading = null;
        try
        {
            await SendAsync("R", cancellationToken).ConfigureAwait(false);
            while (await ReceiveAsync(started, cancellationToken).ConfigureAwait(false))
            {
                var at = _time.GetUtcNow();
                foreach (var frame in _frames)
                {
                    if (!frame.Ok)
                    {
                        return Counted(EzoResult.Bad(FailureFields, frame.Error!, at));
                    }

                    var kind = EzoParser.Classify(frame.Line);
                    switch (kind)
                    {
                        case EzoLineKind.Data:
                            reading = Parse(frame.Line, at);
                            if (!reading.Ok || !Options.ResponseCodes)
                            {
                                return reading;
                            }

                            break;
                        case EzoLineKind.Ok:
                            return reading ?? Counted(EzoResult.Bad(FailureFields, "*OK without a reading: the circuit acknowledged R but sent no value", at));
                        case EzoLineKind.Error or EzoLineKind.OverVoltage or EzoLineKind.UnderVoltage or EzoLineKind.UnknownCode:
                            return Counted(EzoResult.Bad(FailureFields, kind == EzoLineKind.UnknownCode ? $"unknown response code '{frame.Line}'" : EzoParser.Describe(kind), at));
                        case EzoLineKind.Query:
                            return Counted(EzoResult.Bad(FailureFields, $"unexpected reply '{frame.Line}' to R", at));
                        default:
                            NoteEvent(frame.Line);
                            break;
                    }
                }
            }
        }
        catch (Exception ex) when (IsLineFailure(ex, cancellationToken))
        {
            return Counted(EzoResult.CommFailure(FailureFields, LineError(ex), _time.GetUtcNow()));
        }

        // A complete reading whose *OK did not follow in time is still a complete reading.
        if (reading is not null)
        {
            return reading;
        }

        var now = _time.GetUtcNow();
        return _framer.HasPartialLine
            ? Counted(EzoResult.Bad(FailureFields, $"truncated line '{_framer.PartialLine}': no \\r within {Milliseconds(Options.ResponseTimeout)} ms", now))
            : Counted(EzoResult.CommFailure(FailureFields, $"{Name}: no answer to R within {Milliseconds(Options.ResponseTimeout)} ms", now));
    }

    private async Task<string?> CommandLockedAsync(string command, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        string? reply = null;
        await SendAsync(command, cancellationToken).ConfigureAwait(false);
        while (await ReceiveAsync(started, cancellationToken).ConfigureAwait(false))
        {
            foreach (var frame in _frames)
            {
                if (!frame.Ok)
                {
                    throw new EzoException($"{Name}: {frame.Error}, in reply to '{command}'");
                }

                switch (EzoParser.Classify(frame.Line))
                {
                    case EzoLineKind.Query:
                        reply = frame.Line;
                        if (!Options.ResponseCodes)
                        {
                            return reply;
                        }

                        break;
                    case EzoLineKind.Ok:
                        return reply;
                    case EzoLineKind.Error:
                        throw new EzoException($"{Name}: *ER: circuit rejected the command '{command}'");
                    case EzoLineKind.Data:
                        // A continuous-mode reading passing by, not the answer.
                        break;
                    default:
                        NoteEvent(frame.Line);
                        break;
                }
            }
        }

        if (reply is not null || !Options.ResponseCodes)
        {
            return reply;
        }

        if (_framer.HasPartialLine)
        {
            throw new EzoException($"{Name}: truncated line '{_framer.PartialLine}' in reply to '{command}': no \\r within {Milliseconds(Options.ResponseTimeout)} ms");
        }

        throw new EzoTimeoutException($"{Name}: no answer to '{command}' within {Milliseconds(Options.ResponseTimeout)} ms");
    }

    private async Task ListenLockedAsync(CancellationToken cancellationToken)
    {
        _framer.Reset();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                // The timeout only bounds each wait; silence is judged by ReadLatest against the last arrival.
                if (!await ReceiveAsync(_time.GetTimestamp(), cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }
            }
            catch (Exception ex) when (IsLineFailure(ex, cancellationToken))
            {
                // A failing line (adapter unplugged) would fail again at once: back off for a response time.
                Volatile.Write(ref _lastLineError, LineError(ex));
                await Task.Delay(Options.ResponseTimeout, _time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            Volatile.Write(ref _lastLineError, null);
            var at = _time.GetUtcNow();
            foreach (var frame in _frames)
            {
                if (!frame.Ok)
                {
                    Publish(Counted(EzoResult.Bad(FailureFields, frame.Error!, at)));
                    continue;
                }

                var kind = EzoParser.Classify(frame.Line);
                switch (kind)
                {
                    case EzoLineKind.Data:
                        Publish(Parse(frame.Line, at));
                        break;
                    case EzoLineKind.OverVoltage or EzoLineKind.UnderVoltage:
                        // Out-of-spec supply: readings around it cannot be trusted.
                        Publish(Counted(EzoResult.Bad(FailureFields, EzoParser.Describe(kind), at)));
                        break;
                    default:
                        NoteEvent(frame.Line);
                        break;
                }
            }
        }
    }

    private EzoResult Parse(string line, DateTimeOffset at)
    {
        var result = EzoParser.ParseReading(Kind, line, at, Options.Outputs);
        if (!result.Ok)
        {
            return Counted(EzoResult.Bad(FailureFields, result.Error!, at));
        }

        Volatile.Write(ref _failureFields, [.. result.Values.Select(v => new EzoField(v.Field, v.Unit))]);
        return result;
    }

    private void Publish(EzoResult result) => Volatile.Write(ref _latest, result);

    private EzoResult Counted(EzoResult result)
    {
        if (result.Outcome == EzoOutcome.Bad)
        {
            Interlocked.Increment(ref _errors);
        }
        else if (result.Outcome == EzoOutcome.CommFailure)
        {
            Interlocked.Increment(ref _commFailures);
        }

        return result;
    }

    private void NoteEvent(string line)
    {
        Interlocked.Increment(ref _events);
        Volatile.Write(ref _lastEvent, line);
    }

    private string LineError(Exception ex) => ex.Message.StartsWith(Name, StringComparison.Ordinal) ? ex.Message : $"{Name}: {ex.Message}";

    // Anything the line can throw short of our own cancellation is a comm-failure, never an exception to the poller.
    private static bool IsLineFailure(Exception ex, CancellationToken cancellationToken) =>
        ex is IOException or ObjectDisposedException or InvalidOperationException or TimeoutException
        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private static void CheckCommand(string command)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        if (command.Any(c => c is < ' ' or > '~'))
        {
            throw new ArgumentException($"an EZO command is printable ASCII without its \\r, got '{command}'", nameof(command));
        }
    }

    private static string Milliseconds(TimeSpan t) => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);
}
