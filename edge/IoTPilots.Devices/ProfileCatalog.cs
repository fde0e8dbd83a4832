using IoTPilots.Config;

namespace IoTPilots.Devices;

/// <summary>
/// Finds device profiles by id in a list of directories (first match wins), loading each file once.
/// A profile file is <c>{id}.yaml</c> with <c>id</c>, <c>description</c>, <c>source</c> and <c>signals</c>.
/// </summary>
public sealed class ProfileCatalog(IReadOnlyList<string> directories)
{
    private readonly Dictionary<string, DeviceProfile> _loaded = [];

    public DeviceProfile Get(string id, ConfigNode reference)
    {
        if (_loaded.TryGetValue(id, out var cached))
        {
            return cached;
        }

        var file = directories.Select(d => Path.Combine(d, id + ".yaml")).FirstOrDefault(File.Exists)
            ?? throw reference.Error($"no profile '{id}' (looked for {id}.yaml in: {string.Join(", ", directories)})");
        var profile = LoadFile(file);
        if (profile.Id != id)
        {
            throw reference.Error($"profile file {file} declares id '{profile.Id}', expected '{id}'");
        }

        _loaded[id] = profile;
        return profile;
    }

    public static DeviceProfile LoadFile(string file)
    {
        var root = ConfigNode.Load(file);
        root.AllowOnly("id", "description", "source", "signals", "protocol", "kind", "fields");
        var protocol = root.Optional("protocol")?.OneOf(["modbus", "ezo"], "protocol") ?? "modbus";
        if (protocol == "ezo")
        {
            // EZO circuits are read as text, not registers; the profile names the circuit kind and documents
            // the fields it yields (the driver owns the parsing).
            return new DeviceProfile(
                root.String("id"),
                root.String("description", ""),
                root.String("source", ""),
                [],
                root.Required("kind").OneOf(Buses.EzoKinds, "EZO circuit kind"));
        }

        return new DeviceProfile(
            root.String("id"),
            root.String("description", ""),
            root.String("source", ""),
            InventoryLoader.LoadSignals(root.Required("signals")));
    }
}
