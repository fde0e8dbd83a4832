using System.Buffers.Binary;
using System.Device.Spi;

namespace IoTPilots.Edge.Gpio;

/// <summary>
/// A Maxim MAX31855 cold-junction-compensated thermocouple-to-digital converter on SPI. The chip converts
/// continuously; a read clocks out one 32-bit frame (MAX31855 datasheet, Table 2 memory map):
/// D31-D18 thermocouple temperature, 14-bit two's complement, 0.25 °C; D17 reserved (0); D16 fault;
/// D15-D4 internal (cold-junction) temperature, 12-bit two's complement, 0.0625 °C; D3 reserved (0);
/// D2 SCV (short to VCC); D1 SCG (short to GND); D0 OC (open circuit).
/// The caller owns (and disposes) the <see cref="SpiDevice"/>.
/// </summary>
public sealed class Max31855
{
    /// <summary>
    /// SPI settings the chip needs: SCK idles low and SO changes on the falling edge, so mode 0 (sampling on the
    /// rising edge); serial clock at most 5 MHz (datasheet, serial-interface timing).
    /// </summary>
    public const SpiMode RequiredMode = SpiMode.Mode0;

    public const int MaxClockFrequency = 5_000_000;

    private const uint FaultFlag = 1u << 16;
    private const uint ReservedBits = (1u << 17) | (1u << 3);
    private const uint FaultBits = 0b111;

    private readonly SpiDevice _device;

    public Max31855(SpiDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
    }

    /// <summary>
    /// Reads one frame: thermocouple and internal temperature in °C. Returns false when the chip flags a fault
    /// (the reason's flags say which: <see cref="Max31855Error.OpenCircuit"/>, <see cref="Max31855Error.ShortToGround"/>,
    /// <see cref="Max31855Error.ShortToVcc"/>), when the frame cannot come from a MAX31855, or the bus fails.
    /// </summary>
    public bool TryRead(out Max31855Reading reading, out ReadFailure<Max31855Error> failure)
    {
        Span<byte> frame = stackalloc byte[4];
        try
        {
            _device.Read(frame);
        }
        catch (IOException ex)
        {
            reading = default;
            failure = new ReadFailure<Max31855Error>(Max31855Error.BusError, $"SPI read failed: {ex.Message}");
            return false;
        }

        // MSB first: D31 is the first bit clocked out.
        return TryDecode(BinaryPrimitives.ReadUInt32BigEndian(frame), out reading, out failure);
    }

    internal static bool TryDecode(uint frame, out Max31855Reading reading, out ReadFailure<Max31855Error> failure)
    {
        reading = default;
        var faults = (Max31855Error)(frame & FaultBits);
        var faultFlag = (frame & FaultFlag) != 0;

        // D17 and D3 always read 0, and D16 is set exactly when one of D2-D0 is. A frame breaking those rules
        // is not from a working MAX31855: 0xFFFFFFFF is a floating MISO line. All zeros (MISO held low, chip
        // unpowered) would pass as 0.00 °C at a 0.0000 °C die, which a powered board does not see in practice.
        if ((frame & ReservedBits) != 0 || faultFlag != (faults != Max31855Error.None) || frame == 0)
        {
            failure = new ReadFailure<Max31855Error>(Max31855Error.InvalidFrame, $"frame 0x{frame:X8} is not a MAX31855 reading (no chip, or MISO stuck high/low)");
            return false;
        }

        if (faults != Max31855Error.None)
        {
            failure = new ReadFailure<Max31855Error>(faults, $"thermocouple fault: {Describe(faults)} (frame 0x{frame:X8})");
            return false;
        }

        // Arithmetic shifts sign-extend: the top 14 bits of the signed frame, the top 12 of its low half.
        var thermocouple = ((int)frame >> 18) * 0.25;
        var internalTemperature = ((short)(ushort)frame >> 4) * 0.0625;
        reading = new Max31855Reading(thermocouple, internalTemperature);
        failure = default;
        return true;
    }

    private static string Describe(Max31855Error faults)
    {
        var parts = new List<string>(3);
        if (faults.HasFlag(Max31855Error.OpenCircuit))
        {
            parts.Add("open circuit (OC)");
        }

        if (faults.HasFlag(Max31855Error.ShortToGround))
        {
            parts.Add("short to GND (SCG)");
        }

        if (faults.HasFlag(Max31855Error.ShortToVcc))
        {
            parts.Add("short to VCC (SCV)");
        }

        return string.Join(", ", parts);
    }
}

/// <summary>One MAX31855 frame: the cold-junction-compensated thermocouple temperature and the chip's own, in °C.</summary>
public readonly record struct Max31855Reading(double ThermocoupleCelsius, double InternalCelsius);

/// <summary>
/// Why a MAX31855 read failed. The three fault flags have the values of frame bits D0-D2 and can combine.
/// </summary>
[Flags]
public enum Max31855Error
{
    None = 0,

    /// <summary>D0: the thermocouple is open (not connected, or a broken wire).</summary>
    OpenCircuit = 1 << 0,

    /// <summary>D1: the thermocouple is shorted to GND.</summary>
    ShortToGround = 1 << 1,

    /// <summary>D2: the thermocouple is shorted to VCC.</summary>
    ShortToVcc = 1 << 2,

    /// <summary>The frame breaks the datasheet's fixed bits: no chip answering, or the data line stuck.</summary>
    InvalidFrame = 1 << 3,

    /// <summary>The SPI transfer failed.</summary>
    BusError = 1 << 4,
}
