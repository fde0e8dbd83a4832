namespace IoTPilots.Edge.Devices;

/// <summary>A reusable register map, e.g. one vendor's probe; shipped as a file under profiles/.</summary>
public sealed record DeviceProfile(string Id, string Description, string Source, IReadOnlyList<SignalDefinition> Signals);

/// <summary>One device the gateway polls.</summary>
public sealed record DeviceConfig
{
    public required string Id { get; init; }

    public required string Pilot { get; init; }

    public required string Site { get; init; }

    /// <summary>Bus type, one of <see cref="Buses.All"/>.</summary>
    public required string Bus { get; init; }

    /// <summary>Bus address: <c>host:port</c> for modbus-tcp.</summary>
    public required string Address { get; init; }

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
public sealed record Inventory(string Gateway, string Site, IReadOnlyList<DeviceConfig> Devices, string SourceFile);

public static class Buses
{
    public const string ModbusTcp = "modbus-tcp";

    public static readonly IReadOnlyList<string> All = [ModbusTcp];
}
