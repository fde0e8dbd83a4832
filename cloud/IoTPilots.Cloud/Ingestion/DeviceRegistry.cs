using IoTPilots.Config;
using IoTPilots.Devices;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>
/// The devices the cloud accepts telemetry from: every (gateway, device) in the edge inventories found at
/// <c>PILOTS_DEVICE_REGISTRY</c> (an inventory file or a folder of them). Without a registry every well-formed
/// device is accepted, and the service says so at start-up.
/// </summary>
public sealed class DeviceRegistry
{
    private readonly HashSet<(string Gateway, string Device)>? _known;

    private DeviceRegistry(HashSet<(string, string)>? known, string source, IReadOnlyList<Inventory> inventories)
    {
        _known = known;
        Source = source;
        Inventories = inventories;
        // The first inventory to name a (gateway, device) wins, as for _known.
        Devices = [.. inventories
            .SelectMany(i => i.Devices.Select(d => new RegisteredDevice(d.Pilot, d.Site, i.Gateway, d.Id, FieldsOf(d))))
            .DistinctBy(d => (d.Gateway, d.Device))];
    }

    public static DeviceRegistry Open { get; } = new(null, "(none: every device accepted)", []);

    /// <summary>The inventories themselves (none when open): what each gateway polls, and which points it may write.</summary>
    public IReadOnlyList<Inventory> Inventories { get; }

    public string Source { get; }

    /// <summary>Every device of the inventories, with the fields it reports: the series the missing-data rules expect.</summary>
    public IReadOnlyList<RegisteredDevice> Devices { get; }

    public bool IsOpen => _known is null;

    public int Count => _known?.Count ?? 0;

    public bool IsKnown(string gateway, string device) => _known is null || _known.Contains((gateway, device));

    /// <summary>Loads inventories; a bad one throws <see cref="ConfigException"/> naming file, line and field.</summary>
    public static DeviceRegistry Load(string path)
    {
        var files = Directory.Exists(path)
            ? Directory.GetFiles(path, "*.yaml").Concat(Directory.GetFiles(path, "*.yml")).Order().ToList()
            : [path];
        var inventories = files.Select(f => InventoryLoader.Load(f)).ToList();
        var known = inventories.SelectMany(i => i.Devices.Select(d => (i.Gateway, d.Id))).ToHashSet();
        return new DeviceRegistry(known, path, inventories);
    }

    /// <summary>
    /// The fields the inventory says a device reports: a Modbus device's signals, a single-value sensor's field. An EZO
    /// circuit or a BME280 without a <c>field</c> names its fields in the edge's drivers, not in the inventory: none here.
    /// </summary>
    private static IReadOnlyList<string> FieldsOf(DeviceConfig device) =>
        [.. device.Signals.Select(s => s.Name).Concat(device.Field is { } f ? [f] : []).Distinct(StringComparer.Ordinal)];
}

/// <summary>One device of the registry: its series' tags (as its gateway publishes them) and the fields it reports.</summary>
public sealed record RegisteredDevice(string Pilot, string Site, string Gateway, string Device, IReadOnlyList<string> Fields);
