using IoTPilots.Contract;

namespace IoTPilots.Rules;

/// <summary>Missing data that is never missed: expected series and the gateways' clocks (README, "Missing data").</summary>
public sealed partial class RulesEngine
{
    /// <summary>Each gateway's clock against the cloud's, from the messages and statuses it sent (see <see cref="GatewayClocks"/>).</summary>
    public GatewayClocks Clocks { get; } = new();

    /// <summary>
    /// As <see cref="Observe(TelemetryMessage)"/>, for a message received from the live stream at <paramref name="receivedAt"/>
    /// (the cloud's clock): its newest reading stamp, on the gateway's clock, moves the gateway's clock offset on.
    /// </summary>
    public IReadOnlyList<AlertEvent> Observe(TelemetryMessage message, DateTimeOffset receivedAt)
    {
        if (message.Readings.Count > 0)
        {
            Clocks.Observe(message.Gateway, message.Readings.Max(r => r.Timestamp), receivedAt);
        }

        return Observe(message);
    }

    /// <summary>A gateway's status received at <paramref name="receivedAt"/>: its stamp, on the gateway's clock, moves the offset on.</summary>
    public void ObserveStatus(GatewayStatus status, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(status);
        Clocks.Observe(status.Gateway, status.Timestamp, receivedAt);
    }

    /// <summary>
    /// Watches <paramref name="field"/> of <paramref name="series"/> with every missing-data rule that matches it, whether
    /// or not the device ever reports: a device of the registry (the edge inventories) is expected. Its silence starts at
    /// <paramref name="lastGood"/> (its last good reading stored, on its gateway's clock) or, for one never heard from,
    /// at <paramref name="now"/> (the cloud's clock, moved to the gateway's when its offset is known). A series already
    /// watched keeps the later of the two last good times (a live reading or an open alert knows better).
    /// </summary>
    /// <returns>How many rule-series-field combinations are now watched because of this call.</returns>
    public int Expect(SeriesKey series, string field, DateTimeOffset? lastGood, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(series);
        var added = 0;
        foreach (var rule in Rules)
        {
            if (rule.Kind != RuleKind.Missing || !rule.Matches(series) || !rule.MatchesField(field))
            {
                continue;
            }

            var key = (rule.Id, series, field);
            if (_tracks.TryGetValue(key, out var track))
            {
                if (lastGood > track.LastGood && track.State != State.Firing)
                {
                    (track.LastGood, track.Assumed) = (lastGood.Value, false);
                }

                continue;
            }

            _tracks[key] = new Track
            {
                LastGood = lastGood ?? Clocks.Now(series.Gateway, now),
                Assumed = lastGood is null,
                LastAt = DateTimeOffset.MinValue,
                Field = field,
                Unit = "",
            };
            added++;
        }

        return added;
    }
}

/// <summary>
/// Each gateway's clock offset (the gateway's clock minus the cloud's), so that silence is judged on the clock the
/// readings are stamped with. Every message or status gives a lower bound of the offset: its stamp (taken on the
/// gateway) minus its receipt time (on the cloud) is the offset less the delivery delay, and much less for backlog or
/// a retained status delivered long after. So the estimate is the largest such bound over the last one or two
/// <see cref="Window"/>s: live messages keep it within their delay of the truth, old ones cannot drag it down, and a
/// clock corrected on the gateway is followed within two windows. A gateway never heard from has offset zero; one
/// that fell silent keeps its last estimate. Pure: times come from the caller.
/// </summary>
public sealed class GatewayClocks
{
    /// <summary>How long one bucket of bounds lasts: long enough to span several polls, short enough to follow a clock fix.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    private readonly Dictionary<string, Estimate> _gateways = new(StringComparer.Ordinal);

    public int Count => _gateways.Count;

    public void Observe(string gateway, DateTimeOffset stampedAt, DateTimeOffset receivedAt)
    {
        var bound = stampedAt - receivedAt;
        if (!_gateways.TryGetValue(gateway, out var e))
        {
            _gateways[gateway] = new Estimate { Current = bound, CurrentStart = receivedAt };
            return;
        }

        if (receivedAt - e.CurrentStart >= Window)
        {
            // A new bucket; an empty one (nothing heard for a window) keeps the older bound rather than forgetting it.
            (e.Previous, e.Current, e.CurrentStart) = (e.Current ?? e.Previous, null, receivedAt);
        }

        e.Current = e.Current is { } c && c >= bound ? c : bound;
    }

    /// <summary>The gateway's clock minus the cloud's, or zero for a gateway never heard from.</summary>
    public TimeSpan OffsetOf(string gateway) =>
        _gateways.TryGetValue(gateway, out var e) ? Max(e.Current, e.Previous) : TimeSpan.Zero;

    /// <summary>What the gateway's clock reads when the cloud's reads <paramref name="cloudNow"/>.</summary>
    public DateTimeOffset Now(string gateway, DateTimeOffset cloudNow) => cloudNow + OffsetOf(gateway);

    private static TimeSpan Max(TimeSpan? a, TimeSpan? b) => a is { } x && (b is not { } y || x >= y) ? x : b ?? TimeSpan.Zero;

    private sealed class Estimate
    {
        public TimeSpan? Current { get; set; }

        public TimeSpan? Previous { get; set; }

        public DateTimeOffset CurrentStart { get; set; }
    }
}
