using IoTPilots.Devices;
using IoTPilots.Edge.Serial;

namespace IoTPilots.Edge.Polling;

/// <summary>
/// Real serial ports (USB RS-485 adapters, the Pi's UART) through <see cref="SerialPortLine"/>, each behind a
/// <see cref="ReopeningSerialLine"/>: a missing or unplugged adapter fails the devices behind it, never the
/// agent, and is found again when it comes back.
/// </summary>
public sealed class SystemSerialPorts : ISerialPorts
{
    public ISerialLine Open(SerialSettings settings)
    {
        var parity = settings.Parity switch { 'E' => Parity.Even, 'O' => Parity.Odd, _ => Parity.None };
        var stopBits = settings.StopBits == 2 ? StopBits.Two : StopBits.One;
        return new ReopeningSerialLine(
            settings.Path,
            settings.Baud,
            SerialFraming.BitsPerCharacter(settings.DataBits, parity, stopBits),
            () => new SerialPortLine(settings.Path, settings.Baud, parity, settings.DataBits, stopBits));
    }
}
