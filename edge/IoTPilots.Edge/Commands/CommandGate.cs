using IoTPilots.Contract;
using IoTPilots.Devices;

namespace IoTPilots.Edge.Commands;

/// <summary>The gate's answer: allowed (with the device and point to write), or refused with a reason code and a detail.</summary>
public sealed record GateVerdict(bool Allowed, string Reason, string Detail, DeviceConfig? Device = null, SignalDefinition? Point = null)
{
    public static GateVerdict Refuse(string reason, string detail) => new(false, reason, detail);
}

/// <summary>The command ids a gateway has already taken, kept until their expiry (after that the expiry check refuses them anyway).</summary>
public interface ISeenCommands
{
    /// <summary>Remembers <paramref name="id"/> until <paramref name="expiresAt"/>; false when it was already there.</summary>
    bool TryRemember(string id, DateTimeOffset expiresAt, DateTimeOffset now);
}

/// <summary>Seen command ids in memory, pruned as they expire. Bounded: commands live at most <see cref="CommandGateOptions.MaxLifetime"/>.</summary>
public sealed class SeenCommands : ISeenCommands
{
    private readonly Dictionary<string, DateTimeOffset> _seen = [];

    public int Count => _seen.Count;

    public bool TryRemember(string id, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        foreach (var (old, until) in _seen.Where(kv => kv.Value < now).ToList())
        {
            _seen.Remove(old);
        }

        return _seen.TryAdd(id, expiresAt);
    }
}

