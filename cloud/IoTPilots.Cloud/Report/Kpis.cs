using IoTPilots.Rules;

namespace IoTPilots.Cloud.Report;

/// <summary>Cumulative delivery counters of a gateway (the <c>delivery</c> measurement), at one instant.</summary>
public sealed record Counters(long Received, long Missing, long Dropped);

/// <summary>One KPI's figure for the period: its value (null when the data cannot give one), met or missed, and the baseline's value.</summary>
/// <param name="PerDevice">For the per-device kinds (time below/above/outside a band, counters): each device's value.</param>
public sealed record KpiResult(KpiDefinition Definition, double? Value, string? Device, double? Baseline = null, IReadOnlyDictionary<string, double>? PerDevice = null)
{
    public bool? Met => Definition.Met(Value);

    public double? Change => Value is { } v && Baseline is { } b ? v - b : null;
}

/// <summary>The KPI arithmetic, pure (no I/O), so each figure has a unit test on known data.</summary>
public static class Kpis
{
    /// <summary>Share of the period's intervals with at least one good reading, in %.</summary>
    public static double Availability(int coveredIntervals, int intervals) => intervals <= 0 ? 0 : 100.0 * Math.Min(coveredIntervals, intervals) / intervals;

    /// <summary>
    /// The delivery within [from, to): the counters at the end minus those at the start. Counters restart at 0
    /// when a gateway restarts, so when any counter went down (or there was none before the period) the end's
    /// counters are all that the period can claim.
    /// </summary>
    public static PilotReport.Delivery DeliveryInPeriod(string gateway, Counters? atFrom, Counters atTo) =>
        atFrom is null || atTo.Received < atFrom.Received || atTo.Missing < atFrom.Missing || atTo.Dropped < atFrom.Dropped
            ? new(gateway, atTo.Received, atTo.Missing, atTo.Dropped)
            : new(gateway, atTo.Received - atFrom.Received, atTo.Missing - atFrom.Missing, atTo.Dropped - atFrom.Dropped);

    /// <summary>Time in intervals of <paramref name="interval"/> whose value satisfies <paramref name="condition"/> (intervals without data do not count).</summary>
    public static TimeSpan TimeWhere(IEnumerable<double?> intervalValues, TimeSpan interval, Func<double, bool> condition) =>
        interval * intervalValues.Count(v => v is { } x && condition(x));

    /// <summary>Median time from raising to acknowledging, over the acknowledged alerts of a severity (all when null); null when none was acknowledged.</summary>
    public static TimeSpan? MedianToAcknowledge(IEnumerable<Alert> alerts, Severity? severity) =>
        PilotReport.Percentile(alerts.Where(a => (severity is null || a.Severity == severity) && a.AcknowledgedAt is not null)
            .Select(a => a.AcknowledgedAt!.Value - a.RaisedAt).Order().ToList(), 0.5);

    /// <summary>Median time from raising to resolving (mean time to repair, as a median); null when none was resolved.</summary>
    public static TimeSpan? MedianToResolve(IEnumerable<Alert> alerts) =>
        PilotReport.Percentile(alerts.Where(a => a.ResolvedAt is not null).Select(a => a.ResolvedAt!.Value - a.RaisedAt).Order().ToList(), 0.5);

    /// <summary>Median lead time of the predictions that came true; null when none did.</summary>
    public static TimeSpan? MedianLeadTime(IEnumerable<PilotReport.Prediction> predictions) =>
        PilotReport.Percentile(predictions.Where(p => p.LeadTime is not null).Select(p => p.LeadTime!.Value).Order().ToList(), 0.5);
}
