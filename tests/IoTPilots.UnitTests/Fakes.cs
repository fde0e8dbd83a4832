using IoTPilots.Edge.Modbus;

namespace IoTPilots.UnitTests;

/// <summary>An in-memory bus: units are <see cref="ModbusSlave"/>s; a unit missing from the map never answers.</summary>
public sealed class SlaveTransport : IModbusTransport
{
    public Dictionary<byte, ModbusSlave> Units { get; } = [];

    public int Requests { get; private set; }

    public string Endpoint => "memory://bus";

    public Task<byte[]> SendAsync(byte unitId, byte[] requestPdu, CancellationToken cancellationToken)
    {
        Requests++;
        return Units.TryGetValue(unitId, out var slave)
            ? Task.FromResult(slave.Handle(requestPdu))
            : Task.FromException<byte[]>(new ModbusTimeoutException($"unit {unitId} did not answer"));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
