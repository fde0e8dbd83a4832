using IoTPilots.Config;
using IoTPilots.Contract;

namespace IoTPilots.Devices;

/// <summary>
/// Loads a gateway's inventory file and the device profiles it names, validating every field. Errors are
/// <see cref="ConfigException"/>s naming file, line and field. The format is documented in edge/README.md.
/// </summary>
public static class InventoryLoader
{
    private static readonly Dictionary<string, SignalType> TypeNames = new()
    {
        ["int16"] = SignalType.Int16,
        ["uint16"] = SignalType.UInt16,
        ["int32"] = SignalType.Int32,
        ["uint32"] = SignalType.UInt32,
        ["int64"] = SignalType.Int64,
        ["float32"] = SignalType.Float32,
        ["float64"] = SignalType.Float64,
        ["bit"] = SignalType.Bit,
        ["string"] = SignalType.String,
    };

    private static readonly Dictionary<string, Table> TableNames = new()
    {
        ["holding"] = Table.HoldingRegister,
        ["input"] = Table.InputRegister,
        ["coil"] = Table.Coil,
        ["discrete"] = Table.DiscreteInput,
    };

    /// <summary>The profiles shipped with the edge agent, next to its binaries.</summary>
    public static string ShippedProfilesDirectory => Path.Combine(AppContext.BaseDirectory, "profiles");

    public static Inventory Load(string file, params string[] extraProfileDirectories) =>
        LoadRelativeTo(file, Path.GetDirectoryName(Path.GetFullPath(file))!, extraProfileDirectories);

    /// <summary>
    /// Loads <paramref name="file"/> with its relative paths (<c>profiles</c>, <c>queue.dir</c>) taken from
    /// <paramref name="baseDirectory"/>: an inventory pushed from the cloud is kept in the gateway's state folder but
    /// means what it would mean beside the installed one.
    /// </summary>
    public static Inventory LoadRelativeTo(string file, string baseDirectory, params string[] extraProfileDirectories)
    {
        var root = ConfigNode.Load(file);
        root.AllowOnly("gateway", "site", "pilot", "profiles", "devices", "queue");
        var gateway = Id(root.Required("gateway"));
        var site = Id(root.Required("site"));
        var defaultPilot = root.Optional("pilot") is { } p ? Pilot(p) : null;

        var profileDirs = new List<string>();
        if (root.Optional("profiles") is { } dirNode)
        {
            profileDirs.Add(Path.GetFullPath(Path.Combine(baseDirectory, dirNode.AsString())));
        }

        profileDirs.AddRange(extraProfileDirectories);
        profileDirs.Add(ShippedProfilesDirectory);
        var profiles = new ProfileCatalog(profileDirs);

        var devices = new List<DeviceConfig>();
        var seen = new HashSet<string>();
        foreach (var d in root.Required("devices").Items())
        {
            var device = LoadDevice(d, site, defaultPilot, profiles);
            if (!seen.Add(device.Id))
            {
                throw d.Required("id").Error($"device id '{device.Id}' is used twice in this inventory");
            }

            devices.Add(device);
        }

        if (devices.Count == 0)
        {
            throw root.Required("devices").Error("the inventory lists no devices");
        }

        return new Inventory(gateway, site, devices, file) { Queue = root.Optional("queue") is { } q ? LoadQueue(q, baseDirectory) : new QueueSettings() };
    }

    private static QueueSettings LoadQueue(ConfigNode q, string baseDirectory)
    {
        q.AllowOnly("dir", "max_mb", "on_full", "max_age", "on_expired", "fsync", "backfill_rate", "uplink_window");
        var dir = q.Optional("dir")?.AsString();
        var fsync = q.Optional("fsync") is { } f ? FsyncPolicy(f) : (Each: true, Batch: TimeSpan.Zero);
        return new QueueSettings
        {
            Directory = dir is null ? null : Path.GetFullPath(Path.Combine(baseDirectory, dir)),
            MaxBytes = q.Int("max_mb", 1, 1_000_000, 1024) * (1L << 20),
            OnFull = q.Optional("on_full")?.OneOf(["drop-oldest", "drop-newest"], "full-queue policy") ?? "drop-oldest",
            MaxAge = q.Duration("max_age", TimeSpan.FromDays(30)),
            OnExpired = q.Optional("on_expired")?.OneOf(["drop", "keep"], "expired-record policy") ?? "drop",
            Fsync = fsync.Each,
            FsyncBatch = fsync.Batch,
            BackfillRate = q.Int("backfill_rate", 1, 100_000, QueueSettings.DefaultBackfillRate),
            // MQTT numbers packets in flight with 16-bit ids (MQTT 3.1.1 §2.3.1, 5.0 §2.2.1), so 65535 at most.
            UplinkWindow = q.Int("uplink_window", 1, 65_535, QueueSettings.DefaultUplinkWindow),
        };
    }

