using System.Text.Json;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Report;

/// <summary>
/// The report of one pilot against its definition (Report/pilots.yaml): the period's figures
/// (<see cref="PilotReport.BuildAsync"/>), each KPI's value, the key signal for the chart and the money estimates.
/// </summary>
public static class PilotEvaluation
{
    /// <summary>About this many points per device on the key signal's chart.</summary>
    private const int ChartPoints = 240;

    public static async Task<PilotReport> BuildAsync(
        InfluxWriter influx, AlertStore store, IReadOnlyList<Rule> rules, PilotDefinition pilot, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var report = await PilotReport.BuildAsync(influx, store, rules, pilot.Id, from, to, cancellationToken).ConfigureAwait(false);
        var where = $"pilot = '{pilot.Id}' AND time >= {from.ToUnixTimeMilliseconds()}ms AND time < {to.ToUnixTimeMilliseconds()}ms";
        var kpis = new List<KpiResult>();
        foreach (var kpi in pilot.Kpis)
        {
            kpis.Add(await KpiAsync(influx, report, kpi, where, cancellationToken).ConfigureAwait(false));
        }

        var chartStep = TimeSpan.FromMinutes(Math.Max(1, Math.Ceiling((to - from).TotalMinutes / ChartPoints)));
        var signal = new Dictionary<string, IReadOnlyList<(DateTimeOffset, double, double?)>>();
        var setpoint = pilot.Signal.SetpointField is { } sp ? $", mean({sp})" : "";
        foreach (var device in (await PilotReport.RowsAsync(influx, $"SELECT mean({pilot.Signal.Field}){setpoint} FROM telemetry WHERE {where} GROUP BY time({(int)chartStep.TotalMinutes}m), device", cancellationToken).ConfigureAwait(false))
            .Where(r => r.Row[1].ValueKind == JsonValueKind.Number)
            .GroupBy(r => r.Tags["device"]))
        {
            signal[device.Key] = device.Select(r => (
                DateTimeOffset.FromUnixTimeMilliseconds(r.Row[0].GetInt64()),
                r.Row[1].GetDouble(),
                r.Row.Count > 2 && r.Row[2].ValueKind == JsonValueKind.Number ? r.Row[2].GetDouble() : (double?)null)).ToList();
        }

        return report with
        {
            Definition = pilot,
            KpiResults = kpis,
            Signal = signal,
            Projections = ForecastProjection.Of(report.AlertList, rules, pilot.Signal.Field, signal),
            Money = Money(pilot, report, rules),
        };
    }

    /// <summary>
    /// What the [U] values make of the period's events. stock-at-risk: each device with a critical alert on the
    /// value's field (a threshold, rate, forecast or composite rule's: the signal itself went wrong; a missing-data
    /// alert says only that it was not seen) holds one stock at risk. downtime-avoided: each forecast that came
    /// true (a limit crossing predicted before it happened) avoided hours_per_prediction hours of unplanned stop.
    /// </summary>
    internal static IReadOnlyList<PilotReport.MoneyEstimate> Money(PilotDefinition pilot, PilotReport report, IReadOnlyList<Rule> rules)
    {
        var missing = rules.Where(r => r.Kind == RuleKind.Missing).Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        return pilot.Values.Select(v =>
        {
            var devices = v.Kind == "stock-at-risk"
                ? report.AlertList.Where(a => a.Severity == Severity.Critical && a.Field == v.Field && !missing.Contains(a.RuleId)).Select(a => a.Series.Device).Distinct().Order(StringComparer.Ordinal).ToList()
                : report.Predictions.Where(p => p.FailedAt is not null).Select(p => p.Device).Order(StringComparer.Ordinal).ToList();
            var events = devices.Count;
            var amount = v.Kind == "stock-at-risk" ? events * v.Amount : events * v.HoursPerPrediction * v.Amount;
            return new PilotReport.MoneyEstimate(v, events, amount, devices);
        }).ToList();
    }

    private static async Task<KpiResult> KpiAsync(InfluxWriter influx, PilotReport report, KpiDefinition kpi, string where, CancellationToken cancellationToken)
    {
        var minutes = (int)report.Bucket.TotalMinutes;
        switch (kpi.Kind)
        {
            case "availability":
                return new(kpi, report.Devices.Count == 0 ? null : report.Devices.Average(d => d.AvailablePercent), report.Devices.MinBy(d => d.AvailablePercent)?.Name);
            case "ack-median":
                var severity = Enum.Parse<Severity>(kpi.Severity!, ignoreCase: true);
                return new(kpi, Kpis.MedianToAcknowledge(report.AlertList, severity)?.TotalMinutes, null);
            case "lead-time":
                return new(kpi, report.MedianLeadTime?.TotalHours, null);
            case "counter-increase":
                var counts = (await PilotReport.RowsAsync(influx, $"SELECT max({kpi.Field}) - min({kpi.Field}) FROM telemetry WHERE {where} GROUP BY device", cancellationToken).ConfigureAwait(false))
                    .Where(r => r.Row[1].ValueKind == JsonValueKind.Number)
                    .Select(r => (Device: r.Tags["device"], Value: r.Row[1].GetDouble() / (kpi.PerHour ? (report.To - report.From).TotalHours : 1)))
                    .ToList();
                var lowest = counts.Count == 0 ? default : counts.MinBy(c => c.Value);
                return new(kpi, counts.Count == 0 ? null : lowest.Value, lowest.Device, PerDevice: counts.ToDictionary(c => c.Device, c => c.Value));
            default:
                var aggregate = kpi.Kind switch { "time-below" => "min", "time-above" => "max", _ => "mean" };
                var setpoint = kpi.SetpointField is { } sp ? $", mean({sp})" : "";
                var rows = await PilotReport.RowsAsync(influx, $"SELECT {aggregate}({kpi.Field}){setpoint} FROM telemetry WHERE {where} GROUP BY time({minutes}m), device", cancellationToken).ConfigureAwait(false);
                var perDevice = rows.GroupBy(r => r.Tags["device"]).Select(g => (Device: g.Key, Time: kpi.Kind switch
                {
                    "time-below" => Kpis.TimeWhere(g.Select(r => Number(r.Row[1])), report.Bucket, v => v < kpi.Limit),
                    "time-above" => Kpis.TimeWhere(g.Select(r => Number(r.Row[1])), report.Bucket, v => v > kpi.Limit),
                    _ => Kpis.TimeWhere(g.Select(r => Number(r.Row[2]) is { } s && Number(r.Row[1]) is { } t ? Math.Abs(t - s) : (double?)null), report.Bucket, d => d > kpi.Tolerance),
                })).ToList();
                if (perDevice.Count == 0)
                {
                    return new(kpi, null, null);
                }

                double Value(TimeSpan time) => kpi.Unit == "h" ? time.TotalHours : time.TotalMinutes;
                var worst = perDevice.MaxBy(d => d.Time);
                return new(kpi, Value(worst.Time), worst.Device, PerDevice: perDevice.ToDictionary(d => d.Device, d => Value(d.Time)));
        }
    }

    private static double? Number(JsonElement v) => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}