public sealed record CommandGateOptions
{
    /// <summary>
    /// The longest a command may be valid for. A command is meant to act now; one valid for hours could fire long
    /// after the situation that asked for it (a gateway offline at 2 a.m., back at 6). It also bounds the replay memory.
    /// </summary>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How far the cloud's clock may run ahead of the gateway's before a command counts as issued in the future.</summary>
    public TimeSpan ClockTolerance { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// Decides whether the gateway executes a command from the cloud: signed with this gateway's key, for this gateway,
/// not expired, not seen before, for a device and point its inventory declares writable, within the point's range,
/// not while the site's manual lock is on, and not sooner than the point's minimum interval after the last change.
/// It also keeps each point's run time, so the gateway switches off what has run longer than its <c>max_run</c>
/// whatever the cloud says. Pure: a <see cref="TimeProvider"/>, the inventory and the latest values; counts refusals
/// by reason.
/// </summary>
public sealed class CommandGate(
    string gateway,
    IReadOnlyList<DeviceConfig> devices,
    byte[] key,
    ISeenCommands seen,
    Func<string, string, double?> latest,
    TimeProvider time,
    CommandGateOptions? options = null)
{
    private readonly CommandGateOptions _options = options ?? new CommandGateOptions();
    private readonly Dictionary<(string Device, string Point), DateTimeOffset> _lastChange = [];
    private readonly Dictionary<(string Device, string Point), DateTimeOffset> _runningSince = [];
    private readonly Dictionary<string, long> _refused = [];

    /// <summary>Refused commands so far, by reason code.</summary>
    public IReadOnlyDictionary<string, long> Refused => _refused;

    public GateVerdict Check(CommandMessage command)
    {
        var verdict = Judge(command);
        if (!verdict.Allowed)
        {
            _refused[verdict.Reason] = _refused.GetValueOrDefault(verdict.Reason) + 1;
        }

        return verdict;
    }

    /// <summary>Records a write the device confirmed: the start of the point's minimum interval, and of its run time when non-zero.</summary>
    public void Changed(string device, string point, double value)
    {
        var now = time.GetUtcNow();
        _lastChange[(device, point)] = now;
        if (value != 0)
        {
            _runningSince.TryAdd((device, point), now);
        }
        else
        {
            _runningSince.Remove((device, point));
        }
    }

    /// <summary>
    /// Starts the run clock of a point the gateway finds non-zero without having set it (it was on before a restart,
    /// or was started at the panel), so <c>max_run</c> bounds every run. A reading sampled before the gate's last
    /// change of the point says nothing new and is ignored. True when the clock started now.
    /// </summary>
    public bool Adopt(string device, string point, DateTimeOffset sampledAt)
    {
        if (_runningSince.ContainsKey((device, point)) || (_lastChange.TryGetValue((device, point), out var last) && sampledAt <= last))
        {
            return false;
        }

        _runningSince[(device, point)] = sampledAt;
        return true;
    }

    /// <summary>Points that have held a non-zero value longer than their <c>max_run</c>: the gateway writes 0 to them itself.</summary>
    public IReadOnlyList<(DeviceConfig Device, SignalDefinition Point)> Overrun()
    {
        var now = time.GetUtcNow();
        var overrun = new List<(DeviceConfig, SignalDefinition)>();
        foreach (var ((deviceId, pointName), since) in _runningSince)
        {
            if (Find(deviceId, pointName) is ({ } device, { Write.MaxRun: { } maxRun } point) && now - since >= maxRun)
            {
                overrun.Add((device, point));
            }
        }

        return overrun;
    }

    private GateVerdict Judge(CommandMessage c)
    {
        // Authenticity first: an unsigned or forged command learns nothing about the inventory, and never enters the
        // replay memory (so forged ids cannot crowd out real ones).
        if (c.Signature is null)
        {
            return GateVerdict.Refuse(CommandReasons.Unsigned, "the command carries no signature");
        }

        if (!CommandSignature.Verify(c, key))
        {
            return GateVerdict.Refuse(CommandReasons.BadSignature, "the signature does not match this gateway's key");
        }

        if (c.Gateway != gateway)
        {
            return GateVerdict.Refuse(CommandReasons.WrongGateway, $"the command is for gateway {c.Gateway}, this is {gateway}");
        }

        var now = time.GetUtcNow();
        if (now >= c.ExpiresAt)
        {
            return GateVerdict.Refuse(CommandReasons.Expired, $"expired at {c.ExpiresAt:O}, {(now - c.ExpiresAt).TotalSeconds:0} s before it arrived");
        }

        if (c.ExpiresAt - c.IssuedAt > _options.MaxLifetime || c.IssuedAt > now + _options.ClockTolerance)
        {
            return GateVerdict.Refuse(CommandReasons.TooLong, $"a command may be valid for at most {_options.MaxLifetime.TotalMinutes:0} min from its issue, which may not lie in the future");
        }

        if (!seen.TryRemember(c.Id, c.ExpiresAt, now))
        {
            return GateVerdict.Refuse(CommandReasons.Replayed, $"command {c.Id} was already received");
        }

        var device = devices.FirstOrDefault(d => d.Id == c.Device);
        if (device is null)
        {
            return GateVerdict.Refuse(CommandReasons.UnknownDevice, $"device {c.Device} is not in this gateway's inventory");
        }

        var point = device.Signals.FirstOrDefault(s => s.Name == c.Point);
        if (point is null)
        {
            return GateVerdict.Refuse(CommandReasons.UnknownPoint, $"device {c.Device} has no point {c.Point}");
        }

        if (point.Write is not { } limits)
        {
            return GateVerdict.Refuse(CommandReasons.NotWritable, $"{c.Device}.{c.Point} is not declared writable");
        }

        if (c.Value < limits.Min || c.Value > limits.Max || (point.Type == SignalType.Bit && c.Value is not (0 or 1)))
        {
            return GateVerdict.Refuse(CommandReasons.OutOfRange, $"{c.Device}.{c.Point}: {c.Value} is outside {limits.Min}..{limits.Max}{(point.Type == SignalType.Bit ? " (a bit: 0 or 1)" : "")}");
        }

        if (limits.Lock is { } lockField && latest(device.Id, lockField) is { } locked && locked != 0)
        {
            return GateVerdict.Refuse(CommandReasons.Locked, $"{c.Device}.{lockField} is on: the site's manual lock wins over the cloud");
        }

        if (_lastChange.TryGetValue((device.Id, point.Name), out var last) && now - last < limits.MinInterval)
        {
            return GateVerdict.Refuse(CommandReasons.TooSoon, $"{c.Device}.{c.Point} changed {(now - last).TotalSeconds:0} s ago; at most one change per {limits.MinInterval.TotalSeconds:0} s");
        }

        return new GateVerdict(true, CommandReasons.Ok, "", device, point);
    }

    private (DeviceConfig? Device, SignalDefinition? Point) Find(string deviceId, string pointName) =>
        devices.FirstOrDefault(d => d.Id == deviceId) is { } d ? (d, d.Signals.FirstOrDefault(s => s.Name == pointName)) : (null, null);
}
