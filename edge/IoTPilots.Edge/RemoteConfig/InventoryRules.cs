using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Commands;

namespace IoTPilots.Edge.RemoteConfig;

public sealed record InventoryRulesOptions
{
    /// <summary>
    /// The longest a push may be valid for. Longer than a command's: an inventory is a desired state, safe to apply
    /// late because only a newer version applies and the probation guards it; bounded by the gateway's MQTT session
    /// expiry (7 days, <c>MqttSession</c>), beyond which the broker drops it anyway.
    /// </summary>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How far the cloud's clock may run ahead of the gateway's, as for commands.</summary>
    public TimeSpan ClockTolerance { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a new inventory has to show it reaches a device and the broker before it counts as good.</summary>
    public TimeSpan Probation { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>A refusal (reason code and detail), or null for allowed.</summary>
public sealed record InventoryRefusal(string Reason, string Detail);

/// <summary>What the probation asks for now.</summary>
public enum ProbationStep
{
    /// <summary>Nothing to do: not on probation, or its time is not up.</summary>
    Wait,

    /// <summary>The time is up and the new inventory reached a device and the broker: it becomes the running one.</summary>
    Confirm,

    /// <summary>The time is up and it did not: back to the previous inventory.</summary>
    RollBack,
}

/// <summary>
/// The decisions of remote configuration, pure (time comes in as values): whether a push may apply (signed with this
/// gateway's key, content matching its hash, for this gateway, unexpired, not seen before, newer than any version run
/// or tried, not during another's probation), whether a valid inventory keeps the gateway's identity, and how a
/// probation ends.
/// </summary>
public static class InventoryRules
{
    public static InventoryRefusal? Check(InventoryPush push, string site, string gateway, byte[]? key, InventoryState running, ISeenCommands seen, DateTimeOffset now, InventoryRulesOptions options)
    {
        // Authenticity first, as for commands: a forged push learns nothing and does not enter the replay memory.
        if (push.Signature is null || key is null)
        {
            return new(InventoryReasons.Unsigned, key is null ? "this gateway has no command key (PILOTS_COMMAND_KEY): it takes no pushed inventory" : "the push carries no signature");
        }

        if (!InventorySignature.Verify(push, key))
        {
            return new(InventoryReasons.BadSignature, "the signature does not match this gateway's key");
        }

        if (InventoryPush.HashOf(push.Content) != push.Sha256)
        {
            return new(InventoryReasons.HashMismatch, $"the content's SHA-256 is not the signed {push.Sha256}: it was changed on the way");
        }

        if (push.Gateway != gateway || push.Site != site)
        {
            return new(InventoryReasons.WrongGateway, $"the push is for {push.Site}/{push.Gateway}, this is {site}/{gateway}");
        }

        if (now >= push.ExpiresAt)
        {
            return new(InventoryReasons.Expired, $"expired at {push.ExpiresAt:O}, {(now - push.ExpiresAt).TotalSeconds:0} s before it arrived");
        }

        if (push.ExpiresAt - push.IssuedAt > options.MaxLifetime || push.IssuedAt > now + options.ClockTolerance)
        {
            return new(InventoryReasons.TooLong, $"a push may be valid for at most {options.MaxLifetime.TotalHours:0} h from its issue, which may not lie in the future");
        }

        if (!seen.TryRemember(push.Id, push.ExpiresAt, now))
        {
            return new(InventoryReasons.Replayed, $"push {push.Id} was already received");
        }

        if (running.OnProbation)
        {
            return new(InventoryReasons.InProbation, $"version {running.Version} is on probation until {running.ProbationUntil:O}; push again after it");
        }

        return push.Version <= running.Highest
            ? new(InventoryReasons.NotNewer, $"version {push.Version} is not newer than {running.Highest}, the highest this gateway has run or tried (running: {running.Version})")
            : null;
    }

    /// <summary>A valid inventory may change what the gateway polls, never who it is: its gateway id and site, and the sites its devices report under.</summary>
    public static InventoryRefusal? CheckIdentity(Inventory next, Inventory running)
    {
        if (next.Gateway != running.Gateway || next.Site != running.Site)
        {
            return new(InventoryReasons.IdentityChange, $"{next.SourceFile}: gateway/site {next.Site}/{next.Gateway} differ from this gateway's {running.Site}/{running.Gateway}; a gateway's identity is changed where it is installed, not by a push");
        }

        var sites = running.Devices.Select(d => d.Site).Append(running.Site).ToHashSet(StringComparer.Ordinal);
        return next.Devices.FirstOrDefault(d => !sites.Contains(d.Site)) is { } stranger
            ? new(InventoryReasons.IdentityChange, $"{next.SourceFile}: device {stranger.Id} reports under site {stranger.Site}, which this gateway does not serve")
            : null;
    }

    /// <summary>The state after a push applied at <paramref name="now"/>: on probation, with the running one as the way back.</summary>
    public static InventoryState Applied(InventoryState running, InventoryPush push, DateTimeOffset now, InventoryRulesOptions options) => running with
    {
        Version = push.Version,
        Sha256 = push.Sha256,
        State = RunningInventory.Probation,
        Highest = Math.Max(running.Highest, push.Version),
        PreviousVersion = running.Version,
        PreviousSha256 = running.Sha256,
        PushId = push.Id,
        AppliedAt = now,
        ProbationUntil = now + options.Probation,
        Detail = null,
        Reported = true,
    };

    /// <summary>
    /// How a probation stands at <paramref name="now"/>: it passes when, by its end, a device polled under the new
    /// inventory answered (a good reading sampled at or after the apply) and the broker was reached since the apply.
    /// </summary>
    public static (ProbationStep Step, string Reason, string Detail) Judge(InventoryState state, DateTimeOffset now, DateTimeOffset? lastGoodReading, bool brokerReached)
    {
        if (!state.OnProbation || state.ProbationUntil is not { } until || now < until)
        {
            return (ProbationStep.Wait, "", "");
        }

        var minutes = (until - (state.AppliedAt ?? until)).TotalMinutes;
        if (lastGoodReading is not { } good || good < state.AppliedAt)
        {
            return (ProbationStep.RollBack, InventoryReasons.DevicesUnreachable, $"no device of version {state.Version} answered within its {minutes:0.##} min probation; back to version {state.PreviousVersion}");
        }

        return brokerReached
            ? (ProbationStep.Confirm, InventoryReasons.Ok, $"version {state.Version} reached its devices and the broker within {minutes:0.##} min")
            : (ProbationStep.RollBack, InventoryReasons.BrokerUnreachable, $"the broker was not reached within the {minutes:0.##} min probation of version {state.Version}; back to version {state.PreviousVersion}");
    }

    /// <summary>The state after a rollback: the previous version runs, the tried one stays the highest (so it is never taken again).</summary>
    public static InventoryState RolledBack(InventoryState state, string reason, string detail) => state with
    {
        Reason = reason,
        Version = state.PreviousVersion,
        Sha256 = state.PreviousSha256 ?? state.BaseSha256,
        State = RunningInventory.RolledBack,
        AppliedAt = null,
        ProbationUntil = null,
        Detail = detail,
        Reported = false,
    };
}
