namespace IoTPilots.Contract;

/// <summary>One sample of one signal, stamped by the edge when it was sampled.</summary>
/// <param name="Field">snake_case name with a unit suffix, e.g. <c>do_mg_l</c>.</param>
/// <param name="Timestamp">The edge's sampling time (UTC, millisecond resolution).</param>
/// <param name="Value">The value, or null when there is none (comm-failure).</param>
/// <param name="Unit">Human-readable unit, e.g. <c>mg/L</c>.</param>
/// <param name="Quality">How far the value can be trusted.</param>
public sealed record Reading(string Field, DateTimeOffset Timestamp, double? Value, string Unit, Quality Quality);

/// <summary>
/// A batch of readings from one device, published by its gateway. <see cref="Seq"/> counts every
/// message a gateway publishes, across all its devices, within its <see cref="Epoch"/>, so the cloud can tell
/// what is missing.
/// </summary>
public sealed record TelemetryMessage(
    string Pilot,
    string Site,
    string Gateway,
    string Device,
    long Seq,
    IReadOnlyList<Reading> Readings)
{
    /// <summary>The contract version this library writes and accepts.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Largest encoded message accepted, in bytes; the edge splits batches below it.</summary>
    public const int MaxBytes = 256 * 1024;

    /// <summary>Largest number of readings in one message.</summary>
    public const int MaxReadings = 1000;

    /// <summary>Longest epoch name accepted.</summary>
    public const int MaxEpochLength = 40;

    /// <summary>
    /// Names the numbering <see cref="Seq"/> belongs to: the gateway's queue makes one when its folder is created,
    /// so a gateway whose queue was wiped (a re-imaged SD card) numbers from 1 again in a new epoch and the cloud
    /// never takes the new numbers for old ones. Empty for a queue made before epochs existed.
    /// </summary>
    public string Epoch { get; init; } = "";

    public string Topic => Topics.Telemetry(Site, Gateway, Device);

    /// <summary>Empty, or 1 to <see cref="MaxEpochLength"/> characters of <c>A-Z a-z 0-9 . _ : -</c>.</summary>
    public static bool IsValidEpoch(string epoch) =>
        epoch.Length <= MaxEpochLength && epoch.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-');
}
