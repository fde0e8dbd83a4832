using System.Device.Gpio;
using System.Device.I2c;
using System.Device.Spi;
using IoTPilots.Devices;
using IoTPilots.Edge.Gpio;

namespace IoTPilots.Edge.Polling;

/// <summary>
/// Read functions for the GPIO-bus drivers. Buses are opened on first use, inside the read, so a gateway
/// without that bus reports comm-failure for the device instead of failing to start.
/// </summary>
internal static class GpioPollers
{
    public static (IReadOnlyList<(string, string)> Fields, Func<CancellationToken, Task<SensorSample>> Read) Ds18b20(DeviceConfig d)
    {
        var field = d.Field ?? "temp_c";
        var sensor = new Ds18b20(d.W1Directory, d.Address);
        return ([(field, "degC")], _ => Task.Run(() =>
            sensor.TryReadTemperature(out var celsius, out var failure)
                ? new SensorSample([(field, celsius, "degC")])
                : failure.Reason is Ds18b20Error.NotFound or Ds18b20Error.IoError
                    ? SensorSample.NoAnswer(failure.ToString())
                    : SensorSample.Fault(failure.ToString())));
    }

    public static (IReadOnlyList<(string, string)> Fields, Func<CancellationToken, Task<SensorSample>> Read) Bme280(DeviceConfig d)
    {
        I2cAddress.TryParse(d.Address, out var address);
        Bme280? sensor = null;
        return ([("temp_c", "degC"), ("pressure_pa", "Pa"), ("humidity_pct", "%")], _ => Task.Run(() =>
        {
            sensor ??= new Bme280(I2cDevice.Create(new I2cConnectionSettings(address.Bus, address.Address)));
            if (sensor.TryRead(out var r, out var failure))
            {
                return new SensorSample([("temp_c", r.TemperatureCelsius, "degC"), ("pressure_pa", r.PressurePascals, "Pa"), ("humidity_pct", r.HumidityPercent, "%")]);
            }

            return failure.Reason is Bme280Error.BusError or Bme280Error.MeasurementTimeout
                ? SensorSample.NoAnswer(failure.ToString())
                : SensorSample.Fault(failure.ToString());
        }));
    }

    public static (IReadOnlyList<(string, string)> Fields, Func<CancellationToken, Task<SensorSample>> Read) Max31855(DeviceConfig d)
    {
        SpiAddress.TryParse(d.Address, out var address);
        var field = d.Field ?? "temp_c";
        Max31855? sensor = null;
        return ([(field, "degC"), ("cj_temp_c", "degC")], _ => Task.Run(() =>
        {
            sensor ??= new Max31855(SpiDevice.Create(new SpiConnectionSettings(address.Bus, address.ChipSelect)
            {
                Mode = Gpio.Max31855.RequiredMode,
                ClockFrequency = Gpio.Max31855.MaxClockFrequency,
            }));
            if (sensor.TryRead(out var r, out var failure))
            {
                return new SensorSample([(field, r.ThermocoupleCelsius, "degC"), ("cj_temp_c", r.InternalCelsius, "degC")]);
            }

            // Open circuit and shorts are the thermocouple's faults (quality bad); a dead bus is no answer.
            return failure.Reason.HasFlag(Max31855Error.BusError)
                ? SensorSample.NoAnswer(failure.ToString())
                : SensorSample.Fault(failure.ToString());
        }));
    }

    /// <summary>
    /// A debounced contact: sampled every 10 ms by a background loop (a poll interval is far too slow to
    /// debounce), reported at each poll as its state and its count of activations (run cycles).
    /// </summary>
    public static (IReadOnlyList<(string, string)> Fields, Func<CancellationToken, Task<SensorSample>> Read) DigitalInput(DeviceConfig d, TimeProvider time)
    {
        var field = d.Field ?? "state";
        var pin = int.Parse(d.Address, System.Globalization.CultureInfo.InvariantCulture);
        DigitalInput? input = null;
        string? lastError = null;
        Task? sampler = null;
        return ([(field, "bool"), (field + "_starts", "count")], cancellationToken =>
        {
            sampler ??= Task.Run(
                async () =>
                {
                    try
                    {
                        using var controller = new GpioController();
                        using var reader = new GpioPinReader(controller, pin);
                        input = new DigitalInput(reader, time, d.ActiveLow, d.Debounce);
                        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10), time);
                        do
                        {
                            lastError = input.TryRead(out _, out var failure) ? null : failure.ToString();
                        }
                        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
                    }
                    catch (OperationCanceledException)
                    {
                    }
                    catch (Exception ex)
                    {
                        lastError = $"GPIO line {pin}: {ex.Message}";
                    }
                },
                cancellationToken);
            if (sampler.IsCompleted && lastError is null)
            {
                lastError = $"GPIO line {pin}: sampling stopped";
            }

            return Task.FromResult(input is not null && lastError is null
                ? new SensorSample([(field, input.IsActive ? 1 : 0, "bool"), (field + "_starts", input.Activations, "count")])
                : SensorSample.NoAnswer(lastError ?? $"GPIO line {pin}: not sampled yet"));
        });
    }
}
