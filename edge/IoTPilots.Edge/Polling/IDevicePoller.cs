using IoTPilots.Contract;
using IoTPilots.Devices;

namespace IoTPilots.Edge.Polling;

/// <summary>Polls one device of any bus. Each call returns the readings of one poll, stamped at sampling time.</summary>
public interface IDevicePoller
{
    DeviceConfig Device { get; }

    /// <summary>False after <see cref="DeviceConfig.OfflineAfter"/> failed polls in a row, true again once it answers.</summary>
    bool Online { get; }

    Task<IReadOnlyList<Reading>> PollAsync(CancellationToken cancellationToken);
}
