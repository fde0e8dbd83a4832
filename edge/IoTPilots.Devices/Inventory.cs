namespace IoTPilots.Devices;

/// <summary>A reusable register map, e.g. one vendor's probe; shipped as a file under profiles/.</summary>
/// <remarks>A profile is either a Modbus register map (<see cref="Signals"/>) or names an EZO circuit kind.</remarks>
public sealed record DeviceProfile(string Id, string Description, string Source, IReadOnlyList<SignalDefinition> Signals, string? EzoKind = null);

/// <summary>One device the gateway polls.</summary>
public sealed record DeviceConfig
{
    public required string Id { get; init; }

    public required string Pilot { get; init; }

    public required string Site { get; init; }

    /// <summary>Bus type, one of <see cref="Buses.All"/>.</summary>
    public required string Bus { get; init; }

    /// <summary>Bus address as written in the inventory; see <see cref="Buses"/> for each bus's form.</summary>
    public required string Address { get; init; }

    /// <summary>Serial settings, for modbus-rtu and ezo.</summary>
    public SerialSettings? Serial { get; init; }

    /// <summary>Field name of a single-value sensor (ds18b20, max31855, digital-input), e.g. <c>water_temp_c</c>.</summary>
    public string? Field { get; init; }

    /// <summary>EZO circuit kind: ph, do, orp, ec or rtd.</summary>
    public string? EzoKind { get; init; }

    /// <summary>EZO reading mode: <c>poll</c> (command/response) or <c>continuous</c>.</summary>
    public string EzoMode { get; init; } = "poll";

    /// <summary>Directory of the kernel's 1-Wire devices, for ds18b20.</summary>
    public string W1Directory { get; init; } = "/sys/bus/w1/devices";

    /// <summary>Digital input: the contact closes to ground (reads low when active).</summary>
    public bool ActiveLow { get; init; }

    /// <summary>Digital input: a new level counts only after it has been stable this long.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(50);

    public byte UnitId { get; init; } = 1;

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);

    public int Retries { get; init; } = 1;

    /// <summary>Consecutive failed polls before the device is reported offline.</summary>
    public int OfflineAfter { get; init; } = 3;

    /// <summary>Registers a read may span beyond what signals need, to save requests.</summary>
    public int MaxGap { get; init; }

    public string? ProfileId { get; init; }

    public required IReadOnlyList<SignalDefinition> Signals { get; init; }
}

/// <summary>Everything one gateway polls, loaded from its inventory file.</summary>
public sealed record Inventory(string Gateway, string Site, IReadOnlyList<DeviceConfig> Devices, string SourceFile)
{
    public QueueSettings Queue { get; init; } = new();
}

/// <summary>The store-and-forward queue's budgets and policies (the inventory's <c>queue:</c> section).</summary>
public sealed record QueueSettings
{
    /// <summary>Queue folder; default <c>$PILOTS_EDGE_STATE_DIR/{gateway}</c>, else <c>./state/{gateway}</c>.</summary>
    public string? Directory { get; init; }

    public long MaxBytes { get; init; } = 1L << 30;

    /// <summary><c>drop-oldest</c> or <c>drop-newest</c>.</summary>
    public string OnFull { get; init; } = "drop-oldest";

    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(30);

    /// <summary><c>drop</c> or <c>keep</c>.</summary>
    public string OnExpired { get; init; } = "drop";

    public bool Fsync { get; init; } = true;

    /// <summary>With <see cref="Fsync"/>: zero fsyncs every record; more batches them, at most this far apart (the most a power cut can lose).</summary>
    public TimeSpan FsyncBatch { get; init; }

    /// <summary>Backlog messages sent per second alongside live data after an outage.</summary>
    public int BackfillRate { get; init; } = DefaultBackfillRate;

    /// <summary>Messages published and not yet acknowledged, at most; the uplink's ceiling is this many per round trip.</summary>
    public int UplinkWindow { get; init; } = DefaultUplinkWindow;

    public const int DefaultBackfillRate = 400;

    public const int DefaultUplinkWindow = 256;
}

/// <summary>
/// Bus types and the form of their <c>address</c>:
/// modbus-tcp <c>host:port</c>; modbus-rtu and ezo <c>/dev/ttyUSB0?baud=9600&amp;parity=N</c>;
/// ds18b20 the 1-Wire id <c>28-00000a1b2c3d</c>; bme280 <c>i2cbus:0xADDR</c>; max31855 <c>spibus.cs</c>;
/// digital-input the GPIO line number (BCM numbering on a Raspberry Pi).
/// </summary>
public static class Buses
{
    public const string ModbusTcp = "modbus-tcp";
    public const string ModbusRtu = "modbus-rtu";
    public const string Ezo = "ezo";
    public const string Ds18b20 = "ds18b20";
    public const string Bme280 = "bme280";
    public const string Max31855 = "max31855";
    public const string DigitalInput = "digital-input";

    public static readonly IReadOnlyList<string> All = [ModbusTcp, ModbusRtu, Ezo, Ds18b20, Bme280, Max31855, DigitalInput];

    public static bool IsModbus(string bus) => bus is ModbusTcp or ModbusRtu;

    public static readonly IReadOnlyList<string> EzoKinds = ["ph", "do", "orp", "ec", "rtd"];
}
