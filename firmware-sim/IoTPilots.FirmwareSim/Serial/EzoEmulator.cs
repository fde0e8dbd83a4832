using System.Globalization;
using System.Text;
using IoTPilots.Edge.Serial;
using IoTPilots.Edge.Serial.Ezo;

namespace IoTPilots.FirmwareSim.Serial;

/// <summary>
/// An Atlas Scientific EZO circuit in UART mode, served over an <see cref="ISerialLine"/> (the master of a
/// <see cref="PseudoTerminal"/>), so the edge's <see cref="EzoProbe"/> on the slave cannot tell it from the chip.
/// </summary>
/// <remarks>
/// <para>Starts in the factory state [docs/domain.md S1; EZO datasheets, "Default state"]: continuous readings once a
/// second, *OK after every command. Lines end with <c>\r</c> only. Commands are case-insensitive.</para>
/// <list type="table">
/// <item><term><c>R</c></term><description>one reading after <see cref="ReadingDelay"/>, then *OK</description></item>
/// <item><term><c>C,n</c> / <c>C,0</c> / <c>C,?</c></term><description>continuous every n s (n up to 99 [U]) / off / <c>?C,n</c></description></item>
/// <item><term><c>i</c></term><description><c>?I,pH,2.10</c> (type and <see cref="Firmware"/>)</description></item>
/// <item><term><c>Status</c></term><description><c>?Status,P,5.038</c>: powered-on restart, 5.038 V (the datasheets' example)</description></item>
/// <item><term><c>*OK,1</c> / <c>*OK,0</c> / <c>*OK,?</c></term><description>response codes on / off / <c>?*OK,1</c></description></item>
/// <item><term>anything else</term><description><c>*ER</c>, which cannot be disabled</description></item>
/// </list>
/// </remarks>
public sealed class EzoEmulator
{
    private readonly ISerialLine _line;
    private readonly Func<double[]> _values;
    private readonly TimeProvider _time;
    private readonly EzoLineFramer _framer = new();
    private readonly List<EzoFrame> _frames = [];
    private readonly byte[] _buffer = new byte[256];
    private long _nextReadingAt;
    private int _continuousSeconds = 1;
    private bool _responseCodes = true;
    private long _commands;

    /// <param name="values">
    /// The current value of each of <see cref="Outputs"/>, in order, asked for at every reading. Returning a
    /// different count, or NaN, puts exactly that on the line: a way to feed the driver a bad reading.
    /// </param>
    public EzoEmulator(ISerialLine line, EzoKind kind, Func<double[]> values, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(values);
        _line = line;
        Kind = kind;
        _values = values;
        _time = time ?? TimeProvider.System;
        Outputs = kind.Outputs();
    }

    public EzoKind Kind { get; }

    /// <summary>Firmware version reported by <c>i</c>.</summary>
    public string Firmware { get; init; } = "2.10";

    /// <summary>
    /// Time taken to answer <c>R</c>: the EZO-pH datasheet gives a 900 ms processing delay for a reading. The
    /// circuit handles nothing else meanwhile.
    /// </summary>
    public TimeSpan ReadingDelay { get; init; } = TimeSpan.FromMilliseconds(900);

    /// <summary>
    /// The values on each reading line, in the circuit's order. Defaults to all the kind's outputs (EC: EC, TDS,
    /// salinity, SG), as a circuit with every output enabled (command O) sends them.
    /// </summary>
    public IReadOnlyList<EzoField> Outputs { get; init; }

    /// <summary>Seconds between continuous readings; 0 when off. 1 from the factory.</summary>
    public int ContinuousSeconds => Volatile.Read(ref _continuousSeconds);

    /// <summary>Whether *OK follows each command; on from the factory.</summary>
    public bool ResponseCodes => Volatile.Read(ref _responseCodes);

    /// <summary>Commands received, including rejected ones.</summary>
    public long Commands => Interlocked.Read(ref _commands);

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled, then returns.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _nextReadingAt = _time.GetTimestamp() + SecondsToTimestamp(ContinuousSeconds);
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var wait = ContinuousSeconds > 0
                    ? _time.GetElapsedTime(_time.GetTimestamp(), _nextReadingAt)
                    : TimeSpan.FromSeconds(1);
                if (wait > TimeSpan.Zero)
                {
                    var n = await _line.ReadAsync(_buffer, wait, cancellationToken).ConfigureAwait(false);
                    if (n > 0)
                    {
                        _frames.Clear();
                        _framer.Feed(_buffer.AsSpan(0, n), _frames);
                        foreach (var frame in _frames)
                        {
                            await HandleAsync(frame, cancellationToken).ConfigureAwait(false);
                        }
                    }
                }

