using IoTPilots.Contract;

namespace IoTPilots.Rules;

/// <summary>Derived signals and composite rules (README, "Composite rules" and "Derived signals").</summary>
public sealed partial class RulesEngine
{
    // Latest good value of each input of a derived signal, per device (by pilot, site and device: not the gateway).
    private readonly Dictionary<(string Pilot, string Site, string Device), Dictionary<string, (DateTimeOffset At, double Value)>> _latest = [];

    // The inputs of the derived signals of the message being judged, for the evidence of the alerts it decides.
    private readonly Dictionary<string, IReadOnlyList<InputEvidence>> _inputs = [];

    private readonly Dictionary<(string Rule, string Pilot, string Site, string Device), CompositeTrack> _composites = [];

    /// <summary>The derived readings the last <see cref="Observe"/> computed (to be stored beside the measured ones).</summary>
    public IReadOnlyList<Reading> LastDerived { get; private set; } = [];

    /// <summary>
    /// The message with the derived signals that match its device appended, each stamped with the latest reading
    /// time of its inputs in this message. A signal is computed only when the message carries one of its inputs, and
    /// only from the device's latest good value of each input that is at most the signal's max_age older than that
    /// time; a bad reading of an input forgets the input's last good value (it is no longer the device's value).
    /// Not computed, rather than computed from stale data; a result without a value (division by zero) is dropped.
    /// </summary>
    private TelemetryMessage Derive(TelemetryMessage message, SeriesKey series)
    {
        _inputs.Clear();
        LastDerived = [];
        if (Derived.Count == 0)
        {
            return message;
        }

        Remember(message, series);
        List<Reading>? added = null;
        foreach (var signal in Derived)
        {
            if (!signal.Matches(series))
            {
                continue;
            }

            // Computed at the device's own reading times: the latest of its own inputs in this message.
            var fields = signal.Expression.Fields;
            var own = message.Readings.Where(r => fields.Contains(r.Field)).Select(r => r.Timestamp).ToList();
            if (own.Count == 0)
            {
                continue;
            }

            var when = own.Max();
            var inputs = new List<InputEvidence>();
            var values = new Dictionary<string, double>();
            foreach (var name in fields)
            {
                var (field, sibling) = Expression.Input(name);
                var device = sibling is null ? series.Device : Expression.SiblingOf(series.Device, sibling);
                if (device is null || !_latest.TryGetValue((series.Pilot, series.Site, device), out var known) ||
                    !known.TryGetValue(field, out var value) || when - value.At > signal.MaxAge || value.At - when > signal.MaxAge)
                {
                    break;
                }

                values[name] = value.Value;
                inputs.Add(new InputEvidence(name, value.Value, value.At, when - value.At));
            }

            if (inputs.Count < fields.Count)
            {
                continue;
            }

            var result = signal.Expression.Evaluate(f => values[f]);
            if (double.IsFinite(result))
            {
                (added ??= []).Add(new Reading(signal.Name, when, result, signal.Unit, Quality.Good));
                _inputs[signal.Name] = inputs;
            }
        }

        LastDerived = added ?? [];
        return added is null ? message : message with { Readings = [.. message.Readings, .. added] };
    }

    /// <summary>
    /// Keeps the message's readings of every field some derived signal reads from this device, as its own input or
    /// as a sibling's (<see cref="Expression.SiblingOf"/>): the latest good value, or none after a bad reading.
    /// </summary>
    private void Remember(TelemetryMessage message, SeriesKey series)
    {
        var key = (series.Pilot, series.Site, series.Device);
        foreach (var r in message.Readings)
        {
            if (!Derived.Any(d => Reads(d, series, r.Field)))
            {
                continue;
            }

            if (!_latest.TryGetValue(key, out var known))
            {
                _latest[key] = known = [];
            }

            if (r.Quality == Quality.Good && r.Value is { } v && !double.IsNaN(v))
            {
                if (!known.TryGetValue(r.Field, out var before) || before.At <= r.Timestamp)
                {
                    known[r.Field] = (r.Timestamp, v);
                }
            }
            else
            {
                known.Remove(r.Field);
            }
        }
    }

    /// <summary>Whether <paramref name="signal"/> reads <paramref name="field"/> of this device: its own input, or a sibling's.</summary>
    private static bool Reads(DerivedSignal signal, SeriesKey series, string field) =>
        signal.Expression.Fields.Any(name => Expression.Input(name) switch
        {
            (var f, null) => f == field && signal.Matches(series),
            (var f, { } sibling) => f == field && (signal.Pilot is null || signal.Pilot == series.Pilot) && series.Device.EndsWith("-" + sibling, StringComparison.Ordinal),
        });

