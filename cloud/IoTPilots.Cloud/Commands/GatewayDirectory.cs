using IoTPilots.Contract;

namespace IoTPilots.Cloud.Commands;

/// <summary>One inventory push as the cloud knows it: what was sent, what the broker said, and the gateway's latest answer.</summary>
/// <param name="State">A <see cref="CommandStates"/> value until the gateway answers, then its outcome (<see cref="InventoryOutcomes"/>).</param>
public sealed record PushRecord(
    string Id,
    string Site,
    string Gateway,
    long Version,
    string Sha256,
    string IssuedBy,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string State,
    string? Reason = null,
    string? Detail = null,
    DateTimeOffset? AnsweredAt = null);

/// <summary>A gateway as <c>GET /api/gateways</c> shows it: its retained status (online or offline, running inventory) and its last push.</summary>
public sealed record GatewayView(string Site, string Gateway, string State, DateTimeOffset? StatusAt, RunningInventory? Inventory, PushRecord? LastPush);

/// <summary>
/// What the cloud knows of each gateway: its latest retained status (which carries the running inventory's version,
/// hash and probation state) and the pushes this process sent, with the gateways' answers. In memory: the statuses
/// come back from the broker (retained) after a restart, and with them the highest version each gateway has run or
/// tried, which is all the next version needs. Thread-safe.
/// </summary>
public sealed class GatewayDirectory
{
    private const int PushesKept = 20;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, GatewayStatus> _statuses = [];
    private readonly Dictionary<string, List<PushRecord>> _pushes = [];

    public void Seen(GatewayStatus status)
    {
        lock (_gate)
        {
            _statuses[status.Gateway] = status;
        }
    }

    public void Pushed(PushRecord push)
    {
        lock (_gate)
        {
            var list = _pushes.TryGetValue(push.Gateway, out var l) ? l : _pushes[push.Gateway] = [];
            list.Add(push);
            if (list.Count > PushesKept)
            {
                list.RemoveAt(0);
            }
        }
    }

    /// <summary>Records a gateway's answer on its push; an answer to a push this process did not send is kept as a record of its own.</summary>
    public PushRecord Answered(InventoryResult result)
    {
        lock (_gate)
        {
            var list = _pushes.TryGetValue(result.Gateway, out var l) ? l : _pushes[result.Gateway] = [];
            var index = list.FindIndex(p => p.Id == result.Id);
            var record = index >= 0
                ? list[index] with { State = result.Outcome, Reason = result.Reason, Detail = result.Detail, AnsweredAt = result.At }
                : new PushRecord(result.Id, result.Site, result.Gateway, result.Version, "", "", result.At, result.At, result.Outcome, result.Reason, result.Detail, result.At);
            if (index >= 0)
            {
                list[index] = record;
            }
            else
            {
                list.Add(record);
            }

            return record;
        }
    }

    /// <summary>The next version for <paramref name="gateway"/>: above every version it has run or tried and every one pushed to it from here.</summary>
    public long NextVersion(string gateway)
    {
        lock (_gate)
        {
            var reported = _statuses.GetValueOrDefault(gateway)?.Inventory is { } i ? Math.Max(i.Version, i.Highest) : 0;
            var pushed = _pushes.GetValueOrDefault(gateway) is { Count: > 0 } list ? list.Max(p => p.Version) : 0;
            return Math.Max(reported, pushed) + 1;
        }
    }

    public IReadOnlyList<PushRecord> Pushes(string gateway)
    {
        lock (_gate)
        {
            return _pushes.TryGetValue(gateway, out var list) ? [.. list] : [];
        }
    }

    /// <summary>Every gateway known from <paramref name="registered"/> (site, gateway) or from a status, by site then gateway.</summary>
    public IReadOnlyList<GatewayView> List(IEnumerable<(string Site, string Gateway)> registered)
    {
        lock (_gate)
        {
            return registered
                .Concat(_statuses.Values.Select(s => (s.Site, s.Gateway)))
                .Concat(_pushes.Values.SelectMany(l => l.Select(p => (p.Site, p.Gateway))))
                .Distinct()
                .OrderBy(g => g.Site, StringComparer.Ordinal)
                .ThenBy(g => g.Gateway, StringComparer.Ordinal)
                .Select(g => _statuses.GetValueOrDefault(g.Gateway) is { } s && s.Site == g.Site
                    ? new GatewayView(g.Site, g.Gateway, s.State, s.Timestamp, s.Inventory, _pushes.GetValueOrDefault(g.Gateway)?.LastOrDefault())
                    : new GatewayView(g.Site, g.Gateway, "unknown", null, null, _pushes.GetValueOrDefault(g.Gateway)?.LastOrDefault()))
                .ToList();
        }
    }
}
