using System.Globalization;
using System.Text.Json;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Report;

/// <summary>
/// The pilot evaluation report for a program manager: over a period, for one pilot, how available the data was,
/// what the alerts were and how fast people handled them, which failures were predicted before they happened,
/// how long devices were silent, and the output the data can show; tied to the roadmap item the pilot serves
/// (shared/CONTEXT.md). Figures come from InfluxDB (telemetry, delivery) and the alert store.
/// </summary>
public sealed record PilotReport(
    string Pilot,
    string RoadmapItem,
    DateTimeOffset From,
    DateTimeOffset To,
    TimeSpan Bucket,
    IReadOnlyList<PilotReport.Device> Devices,
    IReadOnlyList<PilotReport.Delivery> Gateways,
    PilotReport.AlertFigures Alerts,
    IReadOnlyList<PilotReport.Prediction> Predictions,
    int UnpredictedFailures,
    IReadOnlyList<(string What, string Value)> Output)
{
    /// <summary>The pilot's definition (Report/pilots.yaml), when the report was built from one.</summary>
    public PilotDefinition? Definition { get; init; }

    /// <summary>Every alert raised in the period, oldest first (charts, the alert table).</summary>
    public IReadOnlyList<Alert> AlertList { get; init; } = [];

    /// <summary>The site of each device.</summary>
    public IReadOnlyDictionary<string, string> SiteOf { get; init; } = new Dictionary<string, string>();

    /// <summary>Each KPI of the definition with its value for the period.</summary>
    public IReadOnlyList<KpiResult> KpiResults { get; init; } = [];

    /// <summary>The key signal per device, one mean per chart interval (time, value, setpoint when the signal has one).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(DateTimeOffset At, double Value, double? Setpoint)>> Signal { get; init; } =
        new Dictionary<string, IReadOnlyList<(DateTimeOffset, double, double?)>>();

    /// <summary>Where each forecast alert on the key signal predicted its limit would be crossed (drawn on the signal's chart).</summary>
    public IReadOnlyList<ForecastProjection> Projections { get; init; } = [];

    /// <summary>The automatic actions of the period (rules' and gateways' own commands to the sites), oldest first (<see cref="ReportActions"/>).</summary>
    public IReadOnlyList<Commands.CommandRecord> Actions { get; init; } = [];

    /// <summary>The money estimates: what each [U] value turns the period's events into.</summary>
    public IReadOnlyList<MoneyEstimate> Money { get; init; } = [];

    public sealed record MoneyEstimate(ValueDefinition Value, int Events, double Amount, IReadOnlyList<string> Devices);

    /// <param name="AvailablePercent">Share of the period's buckets with at least one good reading.</param>
    /// <param name="Silent">Time under a missing-data alert within the period.</param>
    public sealed record Device(string Name, double AvailablePercent, long GoodReadings, long NotGoodReadings, TimeSpan Silent);

    public sealed record Delivery(string Gateway, long Received, long Missing, long Dropped)
    {
        public double CompletePercent => Received + Missing + Dropped == 0 ? 100 : 100.0 * Received / (Received + Missing + Dropped);
    }

    public sealed record AlertFigures(
        int Raised,
        IReadOnlyDictionary<Severity, int> BySeverity,
        IReadOnlyList<(string Rule, int Count)> ByRule,
        int Acknowledged,
        TimeSpan? MedianToAcknowledge,
        TimeSpan? P90ToAcknowledge,
        TimeSpan? MedianToResolve,
        int StillOpen);

    /// <param name="FailedAt">When the limit was actually crossed (a critical threshold alert on the same device and field), if it was.</param>
    public sealed record Prediction(string Device, string Field, string Rule, DateTimeOffset PredictedAt, DateTimeOffset? FailedAt)
    {
        public TimeSpan? LeadTime => FailedAt - PredictedAt;
    }

    /// <summary>Median lead time of the predictions that came true; null when none did.</summary>
    public TimeSpan? MedianLeadTime => Kpis.MedianLeadTime(Predictions);

    /// <summary>The roadmap items each pilot serves (shared/CONTEXT.md, 2026-2030).</summary>
    public static string RoadmapItemOf(string pilot) => pilot switch
    {
        Pilots.Factory => "Smart factory (steel): IIoT linking machines to MES/ERP; sensors on furnaces, rolling mills and cooling systems; predictive maintenance to cut downtime; real-time monitoring; energy optimisation",
        Pilots.Port => "Port: remote-controlled cranes at container berths; a smart-port operation centre with IoT and digital twin",
        _ => "Aquaculture: closed recirculating (RAS) systems for intensive shrimp farming; IoT water-quality monitoring; early warning",
    };

    public static async Task<PilotReport> BuildAsync(
        InfluxWriter influx, AlertStore store, IReadOnlyList<Rule> rules, string pilot, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var bucket = to - from <= TimeSpan.FromDays(2) ? TimeSpan.FromMinutes(1) : TimeSpan.FromMinutes(10);
        var where = $"pilot = '{pilot}' AND time >= {from.ToUnixTimeMilliseconds()}ms AND time < {to.ToUnixTimeMilliseconds()}ms";
        // Every alert raised in the period (no page limit: a report must count them all), and for silent time also
        // the missing-data alerts raised in the month before it that may still have been open.
        var recent = store.List(new AlertQuery(State: "all", Pilot: pilot, Since: from.AddDays(-30), Limit: int.MaxValue)).Where(a => a.RaisedAt < to).ToList();
        var alerts = recent.Where(a => a.RaisedAt >= from).ToList();

        // Availability: buckets with any good reading, per device.
        var buckets = (int)Math.Ceiling((to - from) / bucket);
        var covered = new Dictionary<string, (int Buckets, long Readings)>();
        var siteOf = new Dictionary<string, string>();
        foreach (var (tags, row) in await RowsAsync(influx, $"SELECT count(*) FROM telemetry WHERE {where} GROUP BY time({(int)bucket.TotalMinutes}m), device, site", cancellationToken).ConfigureAwait(false))
        {
            siteOf[tags["device"]] = tags.GetValueOrDefault("site", "");
            var readings = row.Skip(1).Sum(v => v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0);
            var (b, r) = covered.GetValueOrDefault(tags["device"]);
            covered[tags["device"]] = (b + (readings > 0 ? 1 : 0), r + readings);
        }

        var notGood = (await RowsAsync(influx, $"SELECT count(quality) FROM telemetry_quality WHERE {where} GROUP BY device", cancellationToken).ConfigureAwait(false))
            .ToDictionary(r => r.Tags["device"], r => r.Row[1].GetInt64());
        var missingRules = rules.Where(r => r.Kind == RuleKind.Missing).Select(r => r.Id).ToHashSet();
        var devices = covered.Keys.Union(notGood.Keys).Order(StringComparer.Ordinal).Select(d => new Device(
            d,
            Kpis.Availability(covered.GetValueOrDefault(d).Buckets, buckets),
            covered.GetValueOrDefault(d).Readings,
            notGood.GetValueOrDefault(d),
            Silent(recent.Where(a => a.Series.Device == d && missingRules.Contains(a.RuleId)), from, to))).ToList();

        var gateways = (await RowsAsync(influx, $"SHOW TAG VALUES FROM telemetry WITH KEY = \"gateway\" WHERE pilot = '{pilot}'", cancellationToken).ConfigureAwait(false))
            .Select(r => r.Row[1].GetString()!).ToHashSet();
        // Delivery within the period: the gateways' cumulative counters at its end minus those at its start.
        var atTo = await CountersAsync(influx, to, cancellationToken).ConfigureAwait(false);
        var atFrom = await CountersAsync(influx, from, cancellationToken).ConfigureAwait(false);
        var delivery = atTo.Where(c => gateways.Contains(c.Key))
            .Select(c => Kpis.DeliveryInPeriod(c.Key, atFrom.GetValueOrDefault(c.Key), c.Value))
            .OrderBy(d => d.Gateway, StringComparer.Ordinal)
            .ToList();

        var (predictions, unpredicted) = MatchPredictions(alerts, rules, pilot);
        return new PilotReport(pilot, RoadmapItemOf(pilot), from, to, bucket, devices, delivery, Figures(alerts, to), predictions, unpredicted,
            await OutputAsync(influx, pilot, where, bucket, cancellationToken).ConfigureAwait(false))
        {
            AlertList = alerts.OrderBy(a => a.RaisedAt).ToList(),
            SiteOf = siteOf,
        };
    }

    private static async Task<Dictionary<string, Counters>> CountersAsync(InfluxWriter influx, DateTimeOffset before, CancellationToken cancellationToken) =>
        (await RowsAsync(influx, $"SELECT last(received), last(missing), last(dropped) FROM delivery WHERE time < {before.ToUnixTimeMilliseconds()}ms GROUP BY gateway", cancellationToken).ConfigureAwait(false))
            .ToDictionary(r => r.Tags["gateway"], r => new Counters(Long(r.Row[1]), Long(r.Row[2]), Long(r.Row[3])));

    private static long Long(JsonElement v) => v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;

    private static TimeSpan Silent(IEnumerable<Alert> missing, DateTimeOffset from, DateTimeOffset to) =>
        missing.Aggregate(TimeSpan.Zero, (sum, a) =>
        {
            var start = a.Since > from ? a.Since : from;
            var end = a.ResolvedAt is { } r && r < to ? r : to;
            return end > start ? sum + (end - start) : sum;
        });

    internal static AlertFigures Figures(IReadOnlyList<Alert> alerts, DateTimeOffset to)
    {
        var toAck = alerts.Where(a => a.AcknowledgedAt is not null).Select(a => a.AcknowledgedAt!.Value - a.RaisedAt).Order().ToList();
        var toResolve = alerts.Where(a => a.ResolvedAt is not null).Select(a => a.ResolvedAt!.Value - a.RaisedAt).Order().ToList();
        return new AlertFigures(
            alerts.Count,
            Enum.GetValues<Severity>().ToDictionary(s => s, s => alerts.Count(a => a.Severity == s)),
            alerts.GroupBy(a => a.RuleId).Select(g => (g.Key, g.Count())).OrderByDescending(g => g.Item2).ThenBy(g => g.Key, StringComparer.Ordinal).ToList(),
            toAck.Count,
            Percentile(toAck, 0.5),
            Percentile(toAck, 0.9),
            Percentile(toResolve, 0.5),
            alerts.Count(a => a.ResolvedAt is null || a.ResolvedAt >= to));
    }

    /// <summary>
    /// Each forecast alert, with the critical threshold alert on the same device and field that followed it (the
    /// failure it predicted), and how many such failures came with no forecast before them although a forecast
    /// rule watched that field.
    /// </summary>
    internal static (IReadOnlyList<Prediction> Predictions, int Unpredicted) MatchPredictions(IReadOnlyList<Alert> alerts, IReadOnlyList<Rule> rules, string pilot)
    {
        var byId = rules.ToDictionary(r => r.Id);
        bool Is(Alert a, RuleKind kind) => byId.TryGetValue(a.RuleId, out var r) && r.Kind == kind;
        var forecasts = alerts.Where(a => Is(a, RuleKind.Forecast)).OrderBy(a => a.RaisedAt).ToList();
        var failures = alerts.Where(a => Is(a, RuleKind.Threshold) && a.Severity == Severity.Critical).OrderBy(a => a.RaisedAt).ToList();
        var predictions = forecasts.Select(f => new Prediction(
            f.Series.Device, f.Field, f.RuleId, f.RaisedAt,
            failures.FirstOrDefault(x => x.Series == f.Series && x.Field == f.Field && x.RaisedAt >= f.RaisedAt)?.RaisedAt)).ToList();
        var watched = rules.Where(r => r.Kind == RuleKind.Forecast && (r.Pilot is null || r.Pilot == pilot)).ToList();
        var unpredicted = failures.Count(x => watched.Any(r => r.Matches(x.Series) && r.MatchesField(x.Field))
            && !forecasts.Any(f => f.Series == x.Series && f.Field == x.Field && f.RaisedAt <= x.RaisedAt));
        return (predictions, unpredicted);
    }

    private static async Task<IReadOnlyList<(string, string)>> OutputAsync(InfluxWriter influx, string pilot, string where, TimeSpan bucket, CancellationToken cancellationToken)
    {
        var output = new List<(string, string)>();
        switch (pilot)
        {
            case Pilots.Port:
                foreach (var (tags, row) in await RowsAsync(influx, $"SELECT max(lift_count) - min(lift_count) FROM telemetry WHERE {where} GROUP BY device", cancellationToken).ConfigureAwait(false))
                {
                    output.Add(($"lifts (moves) by {tags["device"]}", Number(row[1])));
                }

                break;
            case Pilots.Factory:
                foreach (var (tags, row) in await RowsAsync(influx, $"SELECT integral(power_kw, 1h) FROM telemetry WHERE {where} GROUP BY device", cancellationToken).ConfigureAwait(false))
                {
                    output.Add(($"energy metered by {tags["device"]}, kWh", Number(row[1])));
                }

                output.Add(("energy per tonne", "needs a production counter (tonnes) in the data; none is wired yet"));
                break;
            default:
                var low = (await RowsAsync(influx, $"SELECT min(do_mg_l) FROM telemetry WHERE {where} GROUP BY time({(int)bucket.TotalMinutes}m), device", cancellationToken).ConfigureAwait(false))
                    .Where(r => r.Row[1].ValueKind == JsonValueKind.Number && r.Row[1].GetDouble() < 3.0)
                    .GroupBy(r => r.Tags["device"])
                    .OrderBy(g => g.Key, StringComparer.Ordinal)
                    .ToList();
                foreach (var tank in low)
                {
                    output.Add(($"time with DO below 3 mg/L in {tank.Key} [docs/domain.md A5]", Hours(bucket * tank.Count())));
                }

                if (low.Count == 0)
                {
                    output.Add(("time with DO below 3 mg/L [docs/domain.md A5]", "none"));
                }

                break;
        }

        return output;
    }

    internal static string Hours(TimeSpan? span) => span is not { } t ? "–"
        : t.TotalMinutes < 90 ? $"{t.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture)} min"
        : $"{t.TotalHours.ToString("0.#", CultureInfo.InvariantCulture)} h";

    private static string Number(JsonElement v) => v.ValueKind == JsonValueKind.Number ? v.GetDouble().ToString("0.#", CultureInfo.InvariantCulture) : "–";

    internal static TimeSpan? Percentile(List<TimeSpan> sorted, double q) =>
        sorted.Count == 0 ? null : sorted[(int)Math.Clamp(Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>Every row of every series, with its tags.</summary>
    internal static async Task<List<(Dictionary<string, string> Tags, List<JsonElement> Row)>> RowsAsync(InfluxWriter influx, string query, CancellationToken cancellationToken)
    {
        using var doc = await influx.QueryAsync(query, cancellationToken).ConfigureAwait(false);
        var rows = new List<(Dictionary<string, string>, List<JsonElement>)>();
        foreach (var result in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (!result.TryGetProperty("series", out var series))
            {
                continue;
            }

            foreach (var s in series.EnumerateArray())
            {
                var tags = s.TryGetProperty("tags", out var t) ? t.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "") : [];
                foreach (var row in s.GetProperty("values").EnumerateArray())
                {
                    rows.Add((tags, row.EnumerateArray().Select(v => v.Clone()).ToList()));
                }
            }
        }

        return rows;
    }
}