    /// <summary>
    /// <c>fsync</c>: <c>true</c> (every record), <c>false</c> (never: the OS writes back when it likes), or a
    /// duration (batched: a power cut loses at most the records of the last that long; edge README, "Queue").
    /// </summary>
    private static (bool Each, TimeSpan Batch) FsyncPolicy(ConfigNode node)
    {
        var text = node.AsString();
        if (text is "true" or "yes" or "on" or "false" or "no" or "off")
        {
            return (text is "true" or "yes" or "on", TimeSpan.Zero);
        }

        var batch = text.Any(char.IsDigit)
            ? node.AsDuration()
            : throw node.Error($"expected true, false or a duration such as 1s (batched fsync), got '{text}'");
        return batch >= TimeSpan.FromMilliseconds(10) && batch <= TimeSpan.FromMinutes(1)
            ? (true, batch)
            : throw node.Error($"a batched fsync must be between 10ms and 1m (the most a power cut may lose), got '{text}'");
    }

    private static DeviceConfig LoadDevice(ConfigNode d, string site, string? defaultPilot, ProfileCatalog profiles)
    {
        d.AllowOnly(
            "id", "pilot", "site", "bus", "address", "unit", "poll_interval", "timeout", "retries", "offline_after", "max_gap", "profile", "registers",
            "field", "kind", "mode", "w1_dir", "active_low", "debounce");
        var id = Id(d.Required("id"));
        var pilotNode = d.Optional("pilot");
        var pilot = pilotNode is not null ? Pilot(pilotNode) : defaultPilot ?? throw d.Error("pilot is missing here and at the top of the file (expected one of: factory, port, aquaculture)");
        var bus = d.Required("bus").OneOf(Buses.All, "bus");
        var addressNode = d.Required("address");
        var address = addressNode.AsString();
        SerialSettings? serial = null;
        switch (bus)
        {
            case Buses.ModbusTcp when !TryParseHostPort(address, out _, out _):
                throw addressNode.Error($"expected host:port for a modbus-tcp device, got '{address}'");
            case Buses.ModbusRtu or Buses.Ezo:
                // EZO circuits ship at 9600 8N1 [docs/domain.md S1]; Modbus probes vary (Renke RS-LDO: 4800 [docs/domain.md S3]).
                if (!SerialSettings.TryParse(address, 9600, out var s, out var serialError))
                {
                    throw addressNode.Error(serialError);
                }

                serial = s;
                break;
            case Buses.Ds18b20 when !System.Text.RegularExpressions.Regex.IsMatch(address, "^28-[0-9a-f]{12}$"):
                throw addressNode.Error($"expected a DS18B20 1-Wire id such as 28-00000a1b2c3d, got '{address}'");
            case Buses.Bme280 when !I2cAddress.TryParse(address, out _):
                throw addressNode.Error($"expected i2c bus and address such as 1:0x76, got '{address}'");
            case Buses.Max31855 when !SpiAddress.TryParse(address, out _):
                throw addressNode.Error($"expected spi bus and chip select such as 0.0, got '{address}'");
            case Buses.DigitalInput when !int.TryParse(address, out var pin) || pin is < 0 or > 1000:
                throw addressNode.Error($"expected a GPIO line number such as 17, got '{address}'");
        }

        var signals = new List<SignalDefinition>();
        string? profileId = null;
        if (Buses.IsModbus(bus))
        {
            if (d.Optional("profile") is { } profileNode)
            {
                profileId = profileNode.AsString();
                signals.AddRange(profiles.Get(profileId, profileNode).Signals);
            }

            if (d.Optional("registers") is { } regs)
            {
                signals.AddRange(LoadSignals(regs));
            }

            if (signals.Count == 0)
            {
                throw d.Error("device has no signals: give it a profile or a registers list");
            }

            var duplicate = signals.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw d.Error($"signal '{duplicate.Key}' is defined twice (profile and registers together?)");
            }

            if (signals.FirstOrDefault(s => s.Write?.Lock is { } l && signals.All(o => o.Name != l)) is { } unlocked)
            {
                throw d.Error($"signal '{unlocked.Name}': its write lock '{unlocked.Write!.Lock}' is not a signal of this device");
            }
        }
        else
        {
            foreach (var modbusOnly in bus == Buses.Ezo ? new[] { "registers", "unit", "max_gap" } : new[] { "profile", "registers", "unit", "max_gap" })
            {
                if (d.Optional(modbusOnly) is { } node)
                {
                    throw node.Error($"'{modbusOnly}' applies to Modbus devices only, not to bus {bus}");
                }
            }
        }

