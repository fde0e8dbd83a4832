using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Polling;

/// <summary>
/// Online/offline bookkeeping shared by every kind of poller, and the backoff that keeps a dead device from
/// occupying its bus: once offline it is tried at a doubling interval (up to <see cref="MaxBackoff"/>) instead
/// of every poll, so the other devices on the line keep their schedule.
/// </summary>
public sealed class DeviceHealth(string deviceId, string address, int offlineAfter, TimeSpan pollInterval, TimeProvider time, ILogger logger)
{
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(2);
    private DateTimeOffset _nextAttempt = DateTimeOffset.MinValue;
    private TimeSpan _backoff;

    public bool Online { get; private set; } = true;

    public int ConsecutiveFailures { get; private set; }

    /// <summary>True when the device should not be asked this time (it is offline and backing off).</summary>
    public bool BackingOff => !Online && time.GetUtcNow() < _nextAttempt;

    public void Succeeded()
    {
        if (!Online)
        {
            logger.LogInformation("Device {Device} is back online after {Failures} failed polls", deviceId, ConsecutiveFailures);
        }

        ConsecutiveFailures = 0;
        Online = true;
        _backoff = TimeSpan.Zero;
    }

    public void Failed(string error)
    {
        ConsecutiveFailures++;
        if (Online && ConsecutiveFailures >= offlineAfter)
        {
            Online = false;
            logger.LogWarning("Device {Device} at {Address} is offline: {Failures} polls failed in a row ({Error})", deviceId, address, ConsecutiveFailures, error);
        }

        if (!Online)
        {
            _backoff = _backoff == TimeSpan.Zero ? pollInterval * 2 : TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, MaxBackoff.Ticks));
            _nextAttempt = time.GetUtcNow() + _backoff;
        }
    }
}
