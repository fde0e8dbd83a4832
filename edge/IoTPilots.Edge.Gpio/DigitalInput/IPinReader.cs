using System.Device.Gpio;

namespace IoTPilots.Edge.Gpio;

/// <summary>The one thing <see cref="DigitalInput"/> needs from a GPIO pin: its current level.</summary>
public interface IPinReader
{
    PinValue Read();
}

/// <summary>
/// An <see cref="IPinReader"/> over a pin opened on a <see cref="GpioController"/> (libgpiod or sysfs on Linux).
/// Disposing closes the pin; the caller owns the controller.
/// </summary>
public sealed class GpioPinReader : IPinReader, IDisposable
{
    private readonly GpioPin _pin;

    /// <param name="mode">
    /// <see cref="PinMode.InputPullUp"/> for a dry contact to ground (then read it active-low), <see cref="PinMode.Input"/>
    /// when the circuit drives the level itself (an optocoupler board with its own pull resistor).
    /// </param>
    public GpioPinReader(GpioController controller, int pinNumber, PinMode mode = PinMode.Input)
    {
        ArgumentNullException.ThrowIfNull(controller);
        _pin = controller.OpenPin(pinNumber, mode);
    }

    public PinValue Read() => _pin.Read();

    public void Dispose() => _pin.Dispose();
}
