using IoTPilots.Contract;

namespace IoTPilots.Edge.RemoteConfig;

/// <summary>
/// What the gateway knows of its inventory across restarts (<c>state.json</c> beside the pushed files): the running
/// version and hash, whether it is on probation (since <see cref="AppliedAt"/>, until <see cref="ProbationUntil"/>),
/// the version a rollback returns to, the highest version it has run or tried, and whether the cloud has heard the
/// last outcome. <see cref="BaseSha256"/> is the hash of the installed inventory file when this was written: a file
/// installed by hand since then wins over every push (its version is 0).
/// </summary>
public sealed record InventoryState(
    long Version,
    string Sha256,
    string State,
    long Highest,
    string BaseSha256,
    long PreviousVersion = 0,
    string? PreviousSha256 = null,
    string? PushId = null,
    DateTimeOffset? AppliedAt = null,
    DateTimeOffset? ProbationUntil = null,
    string? Detail = null,
    bool Reported = true,
    string? Reason = null)
{
    public bool OnProbation => State == RunningInventory.Probation;

    /// <summary>The inventory installed by hand (the <c>--inventory</c> file), version 0.</summary>
    public static InventoryState Installed(string sha256, long highest) => new(0, sha256, RunningInventory.Running, highest, sha256);

    /// <summary>What the gateway's status says of it.</summary>
    public RunningInventory Status => new(Version, Sha256, State, Highest, Detail);
}
