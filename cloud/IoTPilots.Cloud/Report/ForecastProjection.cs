using IoTPilots.Rules;

namespace IoTPilots.Cloud.Report;

/// <summary>
/// What a forecast alert predicted, as a line on the key signal's chart: from the signal's value when the alert was
/// raised, straight to the rule's limit at the predicted crossing. A forecast alert's value is the hours to the
/// crossing (RulesEngine.JudgeForecast passes its ETA as the event's value; the alert store keeps it as
/// raised_value and the <c>alerts</c> measurement as <c>value</c>), so the crossing is raised at + value hours.
/// </summary>
/// <param name="AlertId">The forecast alert (its marker on the chart).</param>
/// <param name="From">When the forecast alert was raised.</param>
/// <param name="FromValue">The key signal then, read off the chart's own points.</param>
/// <param name="CrossAt">The predicted crossing.</param>
/// <param name="Limit">The limit the forecast rule extrapolates to.</param>
public sealed record ForecastProjection(long AlertId, string Device, string Rule, DateTimeOffset From, double FromValue, DateTimeOffset CrossAt, double Limit)
{
    /// <summary>The projected line's value at <paramref name="at"/> (linear between the raising and the crossing).</summary>
    public double ValueAt(DateTimeOffset at) => FromValue + ((Limit - FromValue) * ((at - From) / (CrossAt - From)));

    /// <summary>
    /// Where the drawn line ends on a chart that stops at <paramref name="to"/>: at the crossing when it falls inside,
    /// otherwise where the line leaves the chart (Inside false: the crossing was predicted for after the period).
    /// </summary>
    public (DateTimeOffset At, double Value, bool Inside) End(DateTimeOffset to) =>
        CrossAt <= to ? (CrossAt, Limit, true) : (to, ValueAt(to), false);

    /// <summary>
    /// The projection of every forecast alert on <paramref name="field"/> that has a device line to start from, a
    /// limit and a positive, finite time to the crossing; other alerts give none.
    /// </summary>
    public static IReadOnlyList<ForecastProjection> Of(
        IEnumerable<Alert> alerts, IReadOnlyList<Rule> rules, string field, IReadOnlyDictionary<string, IReadOnlyList<(DateTimeOffset At, double Value, double? Setpoint)>> signal)
    {
        var forecasts = rules.Where(r => r.Kind == RuleKind.Forecast && r.Limit is not null).ToDictionary(r => r.Id, r => r.Limit!.Value);
        var projections = new List<ForecastProjection>();
        foreach (var a in alerts)
        {
            if (a.Field == field && forecasts.TryGetValue(a.RuleId, out var limit) && a.RaisedValue is { } hours && double.IsFinite(hours) && hours > 0
                && signal.TryGetValue(a.Series.Device, out var points) && SignalAt(points, a.RaisedAt) is { } value)
            {
                projections.Add(new(a.Id, a.Series.Device, a.RuleId, a.RaisedAt, value, a.RaisedAt + TimeSpan.FromHours(hours), limit));
            }
        }

        return projections;
    }

    /// <summary>The signal at <paramref name="at"/>: linear between the chart points around it, the nearest one outside them; null without points.</summary>
    internal static double? SignalAt(IReadOnlyList<(DateTimeOffset At, double Value, double? Setpoint)> points, DateTimeOffset at)
    {
        if (points.Count == 0)
        {
            return null;
        }

        var after = 0;
        while (after < points.Count && points[after].At < at)
        {
            after++;
        }

        if (after == 0 || after == points.Count)
        {
            return points[Math.Min(after, points.Count - 1)].Value;
        }

        var (a, b) = (points[after - 1], points[after]);
        return a.Value + ((b.Value - a.Value) * ((at - a.At) / (b.At - a.At)));
    }
}
