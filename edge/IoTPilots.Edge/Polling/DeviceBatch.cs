using IoTPilots.Contract;
using IoTPilots.Devices;

namespace IoTPilots.Edge.Polling;

/// <summary>The readings of one poll of one device.</summary>
public sealed record DeviceBatch(DeviceConfig Device, IReadOnlyList<Reading> Readings);
