using System.Text.RegularExpressions;

namespace IoTPilots.Rules;

public enum RuleKind
{
    /// <summary>The value is below or above a limit.</summary>
    Threshold,

    /// <summary>The value's slope per minute, fitted over a window, is below or above a limit.</summary>
    Rate,

    /// <summary>No good reading of the field for a while: a dead probe, device or link.</summary>
    Missing,

    /// <summary>The field's robust trend will reach a limit within a horizon: maintenance before the failure.</summary>
    Forecast,

    /// <summary>All (or any) of several conditions hold, each for its own hold time: see <see cref="Composite"/>.</summary>
    Composite,

    /// <summary>The signal's mean has drifted from its own learned baseline (CUSUM or EWMA): see <see cref="Drift"/>.</summary>
    Drift,
}

/// <summary>
/// One alert rule, as written in a rules file (see <c>rules/default.yaml</c> and the README). A rule watches one
/// field (a <c>*</c> pattern may match several) of every device it matches, each on its own.
/// </summary>
/// <param name="Below">Fires when the value (or slope) is below this; exclusive with <paramref name="Above"/>.</param>
/// <param name="Clear">Where the alert clears (hysteresis): at or above it for a lower limit, at or below it for an upper one.</param>
/// <param name="Hold">How long the condition must hold before the alert is raised (debounce), by the edge's clock.</param>
/// <param name="Window">For <see cref="RuleKind.Rate"/> and <see cref="RuleKind.Forecast"/>: the span the trend is fitted over. For <see cref="RuleKind.Missing"/>: how long without a good reading.</param>
/// <param name="Horizon">For <see cref="RuleKind.Forecast"/>: fires when the limit will be reached within this time.</param>
/// <param name="When">Judge only messages in which this other signal of the device meets its condition (a
/// machine under comparable load [docs/domain.md C4]); other messages are skipped, neither breaching nor clearing.</param>
/// <param name="Source">Where the limit comes from: a docs/domain.md key, or [U] for a value to confirm on site.</param>
/// <param name="ClearHold">Off-delay: how long the clear condition must hold before the alert resolves (zero: at once).</param>
/// <param name="Composite">For <see cref="RuleKind.Composite"/>: its parts; <paramref name="Field"/> is then the first part's.</param>
public sealed record Rule(
    string Id,
    RuleKind Kind,
    string Field,
    Severity Severity,
    double? Below,
    double? Above,
    double? Clear,
    TimeSpan Hold,
    TimeSpan Window,
    TimeSpan Horizon,
    string? Pilot,
    string? Site,
    string? Device,
    Condition? When,
    string Source,
    LocalizedText Message,
    TimeSpan ClearHold = default,
    Composite? Composite = null,
    Drift? Drift = null)
{
    private readonly Regex? _field = Pattern(Field);
    private readonly Regex? _device = Device is null ? null : Pattern(Device);
    private readonly Regex? _site = Site is null ? null : Pattern(Site);

    /// <summary>A command the rule sends when its alert is raised (issue 15), or null.</summary>
    public RuleAction? Action { get; init; }

    /// <summary>Where the rule is written (<c>file:line</c>), for messages about it; empty for a rule made in code.</summary>
    public string Location { get; init; } = "";

    /// <summary>The limit crossed: <see cref="Below"/> or <see cref="Above"/>; null for a missing-data rule.</summary>
    public double? Limit => Below ?? Above;

    /// <summary>Where the alert clears; the limit itself unless the rule sets <see cref="Clear"/>.</summary>
    public double? ClearLevel => Clear ?? Limit;

    public bool Matches(SeriesKey series) =>
        (Pilot is null || Pilot == series.Pilot) && Glob(Site, _site, series.Site) && Glob(Device, _device, series.Device);

    public bool MatchesField(string field) => Glob(Field, _field, field);

    /// <summary>True when <paramref name="value"/> is past the limit.</summary>
    public bool Breaches(double value) => Below is { } b ? value < b : value > Above!.Value;

    /// <summary>True when <paramref name="value"/> is back on the safe side of the clear level.</summary>
    public bool Clears(double value) => Below is not null ? value >= ClearLevel!.Value : value <= ClearLevel!.Value;

    /// <summary>The worse of two values for this rule: the lower for a lower limit, the higher for an upper one.</summary>
    public double Worse(double a, double b) => Below is not null ? Math.Min(a, b) : Math.Max(a, b);

    internal static bool Glob(string? glob, Regex? compiled, string value) => glob is null || (compiled?.IsMatch(value) ?? glob == value);

    /// <summary>A glob with <c>*</c> as a regex, or null for a plain name (compared exactly).</summary>
    internal static Regex? Pattern(string glob) =>
        glob.Contains('*', StringComparison.Ordinal)
            ? new Regex("^" + Regex.Escape(glob).Replace("\\*", ".*", StringComparison.Ordinal) + "$", RegexOptions.CultureInvariant)
            : null;
}

/// <summary>A condition on one signal: below and/or above a value (both: inside the band).</summary>
public sealed record Condition(string Field, double? Below, double? Above)
{
    public bool Holds(double value) => (Below is not { } b || value < b) && (Above is not { } a || value > a);

    public override string ToString() => $"{Field}{(Above is { } a ? $" > {a}" : "")}{(Below is { } b ? $" < {b}" : "")}";
}
