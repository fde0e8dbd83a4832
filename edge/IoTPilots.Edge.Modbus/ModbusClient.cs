using IoTPilots.Devices;

namespace IoTPilots.Edge.Modbus;

/// <summary>Modbus master: typed calls for each public function code, over any <see cref="IModbusTransport"/>.</summary>
public sealed class ModbusClient(IModbusTransport transport)
{
    public IModbusTransport Transport { get; } = transport;

    public async Task<ushort[]> ReadRegistersAsync(byte unitId, Table table, ushort address, ushort count, CancellationToken cancellationToken = default)
    {
        var function = table switch
        {
            Table.HoldingRegister => FunctionCode.ReadHoldingRegisters,
            Table.InputRegister => FunctionCode.ReadInputRegisters,
            _ => throw new ArgumentException($"{table} holds bits, not registers", nameof(table)),
        };
        var response = await Transport.SendAsync(unitId, Pdu.ReadRequest(function, address, count), cancellationToken).ConfigureAwait(false);
        return Pdu.ParseRegisters(unitId, function, response, count);
    }

    public async Task<bool[]> ReadBitsAsync(byte unitId, Table table, ushort address, ushort count, CancellationToken cancellationToken = default)
    {
        var function = table switch
        {
            Table.Coil => FunctionCode.ReadCoils,
            Table.DiscreteInput => FunctionCode.ReadDiscreteInputs,
            _ => throw new ArgumentException($"{table} holds registers, not bits", nameof(table)),
        };
        var response = await Transport.SendAsync(unitId, Pdu.ReadRequest(function, address, count), cancellationToken).ConfigureAwait(false);
        return Pdu.ParseBits(unitId, function, response, count);
    }

    public Task<ushort[]> ReadHoldingRegistersAsync(byte unitId, ushort address, ushort count, CancellationToken cancellationToken = default) =>
        ReadRegistersAsync(unitId, Table.HoldingRegister, address, count, cancellationToken);

    public Task<ushort[]> ReadInputRegistersAsync(byte unitId, ushort address, ushort count, CancellationToken cancellationToken = default) =>
        ReadRegistersAsync(unitId, Table.InputRegister, address, count, cancellationToken);

    public Task WriteSingleRegisterAsync(byte unitId, ushort address, ushort value, CancellationToken cancellationToken = default) =>
        WriteAsync(unitId, Pdu.WriteSingleRegisterRequest(address, value), cancellationToken);

    public Task WriteMultipleRegistersAsync(byte unitId, ushort address, ushort[] values, CancellationToken cancellationToken = default) =>
        WriteAsync(unitId, Pdu.WriteMultipleRegistersRequest(address, values), cancellationToken);

    public Task WriteSingleCoilAsync(byte unitId, ushort address, bool value, CancellationToken cancellationToken = default) =>
        WriteAsync(unitId, Pdu.WriteSingleCoilRequest(address, value), cancellationToken);

    public Task WriteMultipleCoilsAsync(byte unitId, ushort address, bool[] values, CancellationToken cancellationToken = default) =>
        WriteAsync(unitId, Pdu.WriteMultipleCoilsRequest(address, values), cancellationToken);

    private async Task WriteAsync(byte unitId, byte[] request, CancellationToken cancellationToken)
    {
        var response = await Transport.SendAsync(unitId, request, cancellationToken).ConfigureAwait(false);
        Pdu.CheckWriteEcho(unitId, request, response);
    }
}
