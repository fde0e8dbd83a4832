using IoTPilots.Contract;

namespace IoTPilots.Rules;

/// <summary>
/// Evaluates alert rules over the telemetry stream. Pure and single-threaded: messages in, <see cref="AlertEvent"/>s
/// out; the caller stores them. Each rule keeps its own state per device and field:
/// <list type="bullet">
/// <item>threshold and rate rules go normal → pending (the condition holds) → firing (it held for the rule's
/// hold time, by the edge's sampling clock) → normal again once the value is back past the clear level
/// (hysteresis), so a value dithering at the limit raises one alert, not fifty;</item>
/// <item>missing-data rules fire from <see cref="Tick"/> when no good reading arrived for their window, and
/// resolve on the next good reading;</item>
/// <item>forecast rules fire when the field's robust trend will reach the limit within the horizon; their
/// value is the time to the crossing, in hours.</item>
/// </list>
/// Only good readings are judged; a reading older than the last one judged for its rule and device is skipped
/// (backlog sent after an outage updates the record, not today's alerts). Values that worsen while firing give
/// <see cref="AlertTransition.Updated"/>.
/// </summary>
public sealed partial class RulesEngine
{
    private readonly Dictionary<(string Rule, SeriesKey Series, string Field), Track> _tracks = [];
    private Dictionary<string, Rule> _byId;

    public RulesEngine(IReadOnlyList<Rule> rules, IReadOnlyList<DerivedSignal>? derived = null)
    {
        Rules = rules;
        Derived = derived ?? [];
        _byId = rules.ToDictionary(r => r.Id);
    }

    /// <summary>The rules and the derived signals of rules files (<see cref="RuleSet.Load"/>).</summary>
    public RulesEngine(RuleBook book)
        : this(book.Rules, book.Derived)
    {
    }

    private enum State
    {
        Normal,
        Pending,
        Firing,
    }

    public IReadOnlyList<Rule> Rules { get; private set; }

    public IReadOnlyList<DerivedSignal> Derived { get; private set; }

    /// <summary>How many rule-device-field combinations are being watched.</summary>
    public int Tracked => _tracks.Count;

    public IReadOnlyList<AlertEvent> Observe(TelemetryMessage message)
    {
        var series = new SeriesKey(message.Pilot, message.Site, message.Gateway, message.Device);
        message = Derive(message, series);
        var events = new List<AlertEvent>();
        foreach (var rule in Rules)
        {
            if (!rule.Matches(series) || (rule.When is { } when && !Holds(when, message)))
            {
                continue;
            }

            if (rule.Composite is { } composite)
            {
                if (ObserveComposite(rule, composite, series, message) is { } c)
                {
                    events.Add(c);
                }

                continue;
            }

            foreach (var reading in message.Readings)
            {
                if (!rule.MatchesField(reading.Field))
                {
                    continue;
                }

                var track = TrackOf(rule, series, reading);
                var good = reading.Quality == Quality.Good && reading.Value is not null;
                var e = rule.Kind switch
                {
                    RuleKind.Missing => ObserveMissing(rule, series, track, reading, good),
                    _ when !good || reading.Timestamp <= track.LastAt => null,
                    RuleKind.Threshold => Judge(rule, series, track, reading.Timestamp, reading.Value!.Value),
                    RuleKind.Forecast => ObserveForecast(rule, series, track, reading),
                    RuleKind.Drift => ObserveDrift(rule, series, track, reading),
                    _ => ObserveRate(rule, series, track, reading),
                };
                if (e is not null)
                {
                    events.Add(e);
                }
            }
        }

        return events;
    }

    /// <summary>True when the message has a good reading of the condition's signal that meets it.</summary>
    private static bool Holds(Condition when, TelemetryMessage message) =>
        message.Readings.Any(r => r.Field == when.Field && r.Quality == Quality.Good && r.Value is { } v && when.Holds(v));

    /// <summary>Raises missing-data alerts for every watched field that has had no good reading for its rule's window.</summary>
    public IReadOnlyList<AlertEvent> Tick(DateTimeOffset now)
    {
        var events = new List<AlertEvent>();
        _inputs.Clear();
        foreach (var ((ruleId, series, _), track) in _tracks)
        {
            var rule = _byId[ruleId];
            // Silence by the gateway's own clock (its readings' stamps are on it): skew raises no false alert and hides no silence.
            if (rule.Kind != RuleKind.Missing || track.State == State.Firing || Clocks.Now(series.Gateway, now) - track.LastGood <= rule.Window)
            {
                continue;
            }

            track.State = State.Firing;
            track.Since = track.LastGood;
            events.Add(Event(AlertTransition.Raised, rule, series, track, now, null));
        }

        return events;
    }