        string? field = null;
        if (d.Optional("field") is { } fieldNode)
        {
            field = fieldNode.AsString();
            if (!Identifiers.IsValidField(field))
            {
                throw fieldNode.Error($"'{field}' is not a valid field name: {Identifiers.FieldRule}");
            }
        }

        string? kind = null;
        if (bus == Buses.Ezo)
        {
            // An EZO circuit is named by its kind, or by a shipped profile such as atlas-ezo-ph.
            if (d.Optional("profile") is { } ezoProfile && d.Optional("kind") is null)
            {
                profileId = ezoProfile.AsString();
                kind = profiles.Get(profileId, ezoProfile).EzoKind
                    ?? throw ezoProfile.Error($"profile '{profileId}' is a Modbus register map, not an EZO circuit");
            }
            else
            {
                kind = d.Required("kind").OneOf(Buses.EzoKinds, "EZO circuit kind");
            }
        }

        var pollInterval = d.Duration("poll_interval", TimeSpan.FromSeconds(10));
        if (pollInterval < TimeSpan.FromMilliseconds(100) || pollInterval > TimeSpan.FromHours(24))
        {
            throw d.Required("poll_interval").Error("expected between 100ms and 24h");
        }

        return new DeviceConfig
        {
            Id = id,
            Pilot = pilot,
            Site = d.Optional("site") is { } s2 ? Id(s2) : site,
            Bus = bus,
            Address = address,
            Serial = serial,
            UnitId = (byte)d.Int("unit", 0, 247, 1),
            PollInterval = pollInterval,
            Timeout = d.Duration("timeout", bus == Buses.Ezo ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(1)),
            Retries = d.Int("retries", 0, 10, 1),
            OfflineAfter = d.Int("offline_after", 1, 1000, 3),
            MaxGap = d.Int("max_gap", 0, 100, 0),
            ProfileId = profileId,
            Signals = signals,
            Field = field,
            EzoKind = kind,
            EzoMode = d.Optional("mode") is { } mode ? mode.OneOf(["poll", "continuous"], "EZO mode") : "poll",
            W1Directory = d.String("w1_dir", "/sys/bus/w1/devices"),
            ActiveLow = d.Bool("active_low", false),
            Debounce = d.Duration("debounce", TimeSpan.FromMilliseconds(50)),
        };
    }

    public static IReadOnlyList<SignalDefinition> LoadSignals(ConfigNode list)
    {
        var signals = new List<SignalDefinition>();
        foreach (var r in list.Items())
        {
            r.AllowOnly("name", "table", "address", "type", "order", "scale", "offset", "unit", "deadband", "bit", "length", "bad_value", "write");
            var nameNode = r.Required("name");
            var name = nameNode.AsString();
            if (!Identifiers.IsValidField(name))
            {
                throw nameNode.Error($"'{name}' is not a valid field name: {Identifiers.FieldRule}");
            }

            var table = TableNames[r.Required("table").OneOf(TableNames.Keys, "table")];
            var type = r.Optional("type") is { } t ? TypeNames[t.OneOf(TypeNames.Keys, "type")] : (table is Table.Coil or Table.DiscreteInput ? SignalType.Bit : SignalType.UInt16);
            if (table is Table.Coil or Table.DiscreteInput && type != SignalType.Bit)
            {
                throw r.Required("type").Error($"a {table} holds single bits; type must be bit");
            }

            var order = r.Optional("order") is { } o ? Enum.Parse<WordOrder>(o.OneOf(["ABCD", "CDAB", "BADC", "DCBA"], "word order")) : WordOrder.ABCD;
            var scale = r.Double("scale", 1);
            if (scale == 0)
            {
                throw r.Required("scale").Error("scale must not be 0");
            }

            var length = type == SignalType.String ? r.Int("length", 1, 240) : 0;
            var address = r.Int("address", 0, 65535);
            var signal = new SignalDefinition
            {
                Name = name,
                Table = table,
                Address = (ushort)address,
                Type = type,
                Order = order,
                Scale = scale,
                Offset = r.Double("offset", 0),
                Unit = r.String("unit", ""),
                Deadband = r.Double("deadband", 0),
                BitIndex = r.Int("bit", 0, 15, 0),
                Length = length,
                BadValues = r.Optional("bad_value") is { } bad ? BadValueList(bad) : [],
                Write = r.Optional("write") is { } write ? LoadWrite(write, table, type) : null,
            };
            if (address + signal.Count > 65536)
            {
                throw r.Required("address").Error($"{type} at {address} runs past the last register 65535");
            }

            signals.Add(signal);
        }

        return signals;
    }

    /// <summary>
    /// A writable point's limits. Only coils and holding registers can be written (Modbus FC05/06/15/16); a bit
    /// takes 0 or 1. Defaults lean safe: a change at most every 10 s, and the value read back after each write.
    /// </summary>
    private static WriteLimits LoadWrite(ConfigNode w, Table table, SignalType type)
    {
        w.AllowOnly("min", "max", "min_interval", "max_run", "readback", "lock");
        if (table is not (Table.Coil or Table.HoldingRegister))
        {
            throw w.Error($"a {table} cannot be written; only coils and holding registers can");
        }

        if (type is SignalType.String)
        {
            throw w.Error("a string cannot be written by a command");
        }

        var bit = type == SignalType.Bit;
        var min = w.Double("min", bit ? 0 : double.NaN);
        var max = w.Double("max", bit ? 1 : double.NaN);
        if (double.IsNaN(min) || double.IsNaN(max))
        {
            throw w.Error("a writable register needs min and max (the range a command may set)");
        }

        if (min > max)
        {
            throw w.Required("min").Error($"min {min} is above max {max}");
        }

        if (bit && (min < 0 || max > 1))
        {
            throw w.Error("a bit takes 0 or 1: min and max must lie within 0..1");
        }

        var maxRun = w.Optional("max_run")?.AsDuration();
        if (maxRun is { } run && run <= TimeSpan.Zero)
        {
            throw w.Required("max_run").Error("max_run must be positive");
        }

        var lockField = w.Optional("lock") is { } l ? l.AsString() : null;
        if (lockField is not null && !Identifiers.IsValidField(lockField))
        {
            throw w.Required("lock").Error($"'{lockField}' is not a valid field name: {Identifiers.FieldRule}");
        }

        return new WriteLimits(min, max, w.Duration("min_interval", TimeSpan.FromSeconds(10)), maxRun, w.Bool("readback", true), lockField);
    }

    private static List<double> BadValueList(ConfigNode node) =>
        node.IsList ? node.Items().Select(i => i.AsDouble()).ToList() : [node.AsDouble()];

    public static bool TryParseHostPort(string address, out string host, out int port)
    {
        host = "";
        port = 0;
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out port) || port is < 1 or > 65535)
        {
            return false;
        }

        host = address[..colon];
        return true;
    }

    private static string Id(ConfigNode node)
    {
        var id = node.AsString();
        return Identifiers.IsValid(id) ? id : throw node.Error($"'{id}' is not a valid id: {Identifiers.Rule}");
    }

    private static string Pilot(ConfigNode node) => node.OneOf(Pilots.All, "pilot");
}
