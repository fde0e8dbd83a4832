using IoTPilots.Devices;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Serial;

namespace IoTPilots.Testing;

/// <summary>For tests that use Modbus TCP only: any attempt to open a serial port is a test bug.</summary>
public sealed class NoSerialPorts : ISerialPorts
{
    public ISerialLine Open(SerialSettings settings) => throw new NotSupportedException("no serial ports in this test");
}
