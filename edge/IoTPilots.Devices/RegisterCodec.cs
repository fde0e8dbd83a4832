using System.Buffers.Binary;
using System.Text;

namespace IoTPilots.Devices;

/// <summary>How a value is stored in registers [docs/domain.md M1].</summary>
public enum SignalType
{
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    Float32,
    Float64,
    Bit,
    String,
}

/// <summary>
/// Byte order of a multi-register value, named by where bytes A B C D of the big-endian value land
/// [docs/domain.md M1, section 4 test vector 123456.0 = 0x47F12000]:
/// ABCD = 0x47F1 0x2000; CDAB = 0x2000 0x47F1; BADC = 0xF147 0x0020; DCBA = 0x0020 0xF147.
/// For 64-bit values the same rule extends: CD* reverses the word order, *BA swaps the bytes within each word.
/// </summary>
public enum WordOrder
{
    ABCD,
    CDAB,
    BADC,
    DCBA,
}

/// <summary>
/// Decodes and encodes raw register values. Decoding is explicit byte shuffling, never a library's
/// "get float" helper, because those have had ordering bugs [docs/domain.md M3].
/// </summary>
public static class RegisterCodec
{
    public static int RegisterCount(SignalType type, int stringLength = 0) => type switch
    {
        SignalType.Int16 or SignalType.UInt16 or SignalType.Bit => 1,
        SignalType.Int32 or SignalType.UInt32 or SignalType.Float32 => 2,
        SignalType.Int64 or SignalType.Float64 => 4,
        SignalType.String => (stringLength + 1) / 2,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Puts the registers' bytes into big-endian (ABCD...) order.</summary>
    public static byte[] ToBigEndianBytes(ReadOnlySpan<ushort> registers, WordOrder order)
    {
        var wordSwap = order is WordOrder.CDAB or WordOrder.DCBA;
        var byteSwap = order is WordOrder.BADC or WordOrder.DCBA;
        var bytes = new byte[registers.Length * 2];
        for (var i = 0; i < registers.Length; i++)
        {
            var reg = registers[wordSwap ? registers.Length - 1 - i : i];
            bytes[i * 2] = (byte)(byteSwap ? reg & 0xFF : reg >> 8);
            bytes[(i * 2) + 1] = (byte)(byteSwap ? reg >> 8 : reg & 0xFF);
        }

        return bytes;
    }

    /// <summary>The inverse of <see cref="ToBigEndianBytes"/>.</summary>
    public static ushort[] FromBigEndianBytes(ReadOnlySpan<byte> bytes, WordOrder order)
    {
        var wordSwap = order is WordOrder.CDAB or WordOrder.DCBA;
        var byteSwap = order is WordOrder.BADC or WordOrder.DCBA;
        var count = bytes.Length / 2;
        var registers = new ushort[count];
        for (var i = 0; i < count; i++)
        {
            var hi = bytes[i * 2];
            var lo = bytes[(i * 2) + 1];
            var reg = byteSwap ? (ushort)((lo << 8) | hi) : (ushort)((hi << 8) | lo);
            registers[wordSwap ? count - 1 - i : i] = reg;
        }

        return registers;
    }

    /// <summary>Decodes a raw numeric value (before scale and offset).</summary>
    public static double Decode(ReadOnlySpan<ushort> registers, SignalType type, WordOrder order, int bitIndex = 0)
    {
        var needed = RegisterCount(type);
        if (registers.Length < needed)
        {
            throw new ArgumentException($"{type} needs {needed} registers, got {registers.Length}", nameof(registers));
        }

        var b = ToBigEndianBytes(registers[..needed], order);
        return type switch
        {
            SignalType.Int16 => BinaryPrimitives.ReadInt16BigEndian(b),
            SignalType.UInt16 => BinaryPrimitives.ReadUInt16BigEndian(b),
            SignalType.Int32 => BinaryPrimitives.ReadInt32BigEndian(b),
            SignalType.UInt32 => BinaryPrimitives.ReadUInt32BigEndian(b),
            SignalType.Int64 => BinaryPrimitives.ReadInt64BigEndian(b),
            SignalType.Float32 => BinaryPrimitives.ReadSingleBigEndian(b),
            SignalType.Float64 => BinaryPrimitives.ReadDoubleBigEndian(b),
            SignalType.Bit => (BinaryPrimitives.ReadUInt16BigEndian(b) >> bitIndex) & 1,
            _ => throw new ArgumentException($"{type} is not numeric", nameof(type)),
        };
    }

    /// <summary>Encodes a raw numeric value, rounding and saturating integers to their type's range.</summary>
    public static ushort[] Encode(double raw, SignalType type, WordOrder order)
    {
        var b = new byte[RegisterCount(type) * 2];
        switch (type)
        {
            case SignalType.Int16:
                BinaryPrimitives.WriteInt16BigEndian(b, (short)Math.Clamp(Math.Round(raw), short.MinValue, short.MaxValue));
                break;
            case SignalType.UInt16:
            case SignalType.Bit:
                BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)Math.Clamp(Math.Round(raw), 0, ushort.MaxValue));
                break;
            case SignalType.Int32:
                BinaryPrimitives.WriteInt32BigEndian(b, (int)Math.Clamp(Math.Round(raw), int.MinValue, int.MaxValue));
                break;
            case SignalType.UInt32:
                BinaryPrimitives.WriteUInt32BigEndian(b, (uint)Math.Clamp(Math.Round(raw), 0, uint.MaxValue));
                break;
            case SignalType.Int64:
                BinaryPrimitives.WriteInt64BigEndian(b, (long)Math.Clamp(Math.Round(raw), long.MinValue, long.MaxValue));
                break;
            case SignalType.Float32:
                BinaryPrimitives.WriteSingleBigEndian(b, (float)raw);
                break;
            case SignalType.Float64:
                BinaryPrimitives.WriteDoubleBigEndian(b, raw);
                break;
            default:
                throw new ArgumentException($"{type} is not numeric", nameof(type));
        }

