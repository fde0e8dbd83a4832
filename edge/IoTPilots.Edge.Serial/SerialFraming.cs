namespace IoTPilots.Edge.Serial;

/// <summary>Parity bit of a UART character. Mirrors System.IO.Ports without making callers depend on it.</summary>
public enum Parity
{
    None,
    Odd,
    Even,
    Mark,
    Space,
}

/// <summary>Stop bits of a UART character. Mirrors System.IO.Ports without making callers depend on it.</summary>
public enum StopBits
{
    One,
    OnePointFive,
    Two,
}

/// <summary>Character framing arithmetic shared by the real adapter and the pseudo-terminal.</summary>
public static class SerialFraming
{
    /// <summary>
    /// Bits on the wire per character: one start bit, the data bits, one parity bit unless none, and the stop bits.
    /// 1.5 stop bits counts as 2, so timing derived from it (for example the Modbus RTU 3.5-character gap) errs
    /// on the long side.
    /// </summary>
    public static int BitsPerCharacter(int dataBits, Parity parity, StopBits stopBits)
    {
        if (dataBits is < 5 or > 8)
        {
            throw new ArgumentOutOfRangeException(nameof(dataBits), dataBits, "a UART character has 5 to 8 data bits");
        }

        var parityBits = parity == Parity.None ? 0 : 1;
        var stop = stopBits == StopBits.One ? 1 : 2;
        return 1 + dataBits + parityBits + stop;
    }

    /// <summary>Short form for logs: <c>9600 8N1</c>.</summary>
    public static string Describe(int baudRate, int dataBits, Parity parity, StopBits stopBits)
    {
        var p = parity switch
        {
            Parity.None => 'N',
            Parity.Odd => 'O',
            Parity.Even => 'E',
            Parity.Mark => 'M',
            _ => 'S',
        };
        var s = stopBits switch
        {
            StopBits.One => "1",
            StopBits.OnePointFive => "1.5",
            _ => "2",
        };
        return $"{baudRate} {dataBits}{p}{s}";
    }
}
