using System.Text.RegularExpressions;

namespace IoTPilots.Edge.Gpio;

/// <summary>
/// A DS18B20 1-Wire thermometer read through the Linux w1_therm driver's sysfs file (see <see cref="W1Therm"/>).
/// The kernel's CRC verdict is not trusted: the CRC is recomputed from the bytes, the temperature is decoded from
/// scratchpad bytes 0-1 and checked against the kernel's t=, and the bus's failure patterns are rejected.
/// </summary>
public sealed partial class Ds18b20
{
    // DS18B20 datasheet, Table 1: the temperature register holds +85 °C (0550h) after power-on until the first
    // conversion completes, so reading it means the conversion did not happen (typically a power glitch).
    internal const short PowerOnResetValue = 0x0550;

    /// <param name="devicesDirectory">Where the kernel lists 1-Wire devices, normally <see cref="W1Therm.DevicesDirectory"/>.</param>
    /// <param name="sensorId">The sensor's sysfs name: family code 28, a dash, 12 hex digits of serial number.</param>
    public Ds18b20(string devicesDirectory, string sensorId)
    {
        ArgumentException.ThrowIfNullOrEmpty(devicesDirectory);
        if (!IsDs18b20Id(sensorId))
        {
            throw new ArgumentException($"'{sensorId}' is not a DS18B20 id (28-xxxxxxxxxxxx)", nameof(sensorId));
        }

        SensorId = sensorId;
        SlaveFilePath = Path.Combine(devicesDirectory, sensorId, W1Therm.SlaveFileName);
    }

    public string SensorId { get; }

    public string SlaveFilePath { get; }