    /// <summary>
    /// Picks up alerts still open from before a restart, so that they resolve when their condition clears instead
    /// of staying open for ever, and are not raised a second time. Alerts of rules no longer loaded are left alone.
    /// </summary>
    public void Restore(IEnumerable<Alert> unresolved)
    {
        foreach (var alert in unresolved)
        {
            if (!_byId.TryGetValue(alert.RuleId, out var rule))
            {
                continue;
            }

            if (rule.Kind == RuleKind.Composite)
            {
                RestoreComposite(rule, alert);
                continue;
            }

            _tracks[(rule.Id, alert.Series, alert.Field)] = new Track
            {
                State = State.Firing,
                Since = alert.Since,
                Worst = alert.WorstValue ?? 0,
                LastAt = alert.UpdatedAt,
                LastGood = alert.Since,
                Field = alert.Field,
                Unit = "",
            };
        }
    }

    private Track TrackOf(Rule rule, SeriesKey series, Reading reading)
    {
        var key = (rule.Id, series, reading.Field);
        if (!_tracks.TryGetValue(key, out var track))
        {
            // First sight of this device's field: the silence a missing-data rule measures starts now.
            track = new Track { LastGood = reading.Timestamp, LastAt = DateTimeOffset.MinValue, Field = reading.Field, Unit = reading.Unit };
            _tracks[key] = track;
        }

        if (track.Unit.Length == 0)
        {
            track.Unit = reading.Unit;
        }

        return track;
    }

    private AlertEvent? ObserveMissing(Rule rule, SeriesKey series, Track track, Reading reading, bool good)
    {
        var assumed = track.Assumed;
        // A series expected but never heard from starts its silence at the seeding time on the cloud's clock; its
        // first good reading, whatever the gateway's clock says, is the first real one.
        if (!good || (reading.Timestamp <= track.LastGood && !track.Assumed))
        {
            return null;
        }

        (track.LastGood, track.Assumed) = (reading.Timestamp, false);
        if (track.State != State.Firing || (reading.Timestamp <= track.Since && !assumed))
        {
            return null;
        }

        track.State = State.Normal;
        return Event(AlertTransition.Resolved, rule, series, track, reading.Timestamp, reading.Value);
    }

    /// <summary>Adds a good reading to the track's samples and drops those that fell out of the rule's window.</summary>
    private static Queue<(DateTimeOffset At, double Value)> Slide(Rule rule, Track track, Reading reading)
    {
        var samples = track.Samples ??= new Queue<(DateTimeOffset, double)>();
        samples.Enqueue((reading.Timestamp, reading.Value!.Value));
        while (samples.Peek().At < reading.Timestamp - rule.Window)
        {
            samples.Dequeue();
        }

        track.LastAt = reading.Timestamp;
        return samples;
    }

    private AlertEvent? ObserveRate(Rule rule, SeriesKey series, Track track, Reading reading)
    {
        var samples = Slide(rule, track, reading);
        var span = reading.Timestamp - samples.Peek().At;
        if (samples.Count < 3 || span < rule.Window / 2)
        {
            // Too little of the window to call it a trend yet.
            return null;
        }

        return Judge(rule, series, track, reading.Timestamp, SlopePerMinute(samples));
    }

    /// <summary>
    /// A forecast: the window is cut into <see cref="ForecastBuckets"/> buckets, each reduced to its extreme on the
    /// limit's side (the peak for an upper limit: a crane's vibration at load, not while it idles), and a
    /// Theil–Sen line (median of pairwise slopes: robust to outliers and duty cycles) is fitted through them and
    /// extrapolated to the limit [docs/domain.md section 5, RUL by trend]. The quartiles of the pairwise slopes give the range.
    /// Judged about 40 times per window, once three quarters of it are covered; it fires when the crossing is
    /// within the rule's horizon and at least three quarters of the pairwise slopes head for the limit (noise
    /// around a flat level does not), and clears when, for a whole window, the crossing has been more than 1.5
    /// horizons away or the trend has turned.
    /// </summary>
    private AlertEvent? ObserveForecast(Rule rule, SeriesKey series, Track track, Reading reading)
    {
        var samples = Slide(rule, track, reading);
        var now = reading.Timestamp;
        if (now - track.LastFit < rule.Window / 40 || now - samples.Peek().At < rule.Window * 0.75)
        {
            return null;
        }

        track.LastFit = now;
        var (enough, eta) = Forecast(rule, samples, now);
        return enough ? JudgeForecast(rule, series, track, now, eta) : null;
    }

