using System.Device.Gpio;

namespace IoTPilots.Edge.Gpio;

/// <summary>
/// A debounced digital input, such as an aerator's auxiliary contact: reads the pin, applies active-low
/// inversion, debounces, and counts accepted transitions. <see cref="Activations"/> (inactive to active) counts
/// run cycles.
/// </summary>
public sealed class DigitalInput
{
    private readonly IPinReader _pin;
    private readonly Debouncer _debouncer;

    /// <param name="activeLow">
    /// True when the input is active at the low level, e.g. a contact that closes to ground against a pull-up.
    /// </param>
    public DigitalInput(IPinReader pin, TimeProvider timeProvider, bool activeLow = false, TimeSpan? debounceTime = null)
    {
        ArgumentNullException.ThrowIfNull(pin);
        _pin = pin;
        _debouncer = new Debouncer(timeProvider, debounceTime);
        ActiveLow = activeLow;
    }

    public bool ActiveLow { get; }

    /// <summary>The debounced state, after inversion; false before the first successful read.</summary>
    public bool IsActive => _debouncer.State;

    /// <summary>Accepted changes in either direction since construction.</summary>
    public long Transitions { get; private set; }

    /// <summary>Accepted changes from inactive to active: the number of times the equipment started.</summary>
    public long Activations { get; private set; }

    /// <summary>
    /// Samples the pin once and returns the debounced state. Call it periodically, several times per debounce time.
    /// Returns false only when the pin cannot be read.
    /// </summary>
    public bool TryRead(out bool active, out ReadFailure<DigitalInputError> failure)
    {
        PinValue value;
        try
        {
            value = _pin.Read();
        }
        catch (IOException ex)
        {
            active = false;
            failure = new ReadFailure<DigitalInputError>(DigitalInputError.BusError, $"reading the pin failed: {ex.Message}");
            return false;
        }

        var level = value == PinValue.High;
        if (_debouncer.Update(level != ActiveLow))
        {
            Transitions++;
            if (_debouncer.State)
            {
                Activations++;
            }
        }

        active = _debouncer.State;
        failure = default;
        return true;
    }
}

/// <summary>Why a digital input read failed.</summary>
public enum DigitalInputError
{
    None,

    /// <summary>The GPIO driver could not read the pin.</summary>
    BusError,
}
