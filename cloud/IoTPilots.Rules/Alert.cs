namespace IoTPilots.Rules;

public enum Severity
{
    Info,
    Warning,
    Critical,
}

/// <summary>Which device's signal a rule watched: one series of the telemetry measurement.</summary>
public sealed record SeriesKey(string Pilot, string Site, string Gateway, string Device)
{
    public override string ToString() => $"{Site}/{Gateway}/{Device}";
}

/// <summary>A text for people, in English and Vietnamese (farmers read Vietnamese first).</summary>
public sealed record LocalizedText(string En, string Vi)
{
    public string In(string language) => language.StartsWith("vi", StringComparison.OrdinalIgnoreCase) ? Vi : En;
}

public enum AlertTransition
{
    /// <summary>The condition held for the rule's hold time: a new alert opens.</summary>
    Raised,

    /// <summary>The condition still holds: the open alert's latest (and worst) value moves on.</summary>
    Updated,

    /// <summary>The clear condition held: the open alert closes.</summary>
    Resolved,
}

/// <summary>What the rules engine decided about one rule on one series, at the edge's sampling time <see cref="At"/>.</summary>
/// <param name="Value">The value that decided it; null for a missing-data rule.</param>
/// <param name="Worst">The furthest past the limit since the condition started (lowest for a lower limit); null for missing data.</param>
/// <param name="Since">When the condition started to hold (before the hold time).</param>
/// <param name="Evidence">For a composite rule, which conditions held; for a derived signal, the inputs it was computed from.</param>
public sealed record AlertEvent(
    AlertTransition Transition,
    string RuleId,
    Severity Severity,
    SeriesKey Series,
    string Field,
    DateTimeOffset At,
    DateTimeOffset Since,
    double? Value,
    double? Worst,
    LocalizedText Message,
    Evidence? Evidence = null);

/// <summary>
/// One alert's whole life: raised by a rule, maybe acknowledged by a person, resolved when the condition clears.
/// Acknowledging does not close it; resolving does not need an acknowledgement.
/// </summary>
public sealed record Alert(
    long Id,
    string RuleId,
    Severity Severity,
    SeriesKey Series,
    string Field,
    DateTimeOffset Since,
    DateTimeOffset RaisedAt,
    double? RaisedValue,
    double? LastValue,
    double? WorstValue,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? AcknowledgedAt,
    string? AcknowledgedBy,
    string? Note,
    DateTimeOffset? ResolvedAt,
    LocalizedText Message)
{
    /// <summary><c>open</c>, <c>acknowledged</c> (open, someone took it) or <c>resolved</c>.</summary>
    public string State => ResolvedAt is not null ? "resolved" : AcknowledgedAt is not null ? "acknowledged" : "open";
}
