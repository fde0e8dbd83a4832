using IoTPilots.Edge.Devices;
using IoTPilots.Edge.Serial;

namespace IoTPilots.Edge.Polling;

/// <summary>Opens real serial ports (USB RS-485 adapters, the Pi's UART) through <see cref="SerialPortLine"/>.</summary>
public sealed class SystemSerialPorts : ISerialPorts
{
    public ISerialLine Open(SerialSettings settings) => new SerialPortLine(
        settings.Path,
        settings.Baud,
        settings.Parity switch { 'E' => Parity.Even, 'O' => Parity.Odd, _ => Parity.None },
        settings.DataBits,
        settings.StopBits == 2 ? StopBits.Two : StopBits.One);
}
