namespace IoTPilots.Edge.Modbus;

/// <summary>
/// Modbus RTU framing (Modbus over Serial Line v1.02, section 2.5): address, PDU, CRC-16 low byte first;
/// frames are separated by at least 3.5 character times of silence, fixed at 1.75 ms above 19200 baud. Pure.
/// </summary>
public static class Rtu
{
    /// <summary>Largest RTU frame: 256 bytes (spec 2.5.1.1).</summary>
    public const int MaxFrameLength = 256;

    /// <summary>CRC-16/MODBUS: reflected polynomial 0xA001, initial value 0xFFFF (spec 6.2.2).</summary>
    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        ushort crc = 0xFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? (ushort)((crc >> 1) ^ 0xA001) : (ushort)(crc >> 1);
            }
        }

        return crc;
    }

    public static byte[] Frame(byte unitId, ReadOnlySpan<byte> pdu)
    {
        var frame = new byte[pdu.Length + 3];
        frame[0] = unitId;
        pdu.CopyTo(frame.AsSpan(1));
        var crc = Crc16(frame.AsSpan(0, pdu.Length + 1));
        frame[^2] = (byte)(crc & 0xFF);
        frame[^1] = (byte)(crc >> 8);
        return frame;
    }

    /// <summary>Checks length and CRC and returns the unit id and PDU; throws <see cref="ModbusFrameException"/>.</summary>
    public static (byte UnitId, byte[] Pdu) Parse(ReadOnlySpan<byte> frame, string source)
    {
        if (frame.Length < 4)
        {
            throw new ModbusFrameException($"{source}: truncated RTU frame of {frame.Length} bytes ({Convert.ToHexString(frame)})");
        }

        var expected = Crc16(frame[..^2]);
        var actual = (ushort)(frame[^2] | (frame[^1] << 8));
        if (expected != actual)
        {
            throw new ModbusFrameException($"{source}: CRC mismatch in frame from unit {frame[0]}: got 0x{actual:X4}, computed 0x{expected:X4}");
        }

        return (frame[0], frame[1..^2].ToArray());
    }

    /// <summary>The inter-frame silence t3.5 (spec 2.5.1.1): 3.5 characters, fixed 1.75 ms above 19200 baud.</summary>
    public static TimeSpan FrameSilence(int baudRate, int bitsPerCharacter) =>
        baudRate > 19200 ? TimeSpan.FromMicroseconds(1750) : TimeSpan.FromSeconds(3.5 * bitsPerCharacter / baudRate);
}
