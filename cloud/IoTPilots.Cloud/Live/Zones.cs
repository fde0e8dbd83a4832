using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Live;

/// <summary>A tile's or a signal's colour: grey (nothing judged), green, amber, red.</summary>
public enum Level
{
    Unknown,
    Ok,
    Warning,
    Critical,
}

/// <summary>One limit of a threshold rule on a signal, as the page draws it on the sparkline.</summary>
public sealed record Limit(string Rule, Level Level, double? Below, double? Above);

/// <summary>
/// The colour of a reading from the loaded rules themselves: the threshold rules (the ISO 10816 zone boundaries are
/// threshold rules too, <c>rules/default.yaml</c>) judged the way <see cref="RulesEngine"/> judges them, so the view
/// and the alerts never disagree: same pilot/site/device match, same field glob, same <c>when</c> condition on the
/// same message, good readings only. The colour is the zone the value is in now; the alert is that zone held for
/// the rule's hold time, and it stays open until the value passes the clear level, so a device with an open alert
/// is shown at least at the alert's colour (<see cref="Of(Severity)"/>, applied by <see cref="PlantState"/>).
/// Pure.
/// </summary>
public sealed class Zones(IReadOnlyList<Rule> rules)
{
    private readonly Rule[] _thresholds = [.. rules.Where(r => r.Kind == RuleKind.Threshold)];
    private readonly Rule[] _all = [.. rules];

    // An engine with no rules, for the derived signals of the rules files alone: the same latest-good-values and
    // max_age the rules engine derives with, so the tile's zone is the one stored in InfluxDB's `derived`.
    private readonly RulesEngine? _derive = rules is RuleBook { Derived.Count: > 0 } book ? new RulesEngine([], book.Derived) : null;
    private readonly Lock _deriveGate = new();

    /// <summary>The message with the derived signals that match its device appended (none without derived signals).</summary>
    public TelemetryMessage WithDerived(TelemetryMessage message)
    {
        if (_derive is null)
        {
            return message;
        }

        lock (_deriveGate)
        {
            _derive.Observe(message);
            return _derive.LastDerived is { Count: > 0 } derived ? message with { Readings = [.. message.Readings, .. derived] } : message;
        }
    }

    /// <summary>Info alerts inform; only warnings and criticals colour a tile.</summary>
    public static Level Of(Severity severity) => severity switch
    {
        Severity.Critical => Level.Critical,
        Severity.Warning => Level.Warning,
        _ => Level.Ok,
    };

    /// <summary>The level of each reading of <paramref name="message"/>: unknown for a reading that is not good.</summary>
    public Level Judge(TelemetryMessage message, SeriesKey series, Reading reading)
    {
        if (reading.Quality != Quality.Good || reading.Value is not { } value)
        {
            return Level.Unknown;
        }

        var level = Level.Ok;
        foreach (var rule in _thresholds)
        {
            if (rule.Matches(series) && rule.MatchesField(reading.Field) && Applies(rule.When, message) && rule.Breaches(value))
            {
                level = Max(level, Of(rule.Severity));
            }
        }

        return level;
    }

    /// <summary>The threshold limits on a signal of a device (for the sparkline's limit lines).</summary>
    public IReadOnlyList<Limit> LimitsOf(SeriesKey series, string field) =>
        [.. _thresholds.Where(r => r.Matches(series) && r.MatchesField(field)).Select(r => new Limit(r.Id, Of(r.Severity), r.Below, r.Above))];

    /// <summary>Whether any rule watches this signal of this device: its key signals, shown first and with a sparkline.</summary>
    public bool Watches(SeriesKey series, string field) => _all.Any(r => r.Matches(series) && r.MatchesField(field));

    public static Level Max(Level a, Level b) => a >= b ? a : b;

    /// <summary>As <c>RulesEngine</c>: a rule with a condition judges only messages whose good reading of that signal meets it.</summary>
    private static bool Applies(Condition? when, TelemetryMessage message) =>
        when is null || message.Readings.Any(r => r.Field == when.Field && r.Quality == Quality.Good && r.Value is { } v && when.Holds(v));
}
