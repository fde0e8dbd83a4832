using IoTPilots.Contract;
using IoTPilots.Devices;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Polling;

/// <summary>What one read of a non-Modbus sensor gave: values when it answered, or a failure and its kind.</summary>
/// <param name="Values">Field, value and unit of each signal; empty on failure.</param>
/// <param name="Failure">Null on success; otherwise why, for the log.</param>
/// <param name="DeviceAnswered">True when the sensor answered but flagged its value (quality bad), false
/// when it did not answer at all (quality comm-failure).</param>
/// <param name="SampledAt">When the value was measured, if the driver knows better than the poll's start
/// (a continuous-mode probe's last line).</param>
public sealed record SensorSample(IReadOnlyList<(string Field, double Value, string Unit)> Values, string? Failure = null, bool DeviceAnswered = false, DateTimeOffset? SampledAt = null)
{
    public static SensorSample Fault(string failure) => new([], failure, DeviceAnswered: true);

    public static SensorSample NoAnswer(string failure) => new([], failure);
}

/// <summary>
/// Polls a sensor driver (GPIO bus, serial probe) through a read function. Stamps readings when the read
/// started; a failed read yields bad or comm-failure readings for every field the device declares, with no
/// value; an offline device is backed off like a Modbus one. Blocking driver calls run off the poll loop's thread.
/// </summary>
public sealed class SensorPoller(
    DeviceConfig device,
    IReadOnlyList<(string Field, string Unit)> fields,
    Func<CancellationToken, Task<SensorSample>> read,
    TimeProvider time,
    ILogger logger) : IDevicePoller
{
    private readonly DeviceHealth _health = new(device.Id, device.Address, device.OfflineAfter, device.PollInterval, time, logger);

    public DeviceConfig Device { get; } = device;

    public bool Online => _health.Online;

    public IReadOnlyList<(string Field, string Unit)> Fields => fields;

    public async Task<IReadOnlyList<Reading>> PollAsync(CancellationToken cancellationToken)
    {
        var at = time.GetUtcNow();
        if (_health.BackingOff)
        {
            return Empty(at, Quality.CommFailure);
        }

        SensorSample sample;
        try
        {
            sample = await read(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Opening a bus that is not there (no /dev/i2c-1 on this machine) is a failure to answer, not a crash.
            sample = SensorSample.NoAnswer(ex.Message);
        }

        if (sample.Failure is null)
        {
            _health.Succeeded();
            var sampledAt = sample.SampledAt ?? at;
            return sample.Values.Select(v => new Reading(v.Field, sampledAt, v.Value, v.Unit, Quality.Good)).ToList();
        }

        logger.LogDebug("Device {Device}: {Failure}", Device.Id, sample.Failure);
        if (sample.DeviceAnswered)
        {
            _health.Succeeded();
            return Empty(at, Quality.Bad);
        }

        _health.Failed(sample.Failure);
        return Empty(at, Quality.CommFailure);
    }

    private List<Reading> Empty(DateTimeOffset at, Quality quality) =>
        fields.Select(f => new Reading(f.Field, at, null, f.Unit, quality)).ToList();
}