    /// <summary>
    /// A composite rule on one message: each part's state (per device) moves on with the message's good readings of its
    /// field (a bad reading of it makes the part not hold until the next good one); then the rule is judged at the message's latest reading time. It fires when all (any) parts have held for
    /// their hold on values no older than max_age, and resolves when that is no longer so for clear_hold.
    /// </summary>
    private AlertEvent? ObserveComposite(Rule rule, Composite composite, SeriesKey series, TelemetryMessage message)
    {
        var scope = composite.PerSite ? series with { Device = series.Site } : series;
        var key = (rule.Id, scope.Pilot, scope.Site, scope.Device);
        if (!_composites.TryGetValue(key, out var track))
        {
            _composites[key] = track = new CompositeTrack { Series = scope };
        }

        var now = DateTimeOffset.MinValue;
        for (var i = 0; i < composite.Parts.Count; i++)
        {
            var part = composite.Parts[i];
            if (composite.PerSite && !part.MatchesDevice(series.Device))
            {
                continue;
            }

            foreach (var reading in message.Readings)
            {
                if (reading.Field != part.Field)
                {
                    continue;
                }

                if (!track.Parts.TryGetValue((i, series.Device), out var state))
                {
                    track.Parts[(i, series.Device)] = state = new PartState();
                }

                if (reading.Quality != Quality.Good || reading.Value is not { } v)
                {
                    // The device says it does not know this value now: its last good one is no evidence any more.
                    state.Forget();
                    now = reading.Timestamp > now ? reading.Timestamp : now;
                    continue;
                }

                if (i == 0 && track.Unit.Length == 0)
                {
                    track.Unit = reading.Unit;
                }

                if (reading.Timestamp > state.LastAt)
                {
                    state.Observe(part, reading.Timestamp, v);
                    now = reading.Timestamp > now ? reading.Timestamp : now;
                }
            }
        }

        // Judged on fresh data only: a backlog of old readings completes the record, it does not raise alerts.
        if (now <= track.LastAt)
        {
            return null;
        }

        track.LastAt = now;
        var evidence = Evaluate(composite, track, now);
        var holds = composite.All ? evidence.Parts.All(p => p.Held) : evidence.Parts.Any(p => p.Held);
        var headline = evidence.Parts[0].Value;
        switch (track.State)
        {
            case State.Normal when holds:
                var starts = evidence.Parts.Where(p => p.Held).Select(p => now - p.HeldFor!.Value).ToList();
                (track.State, track.Since, track.ClearSince) = (State.Firing, composite.All ? starts.Max() : starts.Min(), null);
                return CompositeEvent(AlertTransition.Raised, rule, track, now, headline, evidence);
            case State.Firing when holds:
                (track.ClearSince, track.Restored) = (null, false);
                return null;
            case State.Firing when track.Restored && !SeenClear(composite, track, now):
                // Restored after a restart or a standby's takeover: its parts start with no history here (a slope needs
                // half its window, a hold its time), so only a part seen back past its limit ends it, not one that has
                // not been judged again yet; else it would resolve and be raised again, once the same failure had held anew.
                return null;
            case State.Firing:
                track.ClearSince ??= now;
                if (now - track.ClearSince < rule.ClearHold)
                {
                    return null;
                }

                track.State = State.Normal;
                return CompositeEvent(AlertTransition.Resolved, rule, track, now, headline, evidence);
            default:
                return null;
        }
    }

    /// <summary>Whether the parts judged since a restore show the composite over: for <c>all</c>, one part seen clear; for <c>any</c>, every part.</summary>
    private static bool SeenClear(Composite composite, CompositeTrack track, DateTimeOffset now)
    {
        bool PartClear(int i)
        {
            var part = composite.Parts[i];
            var states = track.Parts.Where(p => p.Key.Part == i).Select(p => p.Value).ToList();
            var clear = states.Count(s => s.Judged is { } v && part.Clears(v) && now - s.JudgedAt <= composite.MaxAge);
            // A part that must hold on every device of the site is over when one is seen clear; else when all are.
            return composite.PerSite && part.AllDevices ? clear > 0 : clear > 0 && clear == states.Count;
        }

        var parts = Enumerable.Range(0, composite.Parts.Count);
        return composite.All ? parts.Any(PartClear) : parts.All(PartClear);
    }

