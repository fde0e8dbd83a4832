using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace IoTPilots.Edge.Gpio;

/// <summary>
/// The Linux w1_therm driver's sysfs file for a DS18B20, <c>/sys/bus/w1/devices/28-xxxxxxxxxxxx/w1_slave</c>:
/// the 1-Wire CRC-8, the parser <see cref="Ds18b20"/> uses, and a writer that stands in for the kernel in tests
/// and simulators.
/// </summary>
/// <remarks>
/// Format, as printed by <c>w1_slave_show</c> in drivers/w1/slaves/w1_therm.c: the nine scratchpad bytes as
/// <c>"%02x "</c>, then <c>": crc=%02x YES|NO"</c> (the CRC the kernel computed over bytes 0-7, YES when it
/// equals byte 8); on the second line nine bytes again and <c>"t=%d"</c> in milli-degrees Celsius.
/// <code>
/// 72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
/// 72 01 4b 46 7f ff 0e 10 57 t=23125
/// </code>
/// Reading the file makes the kernel start a conversion and wait for it (750 ms at 12 bits).
/// </remarks>
public static partial class W1Therm
{
    public const string DevicesDirectory = "/sys/bus/w1/devices";

    public const string SlaveFileName = "w1_slave";

    public const int ScratchpadLength = 9;

    // DS18B20 datasheet, operating range: -55 °C to +125 °C.
    public const double MinCelsius = -55.0;

    public const double MaxCelsius = 125.0;

    // Values a DS18B20 ships with in EEPROM: TH = 75 °C, TL = 70 °C, configuration 0x7F = 12-bit resolution.
    private const byte FactoryAlarmHigh = 0x4B;
    private const byte FactoryAlarmLow = 0x46;
    private const byte Configuration12Bit = 0x7F;

    /// <summary>
    /// The 1-Wire CRC-8: polynomial x^8 + x^5 + x^4 + 1, initial value 0, data shifted in least significant bit
    /// first (Maxim application note 27). Over a scratchpad including its CRC byte the result is 0.
    /// </summary>
    public static byte Crc8(ReadOnlySpan<byte> data)
    {
        byte crc = 0;
        foreach (var value in data)
        {
            var b = value;
            for (var bit = 0; bit < 8; bit++)
            {
                var feedback = (crc ^ b) & 1;
                crc >>= 1;
                if (feedback != 0)
                {
                    // 0x8C is 0x31 (x^5 + x^4 + 1) bit-reversed, because the register shifts right.
                    crc ^= 0x8C;
                }

                b >>= 1;
            }
        }

        return crc;
    }

    /// <summary>
    /// A DS18B20 scratchpad holding <paramref name="celsius"/> (rounded to 1/16 °C) at 12-bit resolution, with
    /// factory alarm and configuration bytes and a correct CRC.
    /// </summary>
    public static byte[] Scratchpad(double celsius)
    {
        if (!(celsius >= MinCelsius && celsius <= MaxCelsius))
        {
            throw new ArgumentOutOfRangeException(nameof(celsius), celsius, $"a DS18B20 reports {MinCelsius} to +{MaxCelsius} °C");
        }

        var raw = (short)Math.Round(celsius * 16, MidpointRounding.AwayFromZero);
        var scratchpad = new byte[ScratchpadLength];
        scratchpad[(int)Ds18b20Scratchpad.TemperatureLsb] = (byte)raw;
        scratchpad[(int)Ds18b20Scratchpad.TemperatureMsb] = (byte)(raw >> 8);
        scratchpad[(int)Ds18b20Scratchpad.AlarmHigh] = FactoryAlarmHigh;
        scratchpad[(int)Ds18b20Scratchpad.AlarmLow] = FactoryAlarmLow;
        scratchpad[(int)Ds18b20Scratchpad.Configuration] = Configuration12Bit;
        // Reserved bytes 5-7: the datasheet gives FFh and 10h for bytes 5 and 7; genuine parts report 10h minus the
        // low nibble in byte 6 (as in the familiar "72 01 4b 46 7f ff 0e 10" sample). Nothing reads them.
        scratchpad[(int)Ds18b20Scratchpad.Reserved5] = 0xFF;
        scratchpad[(int)Ds18b20Scratchpad.Reserved6] = (byte)(0x10 - (raw & 0x0F));
        scratchpad[(int)Ds18b20Scratchpad.Reserved7] = 0x10;
        scratchpad[(int)Ds18b20Scratchpad.Crc] = Crc8(scratchpad.AsSpan(0, 8));
        return scratchpad;
    }

