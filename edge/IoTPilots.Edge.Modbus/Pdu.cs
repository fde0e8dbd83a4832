using System.Buffers.Binary;

namespace IoTPilots.Edge.Modbus;

/// <summary>
/// Builds request PDUs and parses response PDUs (function code + data, no address or checksum), as laid out
/// in the Modbus Application Protocol v1.1b3 section 6. Pure: no I/O.
/// </summary>
public static class Pdu
{
    /// <summary>Most registers one FC3/FC4 request may read (spec 6.3: 1 to 125).</summary>
    public const int MaxReadRegisters = 125;

    /// <summary>Most bits one FC1/FC2 request may read (spec 6.1: 1 to 2000).</summary>
    public const int MaxReadBits = 2000;

    /// <summary>Most registers one FC16 request may write (spec 6.12: 1 to 123).</summary>
    public const int MaxWriteRegisters = 123;

    /// <summary>Most coils one FC15 request may write (spec 6.11: 1 to 1968).</summary>
    public const int MaxWriteBits = 1968;

    public static byte[] ReadRequest(FunctionCode function, ushort address, ushort count)
    {
        var max = function is FunctionCode.ReadCoils or FunctionCode.ReadDiscreteInputs ? MaxReadBits : MaxReadRegisters;
        if (function is not (FunctionCode.ReadCoils or FunctionCode.ReadDiscreteInputs or FunctionCode.ReadHoldingRegisters or FunctionCode.ReadInputRegisters))
        {
            throw new ArgumentException($"{function} is not a read function", nameof(function));
        }

        if (count < 1 || count > max)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"{function} reads 1 to {max} items");
        }

        var pdu = new byte[5];
        pdu[0] = (byte)function;
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(1), address);
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(3), count);
        return pdu;
    }

    public static byte[] WriteSingleCoilRequest(ushort address, bool value)
    {
        var pdu = new byte[5];
        pdu[0] = (byte)FunctionCode.WriteSingleCoil;
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(1), address);
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(3), value ? (ushort)0xFF00 : (ushort)0x0000);
        return pdu;
    }

    public static byte[] WriteSingleRegisterRequest(ushort address, ushort value)
    {
        var pdu = new byte[5];
        pdu[0] = (byte)FunctionCode.WriteSingleRegister;
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(1), address);
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(3), value);
        return pdu;
    }

    public static byte[] WriteMultipleRegistersRequest(ushort address, ReadOnlySpan<ushort> values)
    {
        if (values.Length < 1 || values.Length > MaxWriteRegisters)
        {
            throw new ArgumentOutOfRangeException(nameof(values), values.Length, $"FC16 writes 1 to {MaxWriteRegisters} registers");
        }

        var pdu = new byte[6 + (values.Length * 2)];
        pdu[0] = (byte)FunctionCode.WriteMultipleRegisters;
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(1), address);
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(3), (ushort)values.Length);
        pdu[5] = (byte)(values.Length * 2);
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(6 + (i * 2)), values[i]);
        }

        return pdu;
    }

    public static byte[] WriteMultipleCoilsRequest(ushort address, ReadOnlySpan<bool> values)
    {
        if (values.Length < 1 || values.Length > MaxWriteBits)
        {
            throw new ArgumentOutOfRangeException(nameof(values), values.Length, $"FC15 writes 1 to {MaxWriteBits} coils");
        }

        var byteCount = (values.Length + 7) / 8;
        var pdu = new byte[6 + byteCount];
        pdu[0] = (byte)FunctionCode.WriteMultipleCoils;
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(1), address);
        BinaryPrimitives.WriteUInt16BigEndian(pdu.AsSpan(3), (ushort)values.Length);
        pdu[5] = (byte)byteCount;
        PackBits(values, pdu.AsSpan(6));
        return pdu;
    }

    /// <summary>
    /// Throws <see cref="ModbusExceptionResponse"/> when <paramref name="response"/> is an exception response
    /// to <paramref name="function"/>, and <see cref="ModbusFrameException"/> when it answers another function.
    /// </summary>
    public static void CheckResponse(byte unitId, FunctionCode function, ReadOnlySpan<byte> response)
    {
        if (response.Length == 0)
        {
            throw new ModbusFrameException($"unit {unitId}: empty response to {function}");
        }

        if (response[0] == ((byte)function | 0x80))
        {
            if (response.Length < 2)
            {
                throw new ModbusFrameException($"unit {unitId}: truncated exception response to {function}");
            }

            throw new ModbusExceptionResponse(unitId, function, (ExceptionCode)response[1]);
        }

        if (response[0] != (byte)function)
        {
            throw new ModbusFrameException($"unit {unitId}: response has function code {response[0]}, expected {(byte)function}");
        }
    }

    public static ushort[] ParseRegisters(byte unitId, FunctionCode function, ReadOnlySpan<byte> response, int expectedCount)
    {
        CheckResponse(unitId, function, response);
        if (response.Length < 2 || response[1] != expectedCount * 2 || response.Length != 2 + (expectedCount * 2))
        {
            throw new ModbusFrameException($"unit {unitId}: {function} response carries {(response.Length < 2 ? 0 : response[1])} data bytes in a {response.Length}-byte PDU, expected {expectedCount * 2}");
        }

        var registers = new ushort[expectedCount];
        for (var i = 0; i < expectedCount; i++)
        {
            registers[i] = BinaryPrimitives.ReadUInt16BigEndian(response.Slice(2 + (i * 2)));
        }

        return registers;
    }

    public static bool[] ParseBits(byte unitId, FunctionCode function, ReadOnlySpan<byte> response, int expectedCount)
    {
        CheckResponse(unitId, function, response);
        var byteCount = (expectedCount + 7) / 8;
        if (response.Length < 2 || response[1] != byteCount || response.Length != 2 + byteCount)
        {
            throw new ModbusFrameException($"unit {unitId}: {function} response carries {(response.Length < 2 ? 0 : response[1])} data bytes, expected {byteCount}");
        }

        var bits = new bool[expectedCount];
        for (var i = 0; i < expectedCount; i++)
        {
            bits[i] = (response[2 + (i / 8)] & (1 << (i % 8))) != 0;
        }

        return bits;
    }

    /// <summary>Checks a write response echoes the request (FC5/6 echo all, FC15/16 echo address and count).</summary>
    public static void CheckWriteEcho(byte unitId, ReadOnlySpan<byte> request, ReadOnlySpan<byte> response)
    {
        var function = (FunctionCode)request[0];
        CheckResponse(unitId, function, response);
        if (response.Length != 5 || !response[..5].SequenceEqual(request[..5]))
        {
            throw new ModbusFrameException($"unit {unitId}: {function} response does not echo the request");
        }
    }

    /// <summary>Packs bits LSB-first into bytes, as FC1/FC2 responses and FC15 requests carry them.</summary>
    public static void PackBits(ReadOnlySpan<bool> bits, Span<byte> destination)
    {
        destination[..((bits.Length + 7) / 8)].Clear();
        for (var i = 0; i < bits.Length; i++)
        {
            if (bits[i])
            {
                destination[i / 8] |= (byte)(1 << (i % 8));
            }
        }
    }

    /// <summary>
    /// Length of a response PDU, once its first bytes are known, or -1 if more bytes are needed. RTU has no
    /// length field, so the reader uses this to know when a frame is complete without waiting out the silence.
    /// </summary>
    public static int ExpectedResponseLength(ReadOnlySpan<byte> head)
    {
        if (head.Length < 1)
        {
            return -1;
        }

        if ((head[0] & 0x80) != 0)
        {
            return 2;
        }

        switch ((FunctionCode)head[0])
        {
            case FunctionCode.ReadCoils:
            case FunctionCode.ReadDiscreteInputs:
            case FunctionCode.ReadHoldingRegisters:
            case FunctionCode.ReadInputRegisters:
                return head.Length < 2 ? -1 : 2 + head[1];
            case FunctionCode.WriteSingleCoil:
            case FunctionCode.WriteSingleRegister:
            case FunctionCode.WriteMultipleCoils:
            case FunctionCode.WriteMultipleRegisters:
                return 5;
            default:
                return 0;
        }
    }

    /// <summary>Length of a request PDU, or -1 if more bytes are needed (the server side of RTU framing).</summary>
    public static int ExpectedRequestLength(ReadOnlySpan<byte> head)
    {
        if (head.Length < 1)
        {
            return -1;
        }

        switch ((FunctionCode)head[0])
        {
            case FunctionCode.ReadCoils:
            case FunctionCode.ReadDiscreteInputs:
            case FunctionCode.ReadHoldingRegisters:
            case FunctionCode.ReadInputRegisters:
            case FunctionCode.WriteSingleCoil:
            case FunctionCode.WriteSingleRegister:
                return 5;
            case FunctionCode.WriteMultipleCoils:
            case FunctionCode.WriteMultipleRegisters:
                return head.Length < 6 ? -1 : 6 + head[5];
            default:
                return 0;
        }
    }
}