    // Few enough buckets that each holds several samples (so its peak is a running value, not an idle one).
    private const int ForecastBuckets = 12;

    /// <summary>When the trend reaches the limit, or null when it is not heading there; not enough data to tell is not a verdict.</summary>
    internal static (bool Enough, Eta? Eta) Forecast(Rule rule, IEnumerable<(DateTimeOffset At, double Value)> samples, DateTimeOffset now)
    {
        var upper = rule.Above is not null;
        var width = rule.Window / ForecastBuckets;
        var start = now - rule.Window;
        var buckets = samples
            .GroupBy(p => Math.Clamp((int)((p.At - start) / width), 0, ForecastBuckets - 1))
            .Select(g => (Hours: (start + (width * (g.Key + 0.5)) - now).TotalHours, Value: upper ? g.Max(p => p.Value) : g.Min(p => p.Value)))
            .ToList();
        // Half the buckets: a crane lifts in spells, and a 'when' condition leaves the idle stretches empty.
        if (buckets.Count < ForecastBuckets / 2)
        {
            return (false, null);
        }

        var slopes = new List<double>();
        for (var i = 0; i < buckets.Count; i++)
        {
            for (var j = i + 1; j < buckets.Count; j++)
            {
                slopes.Add((buckets[j].Value - buckets[i].Value) / (buckets[j].Hours - buckets[i].Hours));
            }
        }

        slopes.Sort();
        var slope = Quantile(slopes, 0.5);
        var level = Median(buckets.Select(b => b.Value - (slope * b.Hours)));
        // Distance to go towards the limit, and the speed towards it (both positive when heading there).
        var distance = upper ? rule.Above!.Value - level : level - rule.Below!.Value;
        var speed = upper ? slope : -slope;
        if (distance <= 0)
        {
            return (true, new Eta(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero));
        }

        if (speed <= 0)
        {
            return (true, null);
        }

        var fast = upper ? Quantile(slopes, 0.75) : -Quantile(slopes, 0.25);
        var slow = upper ? Quantile(slopes, 0.25) : -Quantile(slopes, 0.75);
        return (true, new Eta(
            TimeSpan.FromHours(distance / speed),
            TimeSpan.FromHours(distance / Math.Max(fast, speed)),
            slow > 0 ? TimeSpan.FromHours(distance / slow) : null));
    }