    /// <summary>
    /// The text the kernel prints for <paramref name="scratchpad"/>: the CRC it computes over bytes 0-7, YES or NO,
    /// and t= decoded as for a DS18B20 (undefined low bits cleared at lower resolutions, truncated like C).
    /// Any nine bytes are accepted, so callers can emulate faults (all 0xFF, a bad CRC, the +85 °C reset value).
    /// </summary>
    public static string Format(ReadOnlySpan<byte> scratchpad)
    {
        if (scratchpad.Length != ScratchpadLength)
        {
            throw new ArgumentException($"a scratchpad is {ScratchpadLength} bytes", nameof(scratchpad));
        }

        var crc = Crc8(scratchpad[..8]);
        var bytes = new StringBuilder(3 * ScratchpadLength);
        foreach (var b in scratchpad)
        {
            bytes.Append(b.ToString("x2", CultureInfo.InvariantCulture)).Append(' ');
        }

        var milliCelsius = Ds18b20.RawTemperature(scratchpad) * 1000 / 16;
        var verdict = crc == scratchpad[8] ? "YES" : "NO";
        return string.Create(CultureInfo.InvariantCulture, $"{bytes}: crc={crc:x2} {verdict}\n{bytes}t={milliCelsius}\n");
    }

    /// <summary>Writes a valid <c>w1_slave</c> for <paramref name="celsius"/>; returns the file's path.</summary>
    public static string Write(string devicesDirectory, string sensorId, double celsius) =>
        Write(devicesDirectory, sensorId, Scratchpad(celsius));

    /// <summary>
    /// Writes <c>&lt;devicesDirectory&gt;/&lt;sensorId&gt;/w1_slave</c> as the kernel would print
    /// <paramref name="scratchpad"/>; returns the file's path. The file is replaced atomically (written beside it,
    /// then renamed) so a reader polling it never sees half a file.
    /// </summary>
    public static string Write(string devicesDirectory, string sensorId, ReadOnlySpan<byte> scratchpad)
    {
        var directory = Path.Combine(devicesDirectory, sensorId);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, SlaveFileName);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, Format(scratchpad));
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    internal static bool TryParse(string text, out W1SlaveText parsed)
    {
        parsed = default;
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length < 2)
        {
            return false;
        }

        var crcLine = CrcLine().Match(lines[0]);
        var temperatureLine = TemperatureLine().Match(lines[1]);
        if (!crcLine.Success || !temperatureLine.Success
            || !int.TryParse(temperatureLine.Groups["t"].ValueSpan, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var milliCelsius))
        {
            return false;
        }

        var scratchpad = Convert.FromHexString(crcLine.Groups["bytes"].Value.Replace(" ", string.Empty, StringComparison.Ordinal));
        parsed = new W1SlaveText(scratchpad, crcLine.Groups["verdict"].Value == "YES", milliCelsius);
        return true;
    }

    [GeneratedRegex("^(?<bytes>(?:[0-9a-fA-F]{2} ){9}): crc=[0-9a-fA-F]{2} (?<verdict>YES|NO)$")]
    private static partial Regex CrcLine();

    // The second line's bytes are the last scratchpad that passed the CRC, not necessarily this read's
    // (w1_slave_show prints its cached copy), so only t= is taken from it.
    [GeneratedRegex("^(?:[0-9a-fA-F]{2} ){9}t=(?<t>-?[0-9]+)$")]
    private static partial Regex TemperatureLine();
}

/// <summary>A parsed <c>w1_slave</c>: this read's scratchpad, the kernel's CRC verdict and its t= value.</summary>
internal readonly record struct W1SlaveText(byte[] Scratchpad, bool KernelCrcOk, int MilliCelsius);