    /// <summary>Which parts hold at <paramref name="now"/>, with the value and the devices behind each.</summary>
    private static Evidence Evaluate(Composite composite, CompositeTrack track, DateTimeOffset now)
    {
        var parts = new List<PartEvidence>();
        for (var i = 0; i < composite.Parts.Count; i++)
        {
            var part = composite.Parts[i];
            var states = track.Parts.Where(p => p.Key.Part == i).Select(p => (Device: p.Key.Device, State: p.Value)).OrderBy(p => p.Device, StringComparer.Ordinal).ToList();
            var holding = states.Where(s => s.State.HeldAt(part, now, composite.MaxAge)).ToList();
            var held = states.Count > 0 && (composite.PerSite && part.AllDevices ? holding.Count == states.Count : holding.Count > 0);
            var shown = holding.Count > 0 ? holding[0].State : states.FirstOrDefault().State;
            // Held for as long as the condition has been met: by the last device to meet it when all must, the first when one is enough.
            TimeSpan? heldFor = !held ? null : composite.PerSite && part.AllDevices ? holding.Min(s => now - s.State.HoldingSince!.Value) : holding.Max(s => now - s.State.HoldingSince!.Value);
            parts.Add(new PartEvidence(part.ToString(), held, shown?.Judged, heldFor, composite.PerSite ? [.. holding.Select(s => s.Device)] : []));
        }

        return new Evidence(parts, []);
    }

    private static AlertEvent CompositeEvent(AlertTransition transition, Rule rule, CompositeTrack track, DateTimeOffset at, double? value, Evidence evidence) =>
        new(transition, rule.Id, rule.Severity, track.Series, rule.Field, at, track.Since, value, value,
            MessageTemplate.Render(rule, track.Series, rule.Field, track.Unit, value, null, evidence), evidence);

    private void RestoreComposite(Rule rule, Alert alert) =>
        _composites[(rule.Id, alert.Series.Pilot, alert.Series.Site, alert.Series.Device)] = new CompositeTrack
        {
            Series = alert.Series,
            State = State.Firing,
            Since = alert.Since,
            LastAt = alert.UpdatedAt,
            Restored = true,
        };

    private sealed class CompositeTrack
    {
        public required SeriesKey Series { get; init; }

        public State State { get; set; }

        public DateTimeOffset Since { get; set; }

        public DateTimeOffset? ClearSince { get; set; }

        /// <summary>Restored from the store and not yet seen to hold again here.</summary>
        public bool Restored { get; set; }

        public DateTimeOffset LastAt { get; set; } = DateTimeOffset.MinValue;

        public string Unit { get; set; } = "";

        public Dictionary<(int Part, string Device), PartState> Parts { get; } = [];
    }

    /// <summary>One part of a composite on one device: holding since when, on which value (or slope), and how fresh.</summary>
    private sealed class PartState
    {
        public DateTimeOffset? HoldingSince { get; private set; }

        /// <summary>The last value (or slope) judged.</summary>
        public double? Judged { get; private set; }

        /// <summary>When the last value (or slope) was judged: a part is only as fresh as that.</summary>
        public DateTimeOffset JudgedAt { get; private set; }

        public DateTimeOffset LastAt { get; private set; } = DateTimeOffset.MinValue;

        private Queue<(DateTimeOffset At, double Value)>? _samples;

        public void Observe(Part part, DateTimeOffset at, double value)
        {
            LastAt = at;
            if (part.IsRate)
            {
                var samples = _samples ??= new();
                samples.Enqueue((at, value));
                while (samples.Peek().At < at - part.Window)
                {
                    samples.Dequeue();
                }

                // As a rate rule: no verdict until half the window is covered by at least three readings.
                if (samples.Count < 3 || at - samples.Peek().At < part.Window / 2)
                {
                    return;
                }

                value = SlopePerMinute(samples);
            }

            (Judged, JudgedAt) = (value, at);
            if (HoldingSince is null && part.Breaches(value))
            {
                HoldingSince = at;
            }
            else if (HoldingSince is not null && part.Clears(value))
            {
                HoldingSince = null;
            }
        }

        public void Forget() => JudgedAt = DateTimeOffset.MinValue;

        public bool HeldAt(Part part, DateTimeOffset now, TimeSpan maxAge) =>
            HoldingSince is { } since && now - since >= part.Hold && now - JudgedAt <= maxAge;
    }
}
