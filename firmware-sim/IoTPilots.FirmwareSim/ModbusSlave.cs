using System.Buffers.Binary;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// The data model of one Modbus unit (server side): four tables of 65,536 items each, and the request handler
/// that turns a request PDU into a response PDU. Used by the simulators and by tests. Thread-safe.
/// </summary>
public sealed class ModbusSlave
{
    private readonly ushort[] _holding = new ushort[65536];
    private readonly ushort[] _input = new ushort[65536];
    private readonly bool[] _coils = new bool[65536];
    private readonly bool[] _discrete = new bool[65536];
    private readonly Lock _gate = new();

    /// <summary>Highest register address (exclusive) that answers; beyond it the unit returns exception 2.</summary>
    public int RegisterLimit { get; init; } = 65536;

    public void SetRegisters(Table table, ushort address, ReadOnlySpan<ushort> values)
    {
        lock (_gate)
        {
            values.CopyTo(Registers(table).AsSpan(address));
        }
    }

    public ushort[] GetRegisters(Table table, ushort address, int count)
    {
        lock (_gate)
        {
            return Registers(table).AsSpan(address, count).ToArray();
        }
    }

    public void SetBit(Table table, ushort address, bool value)
    {
        lock (_gate)
        {
            Bits(table)[address] = value;
        }
    }

    public bool GetBit(Table table, ushort address)
    {
        lock (_gate)
        {
            return Bits(table)[address];
        }
    }

    /// <summary>Serves one request PDU; always returns a response PDU (an exception response on error).</summary>
    public byte[] Handle(ReadOnlySpan<byte> request)
    {
        if (request.Length == 0)
        {
            return [0x80, (byte)ExceptionCode.IllegalFunction];
        }

        var function = (FunctionCode)request[0];
        var expected = Pdu.ExpectedRequestLength(request);
        if (expected == 0)
        {
            return Exception(function, ExceptionCode.IllegalFunction);
        }

        if (expected < 0 || request.Length != expected)
        {
            return Exception(function, ExceptionCode.IllegalDataValue);
        }

        var address = BinaryPrimitives.ReadUInt16BigEndian(request[1..]);
        var quantity = BinaryPrimitives.ReadUInt16BigEndian(request[3..]);
        byte[] response;
        lock (_gate)
        {
            switch (function)
            {
                case FunctionCode.ReadCoils:
                case FunctionCode.ReadDiscreteInputs:
                {
                    if (quantity < 1 || quantity > Pdu.MaxReadBits)
                    {
                        return Exception(function, ExceptionCode.IllegalDataValue);
                    }

                    if (address + quantity > 65536)
                    {
                        return Exception(function, ExceptionCode.IllegalDataAddress);
                    }

                    var bits = function == FunctionCode.ReadCoils ? _coils : _discrete;
                    var byteCount = (quantity + 7) / 8;
                    response = new byte[2 + byteCount];
                    response[0] = (byte)function;
                    response[1] = (byte)byteCount;
                    Pdu.PackBits(bits.AsSpan(address, quantity), response.AsSpan(2));
                    break;
                }

                case FunctionCode.ReadHoldingRegisters:
                case FunctionCode.ReadInputRegisters:
                {
                    if (quantity < 1 || quantity > Pdu.MaxReadRegisters)
                    {
                        return Exception(function, ExceptionCode.IllegalDataValue);
                    }

                    if (address + quantity > RegisterLimit)
                    {
                        return Exception(function, ExceptionCode.IllegalDataAddress);
                    }

                    var registers = function == FunctionCode.ReadHoldingRegisters ? _holding : _input;
                    response = new byte[2 + (quantity * 2)];
                    response[0] = (byte)function;
                    response[1] = (byte)(quantity * 2);
                    for (var i = 0; i < quantity; i++)
                    {
                        BinaryPrimitives.WriteUInt16BigEndian(response.AsSpan(2 + (i * 2)), registers[address + i]);
                    }

                    break;
                }

                case FunctionCode.WriteSingleCoil:
                    if (quantity is not (0xFF00 or 0x0000))
                    {
                        return Exception(function, ExceptionCode.IllegalDataValue);
                    }

                    _coils[address] = quantity == 0xFF00;
                    response = request.ToArray();
                    break;

                case FunctionCode.WriteSingleRegister:
                    if (address >= RegisterLimit)
                    {
                        return Exception(function, ExceptionCode.IllegalDataAddress);
                    }

                    _holding[address] = quantity;
                    response = request.ToArray();
                    break;

                case FunctionCode.WriteMultipleCoils:
                    if (quantity < 1 || quantity > Pdu.MaxWriteBits || request[5] != (quantity + 7) / 8)
                    {
                        return Exception(function, ExceptionCode.IllegalDataValue);
                    }

                    if (address + quantity > 65536)
                    {
                        return Exception(function, ExceptionCode.IllegalDataAddress);
                    }

                    for (var i = 0; i < quantity; i++)
                    {
                        _coils[address + i] = (request[6 + (i / 8)] & (1 << (i % 8))) != 0;
                    }
                    response = request[..5].ToArray();
                    break;

                case FunctionCode.WriteMultipleRegisters:
                    if (quantity < 1 || quantity > Pdu.MaxWriteRegisters || request[5] != quantity * 2)
                    {
                        return Exception(function, ExceptionCode.IllegalDataValue);
                    }

                    if (address + quantity > RegisterLimit)
                    {
                        return Exception(function, ExceptionCode.IllegalDataAddress);
                    }

                    for (var i = 0; i < quantity; i++)
                    {
                        _holding[address + i] = BinaryPrimitives.ReadUInt16BigEndian(request[(6 + (i * 2))..]);
                    }
                    response = request[..5].ToArray();
                    break;

                default:
                    return Exception(function, ExceptionCode.IllegalFunction);
            }
        }

        return response;
    }

    private static byte[] Exception(FunctionCode function, ExceptionCode code) => [(byte)((byte)function | 0x80), (byte)code];

    private ushort[] Registers(Table table) => table switch
    {
        Table.HoldingRegister => _holding,
        Table.InputRegister => _input,
        _ => throw new ArgumentException($"{table} holds bits", nameof(table)),
    };

    private bool[] Bits(Table table) => table switch
    {
        Table.Coil => _coils,
        Table.DiscreteInput => _discrete,
        _ => throw new ArgumentException($"{table} holds registers", nameof(table)),
    };
}
