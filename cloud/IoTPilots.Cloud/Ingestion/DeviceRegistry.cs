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

    private DeviceRegistry(HashSet<(string, string)>? known, string source, IReadOnlyList<Inventory>? inventories = null)
    {
        _known = known;
        Source = source;
        Inventories = inventories ?? [];
    }

    public static DeviceRegistry Open { get; } = new(null, "(none: every device accepted)");

    /// <summary>The inventories themselves (none when open): what each gateway polls, and which points it may write.</summary>
    public IReadOnlyList<Inventory> Inventories { get; }

    public string Source { get; }

    public bool IsOpen => _known is null;

    public int Count => _known?.Count ?? 0;

    public bool IsKnown(string gateway, string device) => _known is null || _known.Contains((gateway, device));

    /// <summary>Loads inventories; a bad one throws <see cref="ConfigException"/> naming file, line and field.</summary>
    public static DeviceRegistry Load(string path)
    {
        var files = Directory.Exists(path)
            ? Directory.GetFiles(path, "*.yaml").Concat(Directory.GetFiles(path, "*.yml")).Order().ToList()
            : [path];
        var known = new HashSet<(string, string)>();
        var inventories = new List<Inventory>();
        foreach (var file in files)
        {
            var inventory = InventoryLoader.Load(file);
            inventories.Add(inventory);
            foreach (var device in inventory.Devices)
            {
                known.Add((inventory.Gateway, device.Id));
            }
        }

        return new DeviceRegistry(known, path, inventories);
    }
}