    private AlertEvent? JudgeForecast(Rule rule, SeriesKey series, Track track, DateTimeOffset at, Eta? eta)
    {
        var hours = eta?.Likely.TotalHours;
        // Only a trend most of the evidence agrees on: three quarters of the pairwise slopes head for the limit.
        var breaches = eta is { Latest: not null } && eta.Likely <= rule.Horizon;
        var clears = eta is null || eta.Likely > rule.Horizon * 1.5;
        // A forecast clears only when it has said so for a whole window: one noisy fit does not end it.
        track.ClearSince = track.State == State.Firing && clears ? track.ClearSince ?? at : null;
        switch (track.State)
        {
            case State.Normal when breaches:
                (track.State, track.Since, track.Worst) = (State.Pending, at, hours!.Value);
                return rule.Hold <= TimeSpan.Zero ? RaiseForecast() : null;
            case State.Pending when breaches:
                track.Worst = Math.Min(track.Worst, hours!.Value);
                return at - track.Since >= rule.Hold ? RaiseForecast() : null;
            case State.Pending:
                track.State = State.Normal;
                return null;
            case State.Firing when clears && at - track.ClearSince >= rule.Window:
                track.State = State.Normal;
                return Event(AlertTransition.Resolved, rule, series, track, at, hours, eta);
            case State.Firing when breaches && hours < track.Worst * 0.8:
                // Sooner than last said by a fifth: worth telling; smaller wobbles are not.
                track.Worst = hours!.Value;
                return Event(AlertTransition.Updated, rule, series, track, at, hours, eta);
            default:
                return null;
        }

        AlertEvent RaiseForecast()
        {
            track.State = State.Firing;
            return Event(AlertTransition.Raised, rule, series, track, at, hours, eta);
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return Quantile(sorted, 0.5);
    }

    /// <summary>Linear-interpolated quantile of a sorted list.</summary>
    private static double Quantile(List<double> sorted, double q)
    {
        var position = q * (sorted.Count - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + ((sorted[high] - sorted[low]) * (position - low));
    }

    /// <summary>The state machine shared by threshold and rate rules; <paramref name="value"/> is the value or the slope.</summary>
    private AlertEvent? Judge(Rule rule, SeriesKey series, Track track, DateTimeOffset at, double value)
    {
        track.LastAt = at;
        switch (track.State)
        {
            case State.Normal when rule.Breaches(value):
                (track.State, track.Since, track.Worst) = (State.Pending, at, value);
                return rule.Hold <= TimeSpan.Zero ? Raise(rule, series, track, at, value) : null;
            case State.Pending when rule.Breaches(value):
                track.Worst = rule.Worse(track.Worst, value);
                return at - track.Since >= rule.Hold ? Raise(rule, series, track, at, value) : null;
            case State.Pending:
                track.State = State.Normal;
                return null;
            case State.Firing when rule.Clears(value):
                // Off-delay: resolved once the value has stayed clear for the rule's clear_hold, by the edge's clock.
                track.ClearSince ??= at;
                if (at - track.ClearSince < rule.ClearHold)
                {
                    return null;
                }

                (track.State, track.ClearSince) = (State.Normal, null);
                return Event(AlertTransition.Resolved, rule, series, track, at, value);
            case State.Firing:
                track.ClearSince = null;
                if (rule.Breaches(value) && rule.Worse(track.Worst, value) != track.Worst)
                {
                    track.Worst = value;
                    return Event(AlertTransition.Updated, rule, series, track, at, value);
                }

                return null;
            default:
                return null;
        }
    }

    private AlertEvent Raise(Rule rule, SeriesKey series, Track track, DateTimeOffset at, double value)
    {
        track.State = State.Firing;
        return Event(AlertTransition.Raised, rule, series, track, at, value);
    }

    private AlertEvent Event(AlertTransition transition, Rule rule, SeriesKey series, Track track, DateTimeOffset at, double? value, Eta? eta = null)
    {
        var evidence = _inputs.TryGetValue(track.Field, out var inputs) ? new Evidence([], inputs) : null;
        return new(
            transition,
            rule.Id,
            rule.Severity,
            series,
            track.Field,
            at,
            track.Since,
            value,
            rule.Kind == RuleKind.Missing ? null : track.Worst,
            MessageTemplate.Render(rule, series, track.Field, track.Unit, rule.Kind == RuleKind.Missing && transition == AlertTransition.Raised ? null : value, eta, evidence),
            evidence);
    }

    /// <summary>Least-squares slope of the samples, in value units per minute.</summary>
    internal static double SlopePerMinute(IEnumerable<(DateTimeOffset At, double Value)> samples)
    {
        var points = samples.ToList();
        var t0 = points[0].At;
        var xs = points.Select(p => (p.At - t0).TotalMinutes).ToList();
        var meanX = xs.Average();
        var meanY = points.Average(p => p.Value);
        double sxy = 0, sxx = 0;
        for (var i = 0; i < points.Count; i++)
        {
            sxy += (xs[i] - meanX) * (points[i].Value - meanY);
            sxx += (xs[i] - meanX) * (xs[i] - meanX);
        }

        return sxx == 0 ? 0 : sxy / sxx;
    }

    private sealed class Track
    {
        public State State { get; set; }

        public DateTimeOffset Since { get; set; }

        public double Worst { get; set; }

        /// <summary>Sampling time of the last reading judged (threshold, rate).</summary>
        public DateTimeOffset LastAt { get; set; }

        /// <summary>Sampling time of the last good reading, or of first sight (missing).</summary>
        public DateTimeOffset LastGood { get; set; }

        /// <summary>Missing: expected and never heard from, so <see cref="LastGood"/> is the seeding time, not a reading's.</summary>
        public bool Assumed { get; set; }

        public required string Field { get; init; }

        public required string Unit { get; set; }

        public Queue<(DateTimeOffset At, double Value)>? Samples { get; set; }

        /// <summary>When a forecast was last fitted.</summary>
        public DateTimeOffset LastFit { get; set; }

        /// <summary>Since when a firing forecast has said the crossing is far off or not coming.</summary>
        public DateTimeOffset? ClearSince { get; set; }
    }
}
