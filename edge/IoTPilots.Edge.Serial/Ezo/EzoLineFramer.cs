using System.Text;

namespace IoTPilots.Edge.Serial.Ezo;

/// <summary>A complete line without its <c>\r</c>, or, when <see cref="Error"/> is set, a line that failed framing.</summary>
public readonly record struct EzoFrame(string Line, string? Error)
{
    public bool Ok => Error is null;
}

/// <summary>
/// Cuts a byte stream into EZO UART lines. The circuit ends every line with a carriage return and sends
/// printable ASCII only [docs/domain.md S1; EZO datasheets, "UART mode"]. Pure: no I/O, no clock.
/// </summary>
/// <remarks>
/// A line longer than <see cref="MaxLineLength"/>, or holding a byte outside printable ASCII (noise, a baud
/// mismatch, a power glitch), is reported as one error frame when its <c>\r</c> comes, and framing starts again
/// on the next byte. Line feeds are ignored: the circuit never sends one, but a bench terminal or an adapter
/// adding CR LF should not turn good readings into errors. Empty lines are skipped.
/// </remarks>
public sealed class EzoLineFramer
{
    /// <summary>
    /// Longest line accepted. The longest EZO replies are a few tens of characters (EC with four values, e.g.
    /// <c>500000,300000,42.00,1.300</c>; a 16-character device name); Atlas' own UART library reads 32.
    /// </summary>
    public const int MaxLineLength = 64;

    private readonly byte[] _line = new byte[MaxLineLength];
    private int _length;
    private int _dropped;
    private int _badByte = -1;

    /// <summary>True when bytes of an unfinished line are held.</summary>
    public bool HasPartialLine => _length > 0 || _dropped > 0 || _badByte >= 0;

    /// <summary>The unfinished line so far, printable, for error messages.</summary>
    public string PartialLine => Printable(_line.AsSpan(0, _length)) + (_dropped > 0 ? "..." : "");

    /// <summary>Forgets any unfinished line, e.g. before a new command.</summary>
    public void Reset()
    {
        _length = 0;
        _dropped = 0;
        _badByte = -1;
    }

    /// <summary>Consumes bytes and appends every line they complete to <paramref name="frames"/>.</summary>
    public void Feed(ReadOnlySpan<byte> data, ICollection<EzoFrame> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        foreach (var b in data)
        {
            switch (b)
            {
                case (byte)'\r':
                    if (HasPartialLine)
                    {
                        frames.Add(Complete());
                    }

                    Reset();
                    break;
                case (byte)'\n':
                    break;
                default:
                    if (b is < 0x20 or > 0x7E && _badByte < 0)
                    {
                        _badByte = b;
                    }

                    if (_length < MaxLineLength)
                    {
                        _line[_length++] = b;
                    }
                    else
                    {
                        _dropped++;
                    }

                    break;
            }
        }
    }

    private EzoFrame Complete()
    {
        var text = Printable(_line.AsSpan(0, _length));
        if (_dropped > 0)
        {
            return new EzoFrame(text + "...", $"over-long line: {_length + _dropped} bytes before \\r, at most {MaxLineLength} expected");
        }

        if (_badByte >= 0)
        {
            return new EzoFrame(text, $"garbage on the line: byte 0x{_badByte:X2} in '{text}' (EZO sends printable ASCII only)");
        }

        return new EzoFrame(text, null);
    }

    /// <summary>ASCII as is, anything else as \xNN, so error messages and logs stay one readable line.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E)
            {
                text.Append((char)b);
            }
            else
            {
                text.Append("\\x").Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }
}
