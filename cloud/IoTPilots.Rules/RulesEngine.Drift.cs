using IoTPilots.Contract;

namespace IoTPilots.Rules;

/// <summary>
/// Drift rules (<see cref="RuleKind.Drift"/>): per rule, device and field, the readings are gathered into subgroups
/// of <see cref="Drift.Every"/> (by the edge's sampling clock); each subgroup's mean feeds a <see cref="DriftDetector"/>.
/// Nothing is judged until the baseline is learned. The alert is raised when the statistic passes its threshold
/// (h or L) in a watched direction, with <see cref="AlertEvent.Since"/> the change point; it is updated when the
/// mean moves a further σ away, and resolved once the statistic has stayed at or below half its threshold for the
/// rule's <c>clear_hold</c> (default five subgroups): hysteresis and an off-delay, as threshold rules have.
/// </summary>
public sealed partial class RulesEngine
{
    private readonly Dictionary<(string Rule, SeriesKey Series, string Field), DriftTrack> _drifts = [];

    /// <summary>A removed drift rule's detectors go; a changed one's learn their baseline again under the new definition.</summary>
    partial void ReloadOther(IReadOnlySet<string> removed, IReadOnlySet<string> changed)
    {
        foreach (var key in _drifts.Keys.Where(k => removed.Contains(k.Rule) || changed.Contains(k.Rule)).ToList())
        {
            _drifts.Remove(key);
        }
    }

    private AlertEvent? ObserveDrift(Rule rule, SeriesKey series, Track track, Reading reading)
    {
        var drift = rule.Drift!;
        track.LastAt = reading.Timestamp;
        var key = (rule.Id, series, reading.Field);
        if (!_drifts.TryGetValue(key, out var state))
        {
            state = new DriftTrack(new DriftDetector(drift), reading.Timestamp);
            _drifts[key] = state;
        }

        if (reading.Timestamp - state.GroupStart < drift.Every)
        {
            (state.Sum, state.Count, state.GroupEnd) = (state.Sum + reading.Value!.Value, state.Count + 1, reading.Timestamp);
            return null;
        }

        // This reading opens the next subgroup; the one it closes is judged.
        var (mean, at) = (state.Sum / state.Count, state.GroupEnd);
        (state.GroupStart, state.GroupEnd, state.Sum, state.Count) = (reading.Timestamp, reading.Timestamp, reading.Value!.Value, 1);
        return JudgeDrift(rule, drift, series, track, state, at, mean);
    }

    private AlertEvent? JudgeDrift(Rule rule, Drift drift, SeriesKey series, Track track, DriftTrack state, DateTimeOffset at, double mean)
    {
        var detector = state.Detector;
        if (!detector.Add(at, mean))
        {
            return null;
        }

        var threshold = drift.Threshold;
        if (!state.Firing)
        {
            var direction = detector.Worst;
            var (score, since) = detector.Toward(direction);
            if (score <= threshold)
            {
                return null;
            }

            (state.Firing, state.Direction, state.Since, state.Worst, state.ClearSince) = (true, direction, since, mean, null);
            return DriftEvent(AlertTransition.Raised, rule, drift, series, track, state, at, mean, score);
        }

        var (now, _) = detector.Toward(state.Direction);
        if (now <= threshold / 2)
        {
            state.ClearSince ??= at;
            var clearHold = rule.ClearHold > TimeSpan.Zero ? rule.ClearHold : drift.Every * 5;
            if (at - state.ClearSince < clearHold)
            {
                return null;
            }

            state.Firing = false;
            return DriftEvent(AlertTransition.Resolved, rule, drift, series, track, state, at, mean, now);
        }

        state.ClearSince = null;
        var further = state.Direction == DriftDirection.Down ? state.Worst - mean : mean - state.Worst;
        if (further < detector.Sigma)
        {
            return null;
        }

        // A further σ out: worth telling; every new subgroup's wobble is not.
        state.Worst = mean;
        return DriftEvent(AlertTransition.Updated, rule, drift, series, track, state, at, mean, now);
    }

    private AlertEvent DriftEvent(AlertTransition transition, Rule rule, Drift drift, SeriesKey series, Track track, DriftTrack state, DateTimeOffset at, double mean, double score)
    {
        (track.Since, track.Worst) = (state.Since, state.Worst);
        var method = drift.Method == DriftMethod.Cusum ? "CUSUM" : "EWMA";
        var detail = new DriftEvidence(method, state.Detector.Mean, state.Detector.Sigma, drift.Baseline, mean, track.Unit, state.Since, at, score, drift.Threshold);
        var evidence = new Evidence([], _inputs.TryGetValue(track.Field, out var inputs) ? inputs : [], detail);
        return Event(transition, rule, series, track, at, mean) with
        {
            Message = MessageTemplate.Render(rule, series, track.Field, track.Unit, mean, null, evidence),
            Evidence = evidence,
        };
    }

    private sealed class DriftTrack(DriftDetector detector, DateTimeOffset start)
    {
        public DriftDetector Detector { get; } = detector;

        /// <summary>Sampling time of the first and the last reading of the open subgroup, and its sum and count.</summary>
        public DateTimeOffset GroupStart { get; set; } = start;

        public DateTimeOffset GroupEnd { get; set; } = start;

        public double Sum { get; set; }

        public int Count { get; set; }

        public bool Firing { get; set; }

        public DriftDirection Direction { get; set; }

        public DateTimeOffset Since { get; set; }

        /// <summary>The subgroup mean furthest out in the alert's direction, as last reported.</summary>
        public double Worst { get; set; }

        public DateTimeOffset? ClearSince { get; set; }
    }
}
