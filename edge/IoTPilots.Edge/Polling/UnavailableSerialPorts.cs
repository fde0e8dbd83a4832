using IoTPilots.Edge.Devices;
using IoTPilots.Edge.Serial;

namespace IoTPilots.Edge.Polling;

/// <summary>Placeholder until the System.IO.Ports adapter is wired in.</summary>
internal sealed class UnavailableSerialPorts : ISerialPorts
{
    public ISerialLine Open(SerialSettings settings) => throw new NotSupportedException($"serial lines are not wired yet ({settings.Path})");
}