        return FromBigEndianBytes(b, order);
    }

    public static string DecodeString(ReadOnlySpan<ushort> registers, WordOrder order)
    {
        // Strings keep register order; only the byte swap within a word applies.
        var bytes = ToBigEndianBytes(registers, order is WordOrder.BADC or WordOrder.DCBA ? WordOrder.BADC : WordOrder.ABCD);
        return Encoding.ASCII.GetString(bytes).TrimEnd('\0', ' ');
    }
}

/// <summary>One signal of a register map.</summary>
public sealed record SignalDefinition
{
    /// <summary>The field name on the wire and in InfluxDB: snake_case with a unit suffix.</summary>
    public required string Name { get; init; }

    public required Table Table { get; init; }

    /// <summary>Zero-based address on the wire (document register 40001 is address 0) [docs/domain.md M1].</summary>
    public required ushort Address { get; init; }

    public SignalType Type { get; init; } = SignalType.UInt16;

    public WordOrder Order { get; init; } = WordOrder.ABCD;

    /// <summary>Engineering value = raw × Scale + Offset.</summary>
    public double Scale { get; init; } = 1;

    public double Offset { get; init; }

    public string Unit { get; init; } = "";

    /// <summary>Changes smaller than this are not republished (until the heartbeat interval passes).</summary>
    public double Deadband { get; init; }

    /// <summary>For <see cref="SignalType.Bit"/> in a register: which bit (0 = least significant).</summary>
    public int BitIndex { get; init; }

    /// <summary>For <see cref="SignalType.String"/>: length in characters.</summary>
    public int Length { get; init; }

    /// <summary>Raw values that mean "sensor break" or "no value" on this device; decoded as bad quality.</summary>
    public IReadOnlyList<double> BadValues { get; init; } = [];

    /// <summary>Set when the cloud may write this point (a coil or holding register); null for a read-only signal.</summary>
    public WriteLimits? Write { get; init; }

    public bool IsBitTable => Table is Table.Coil or Table.DiscreteInput;

    public int Count => IsBitTable ? 1 : RegisterCount;

    public int RegisterCount => RegisterCodec.RegisterCount(Type, Length);

    public double ToEngineering(double raw) => (raw * Scale) + Offset;

    public double ToRaw(double engineering) => (engineering - Offset) / Scale;
}

/// <summary>
/// What a cloud command may do to a writable point: engineering values within <see cref="Min"/>..<see cref="Max"/>,
/// at most one change per <see cref="MinInterval"/>, a non-zero value for at most <see cref="MaxRun"/> (then the
/// gateway writes 0 itself), the value read back after each write to prove the device took it, and no write at all
/// while the device's <see cref="Lock"/> signal reads non-zero (a hand switch at the site wins over the cloud).
/// </summary>
public sealed record WriteLimits(double Min, double Max, TimeSpan MinInterval, TimeSpan? MaxRun, bool ReadBack, string? Lock);
