using System.Globalization;

namespace IoTPilots.Devices;

/// <summary>Serial line settings, written as <c>/dev/ttyUSB0?baud=9600&amp;parity=N&amp;data=8&amp;stop=1</c>.</summary>
/// <remarks>Parity defaults to N: the Modbus serial spec prefers E, but the field probes we ship profiles for come 8N1.</remarks>
public sealed record SerialSettings(string Path, int Baud, char Parity, int DataBits, int StopBits)
{
    public static readonly int[] StandardBauds = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];

    /// <summary>Start bit + data + parity + stop: what one character costs on the wire.</summary>
    public int BitsPerCharacter => 1 + DataBits + (Parity == 'N' ? 0 : 1) + StopBits;

    public static bool TryParse(string text, int defaultBaud, out SerialSettings settings, out string error)
    {
        settings = new SerialSettings("", defaultBaud, 'N', 8, 1);
        error = "";
        var q = text.IndexOf('?', StringComparison.Ordinal);
        var path = q < 0 ? text : text[..q];
        if (!path.StartsWith('/'))
        {
            error = $"expected a device path such as /dev/ttyUSB0[?baud=9600&parity=N&data=8&stop=1], got '{text}'";
            return false;
        }

        settings = settings with { Path = path };
        if (q < 0)
        {
            return true;
        }

        foreach (var pair in text[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var value = kv.Length == 2 ? kv[1] : "";
            switch (kv[0])
            {
                case "baud" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var baud) && StandardBauds.Contains(baud):
                    settings = settings with { Baud = baud };
                    break;
                case "parity" when value is "N" or "E" or "O":
                    settings = settings with { Parity = value[0] };
                    break;
                case "data" when value is "7" or "8":
                    settings = settings with { DataBits = value[0] - '0' };
                    break;
                case "stop" when value is "1" or "2":
                    settings = settings with { StopBits = value[0] - '0' };
                    break;
                default:
                    error = $"bad serial setting '{pair}' (expected baud={string.Join("|", StandardBauds)}, parity=N|E|O, data=7|8, stop=1|2)";
                    return false;
            }
        }

        return true;
    }

    public override string ToString() => $"{Path}?baud={Baud}&parity={Parity}&data={DataBits}&stop={StopBits}";
}

/// <summary>An I2C device: bus number and 7-bit address, written as <c>1:0x76</c>.</summary>
public sealed record I2cAddress(int Bus, int Address)
{
    public static bool TryParse(string text, out I2cAddress address)
    {
        address = new I2cAddress(0, 0);
        var parts = text.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var bus) || bus < 0)
        {
            return false;
        }

        var a = parts[1];
        var ok = a.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(a.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var addr)
            : int.TryParse(a, CultureInfo.InvariantCulture, out addr);
        if (!ok || addr is < 0x08 or > 0x77)
        {
            return false;
        }

        address = new I2cAddress(bus, addr);
        return true;
    }
}

/// <summary>An SPI device: bus number and chip select, written as <c>0.1</c> (as in /dev/spidev0.1).</summary>
public sealed record SpiAddress(int Bus, int ChipSelect)
{
    public static bool TryParse(string text, out SpiAddress address)
    {
        address = new SpiAddress(0, 0);
        var parts = text.Split('.');
        if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var bus) || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var cs) || bus < 0 || cs < 0)
        {
            return false;
        }

        address = new SpiAddress(bus, cs);
        return true;
    }
}
