using System.Buffers.Binary;

namespace IoTPilots.Edge.Modbus;

/// <summary>
/// The MBAP header of Modbus TCP (Modbus Messaging on TCP/IP Implementation Guide v1.0b, section 3.1.3):
/// transaction id, protocol id 0, length of what follows (unit id + PDU), unit id.
/// </summary>
public static class Mbap
{
    public const int HeaderLength = 7;

    /// <summary>Largest PDU: 253 bytes (the RTU ADU limit of 256 less address and CRC).</summary>
    public const int MaxPduLength = 253;

    public static byte[] Frame(ushort transactionId, byte unitId, ReadOnlySpan<byte> pdu)
    {
        var frame = new byte[HeaderLength + pdu.Length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, transactionId);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), 0);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(4), (ushort)(pdu.Length + 1));
        frame[6] = unitId;
        pdu.CopyTo(frame.AsSpan(HeaderLength));
        return frame;
    }

    /// <summary>Parses a header and returns how many PDU bytes follow it.</summary>
    public static (ushort TransactionId, byte UnitId, int PduLength) ParseHeader(ReadOnlySpan<byte> header)
    {
        var transactionId = BinaryPrimitives.ReadUInt16BigEndian(header);
        var protocolId = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
        var length = BinaryPrimitives.ReadUInt16BigEndian(header[4..]);
        if (protocolId != 0)
        {
            throw new ModbusFrameException($"MBAP protocol id is {protocolId}, expected 0 (Modbus)");
        }

        if (length < 2 || length - 1 > MaxPduLength)
        {
            throw new ModbusFrameException($"MBAP length {length} is outside 2..{MaxPduLength + 1}");
        }

        return (transactionId, header[6], length - 1);
    }
}