                if (ContinuousSeconds > 0 && _time.GetTimestamp() >= _nextReadingAt)
                {
                    await SendAsync(ReadingLine(), cancellationToken).ConfigureAwait(false);
                    _nextReadingAt += SecondsToTimestamp(ContinuousSeconds);
                    if (_nextReadingAt <= _time.GetTimestamp())
                    {
                        // Fell behind (a slow R): the circuit does not send a burst to catch up.
                        _nextReadingAt = _time.GetTimestamp() + SecondsToTimestamp(ContinuousSeconds);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task HandleAsync(EzoFrame frame, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _commands);
        var command = frame.Ok ? frame.Line.Trim().ToUpperInvariant() : "";
        switch (command)
        {
            case "R":
                await Task.Delay(ReadingDelay, _time, cancellationToken).ConfigureAwait(false);
                await ReplyAsync(ReadingLine(), cancellationToken).ConfigureAwait(false);
                return;
            case "I":
                await ReplyAsync($"?I,{Kind.DeviceType()},{Firmware}", cancellationToken).ConfigureAwait(false);
                return;
            case "STATUS":
                await ReplyAsync("?Status,P,5.038", cancellationToken).ConfigureAwait(false);
                return;
            case "C,?":
                await ReplyAsync(string.Create(CultureInfo.InvariantCulture, $"?C,{ContinuousSeconds}"), cancellationToken).ConfigureAwait(false);
                return;
            case "*OK,?":
                // The query of the response-code setting is answered without a trailing *OK.
                await SendAsync(ResponseCodes ? "?*OK,1" : "?*OK,0", cancellationToken).ConfigureAwait(false);
                return;
            case "*OK,1" or "*OK,0":
                Volatile.Write(ref _responseCodes, command == "*OK,1");
                await ReplyAsync(null, cancellationToken).ConfigureAwait(false);
                return;
        }

        if (command.StartsWith("C,", StringComparison.Ordinal)
            && int.TryParse(command.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            && seconds is >= 0 and <= 99)
        {
            Volatile.Write(ref _continuousSeconds, seconds);
            _nextReadingAt = _time.GetTimestamp() + SecondsToTimestamp(seconds);
            await ReplyAsync(null, cancellationToken).ConfigureAwait(false);
            return;
        }

        await SendAsync("*ER", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The reply line (if any) followed by *OK when response codes are on.</summary>
    private async Task ReplyAsync(string? line, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        if (line is not null)
        {
            text.Append(line).Append('\r');
        }

        if (ResponseCodes)
        {
            text.Append("*OK\r");
        }

        if (text.Length > 0)
        {
            await _line.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()), cancellationToken).ConfigureAwait(false);
        }
    }

    private Task SendAsync(string line, CancellationToken cancellationToken) =>
        _line.WriteAsync(Encoding.ASCII.GetBytes(line + "\r"), cancellationToken);

    private string ReadingLine()
    {
        var values = _values();
        var parts = new string[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var format = i < Outputs.Count ? Format(Outputs[i]) : "0.###";
            parts[i] = values[i].ToString(format, CultureInfo.InvariantCulture);
        }

        return string.Join(',', parts);
    }

    // pH to 0.001 (EZO-pH datasheet: resolution .001, example reading 9.560); DO to 0.01 mg/L and 0.1 % (EZO-DO
    // datasheet: ranges start at 0.01 mg/L and 0.1 %). The other resolutions are plausible choices [U].
    private static string Format(EzoField field) => field.Name switch
    {
        "ph" => "0.000",
        "do_mg_l" => "0.00",
        "do_sat_pct" => "0.0",
        "orp_mv" => "0.0",
        "ec_us_cm" => "0.##",
        "tds_ppm" => "0",
        "salinity_ppt" => "0.00",
        "sg" => "0.000",
        "temp_c" => "0.000",
        _ => "0.###",
    };

    private long SecondsToTimestamp(int seconds) => seconds * _time.TimestampFrequency;
}