    /// <summary>The DS18B20 ids the kernel currently lists, sorted; empty when the directory is missing.</summary>
    public static IReadOnlyList<string> Discover(string devicesDirectory)
    {
        if (!Directory.Exists(devicesDirectory))
        {
            return [];
        }

        return [.. Directory.EnumerateDirectories(devicesDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(IsDs18b20Id)
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Reads the sensor, in °C. Blocks while the kernel converts (about 750 ms at 12 bits).
    /// Returns false with the reason when the file is missing or unreadable, malformed, fails the CRC, shows a
    /// disconnected or shorted bus, holds the power-on value, or disagrees with the kernel's t=.
    /// </summary>
    public bool TryReadTemperature(out double celsius, out ReadFailure<Ds18b20Error> failure)
    {
        celsius = 0;
        string text;
        try
        {
            text = File.ReadAllText(SlaveFilePath);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Fail(Ds18b20Error.NotFound, $"{SlaveFilePath} does not exist: sensor not on the bus, wrong id, or w1 driver not loaded", out failure);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The kernel answers EIO when the bus does not respond during the read.
            return Fail(Ds18b20Error.IoError, $"reading {SlaveFilePath} failed: {ex.Message}", out failure);
        }

        if (text.Length == 0)
        {
            // Newer w1_therm versions return an empty file when the conversion command failed.
            return Fail(Ds18b20Error.IoError, $"{SlaveFilePath} was empty: the kernel could not complete a conversion", out failure);
        }

        if (!W1Therm.TryParse(text, out var parsed))
        {
            return Fail(Ds18b20Error.Malformed, $"{SlaveFilePath} is not in w1_slave format: '{text.Trim()}'", out failure);
        }

        var scratchpad = parsed.Scratchpad;
        if (scratchpad.All(b => b == 0xFF))
        {
            // An idle 1-Wire bus is pulled high, so a read with no device answering yields all ones.
            return Fail(Ds18b20Error.Disconnected, "scratchpad reads all 0xFF: no sensor answered (open data line or missing sensor)", out failure);
        }

        if (scratchpad.All(b => b == 0x00))
        {
            // All zeros has a valid CRC (0), so it must be caught before the CRC check would let it through as 0 °C.
            return Fail(Ds18b20Error.DataLineStuckLow, "scratchpad reads all 0x00: the data line is held low (short to ground)", out failure);
        }

        var crc = W1Therm.Crc8(scratchpad.AsSpan(0, 8));
        if (crc != scratchpad[(int)Ds18b20Scratchpad.Crc])
        {
            return Fail(Ds18b20Error.CrcMismatch, $"CRC over bytes 0-7 is 0x{crc:x2} but byte 8 is 0x{scratchpad[8]:x2}", out failure);
        }

        if (!parsed.KernelCrcOk)
        {
            return Fail(Ds18b20Error.KernelCrcFailed, "the kernel reported crc NO", out failure);
        }

        var register = (short)(scratchpad[(int)Ds18b20Scratchpad.TemperatureLsb] | (scratchpad[(int)Ds18b20Scratchpad.TemperatureMsb] << 8));
        if (register == PowerOnResetValue)
        {
            return Fail(Ds18b20Error.PowerOnReset, "temperature register holds the power-on value +85 °C (0x0550): no conversion took place", out failure);
        }

        var decoded = RawTemperature(scratchpad) / 16.0;
        // One step at the configured resolution: the kernel's t= is truncated to whole milli-degrees, and kernels
        // before the w1_therm rewrite did not clear the undefined low bits at 9-11 bits.
        var step = (1 << (12 - Resolution(scratchpad))) / 16.0;
        if (Math.Abs(decoded - (parsed.MilliCelsius / 1000.0)) >= step)
        {
            return Fail(Ds18b20Error.TemperatureMismatch, $"scratchpad decodes to {decoded} °C but the kernel printed t={parsed.MilliCelsius}", out failure);
        }

        celsius = decoded;
        failure = default;
        return true;
    }

    /// <summary>
    /// The temperature register in 1/16 °C, two's complement (datasheet Table 1), with the bits the datasheet calls
    /// undefined at the configured resolution cleared: bit 0 at 11 bits, bits 1-0 at 10, bits 2-0 at 9.
    /// </summary>
    internal static short RawTemperature(ReadOnlySpan<byte> scratchpad)
    {
        var raw = (short)(scratchpad[(int)Ds18b20Scratchpad.TemperatureLsb] | (scratchpad[(int)Ds18b20Scratchpad.TemperatureMsb] << 8));
        var undefinedBits = (1 << (12 - Resolution(scratchpad))) - 1;
        return (short)(raw & ~undefinedBits);
    }

    /// <summary>Resolution in bits from configuration register bits R1 R0 (bits 6-5): 00 = 9 ... 11 = 12.</summary>
    internal static int Resolution(ReadOnlySpan<byte> scratchpad) =>
        9 + ((scratchpad[(int)Ds18b20Scratchpad.Configuration] >> 5) & 0b11);

    private static bool IsDs18b20Id(string? id) => id is not null && Ds18b20Id().IsMatch(id);

    private static bool Fail(Ds18b20Error reason, string detail, out ReadFailure<Ds18b20Error> failure)
    {
        failure = new ReadFailure<Ds18b20Error>(reason, detail);
        return false;
    }

    // Family code 0x28 is the DS18B20; the kernel names the device directory "28-" plus the 48-bit serial in hex.
    [GeneratedRegex("^28-[0-9a-fA-F]{12}$")]
    private static partial Regex Ds18b20Id();
}

/// <summary>Why a DS18B20 read failed.</summary>
public enum Ds18b20Error
{
    None,

    /// <summary>The w1_slave file does not exist: the kernel does not list the sensor.</summary>
    NotFound,

    /// <summary>Reading the file failed or returned nothing (the kernel could not talk to the sensor).</summary>
    IoError,

    /// <summary>The file is not the two-line w1_slave format.</summary>
    Malformed,

    /// <summary>All nine bytes 0xFF: nothing drove the bus.</summary>
    Disconnected,

    /// <summary>All nine bytes 0x00: the data line is shorted low. Passes the CRC, so checked explicitly.</summary>
    DataLineStuckLow,

    /// <summary>The CRC computed over bytes 0-7 does not match byte 8 (noise on the line).</summary>
    CrcMismatch,

    /// <summary>The bytes pass the CRC here but the kernel said NO.</summary>
    KernelCrcFailed,

    /// <summary>The register holds +85 °C (0x0550), its power-on value: no conversion happened.</summary>
    PowerOnReset,

    /// <summary>The kernel's t= disagrees with the scratchpad bytes.</summary>
    TemperatureMismatch,
}

/// <summary>DS18B20 scratchpad byte offsets (datasheet, memory map).</summary>
internal enum Ds18b20Scratchpad : byte
{
    TemperatureLsb = 0,
    TemperatureMsb = 1,
    AlarmHigh = 2,
    AlarmLow = 3,
    Configuration = 4,
    Reserved5 = 5,
    Reserved6 = 6,
    Reserved7 = 7,
    Crc = 8,
}
