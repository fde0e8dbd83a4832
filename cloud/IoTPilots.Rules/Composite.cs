using System.Text.RegularExpressions;

namespace IoTPilots.Rules;

/// <summary>
/// The parts of a composite rule: it fires while all of them (<see cref="All"/>) or any of them hold, each part for
/// its own hold time, on the device's latest good values no older than <see cref="MaxAge"/> (a part whose signal has
/// gone quiet for longer counts as not holding: a silent probe is the missing-data rules' business, not evidence).
/// </summary>
/// <param name="PerSite">False: judged per device, on that device's fields. True: judged per site, each part over the
/// site's devices its <see cref="Part.Device"/> glob matches (all of them or any, <see cref="Part.AllDevices"/>).</param>
public sealed record Composite(bool All, IReadOnlyList<Part> Parts, TimeSpan MaxAge, bool PerSite)
{
    public string Mode => All ? "all" : "any";
}

/// <summary>One condition of a composite rule: a level (or, with a <see cref="Window"/>, a slope per minute) below or above a limit.</summary>
/// <param name="Clear">Where the part stops holding (hysteresis); the limit itself when null.</param>
/// <param name="Window">Zero for a level; otherwise the slope per minute is fitted over this window, as a rate rule does.</param>
/// <param name="Device">For a per-site rule: which of the site's devices the part watches (glob); null: all the rule matches.</param>
/// <param name="AllDevices">For a per-site rule: true when every watched device must meet the part, false when one is enough.</param>
public sealed record Part(string Field, double? Below, double? Above, double? Clear, TimeSpan Hold, TimeSpan Window, string? Device, bool AllDevices)
{
    private readonly Regex? _device = Device is null ? null : Rule.Pattern(Device);

    public double Limit => (Below ?? Above)!.Value;

    public bool IsRate => Window > TimeSpan.Zero;

    public bool Breaches(double value) => Below is { } b ? value < b : value > Above!.Value;

    public bool Clears(double value) => Below is not null ? value >= (Clear ?? Below.Value) : value <= (Clear ?? Above!.Value);

    public bool MatchesDevice(string device) => Rule.Glob(Device, _device, device);

    /// <summary>The condition as people read it: <c>do_mg_l slope &lt; -0.1/min</c>.</summary>
    public override string ToString() => $"{Field}{(IsRate ? " slope" : "")} {(Below is not null ? "<" : ">")} {MessageTemplate.Number(Limit, vietnamese: false)}{(IsRate ? "/min" : "")}";
}

/// <summary>
/// A signal computed from a device's other fields, declared in a rules file (<c>derived:</c>): judged by rules as if the
/// device had sent it. It is computed at each reading time of one of its inputs, from the device's latest good value of
/// every input, and only when each of them is at most <see cref="MaxAge"/> older than that reading time; otherwise it is
/// not computed at all (never from a stale or bad value).
/// </summary>
public sealed record DerivedSignal(string Name, string Unit, Expression Expression, TimeSpan MaxAge, string? Pilot, string? Site, string? Device, string Source)
{
    private readonly Regex? _device = Device is null ? null : Rule.Pattern(Device);
    private readonly Regex? _site = Site is null ? null : Rule.Pattern(Site);

    public bool Matches(SeriesKey series) =>
        (Pilot is null || Pilot == series.Pilot) && Rule.Glob(Site, _site, series.Site) && Rule.Glob(Device, _device, series.Device);
}

/// <summary>What one or more rules files declare: the rules, and the derived signals they may judge.</summary>
public sealed class RuleBook(IReadOnlyList<Rule> rules, IReadOnlyList<DerivedSignal> derived) : IReadOnlyList<Rule>
{
    public IReadOnlyList<Rule> Rules { get; } = rules;

    public IReadOnlyList<DerivedSignal> Derived { get; } = derived;

    public int Count => Rules.Count;

    public Rule this[int index] => Rules[index];

    /// <summary>Two books as one (e.g. the shipped rules and the demo's); names must not collide, as within a folder.</summary>
    public RuleBook With(RuleBook other) => new([.. Rules, .. other.Rules], [.. Derived, .. other.Derived]);

    public IEnumerator<Rule> GetEnumerator() => Rules.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
