using System.Globalization;
using System.Text;
using System.Text.Json;

namespace IoTPilots.Cloud.Report;

/// <summary>Every figure of the report as flat rows, written beside the HTML as CSV and JSON (same figures, invariant numbers).</summary>
public static class ReportFigures
{
    public sealed record Figure(string Section, string Item, string Device, double? Value, string Unit, string? Target = null, string? Verdict = null, double? Baseline = null);

    public static IReadOnlyList<Figure> Of(PilotReport r, PilotReport? baseline)
    {
        var rows = new List<Figure>();
        foreach (var k in r.KpiResults)
        {
            var d = k.Definition;
            var b = baseline?.KpiResults.FirstOrDefault(x => x.Definition.Id == d.Id)?.Value;
            rows.AddRange((k.PerDevice ?? new Dictionary<string, double>()).OrderBy(x => x.Key, StringComparer.Ordinal)
                .Select(x => new Figure("kpi-device", d.Id, x.Key, x.Value, d.Unit, null, d.Met(x.Value) == true ? "met" : "missed")));
            rows.Add(new("kpi", d.Id, k.Device ?? "", k.Value, d.Unit, $"{(d.Direction == Direction.Higher ? ">=" : "<=")}{d.Target.ToString(CultureInfo.InvariantCulture)}", k.Met switch { true => "met", false => "missed", null => "no data" }, b));
        }

        rows.AddRange(r.Money.Select(m => new Figure("money", m.Value.Id, string.Join(' ', m.Devices), m.Amount, m.Value.Currency)));
        foreach (var d in r.Devices)
        {
            rows.Add(new("availability", "available", d.Name, d.AvailablePercent, "%"));
            rows.Add(new("availability", "good-readings", d.Name, d.GoodReadings, "count"));
            rows.Add(new("availability", "not-good-readings", d.Name, d.NotGoodReadings, "count"));
            rows.Add(new("availability", "silent", d.Name, d.Silent.TotalMinutes, "min"));
        }

        foreach (var g in r.Gateways)
        {
            rows.Add(new("delivery", "received", g.Gateway, g.Received, "count"));
            rows.Add(new("delivery", "missing", g.Gateway, g.Missing, "count"));
            rows.Add(new("delivery", "dropped", g.Gateway, g.Dropped, "count"));
            rows.Add(new("delivery", "complete", g.Gateway, g.CompletePercent, "%"));
        }

        rows.Add(new("alerts", "raised", "", r.Alerts.Raised, "count"));
        rows.AddRange(r.Alerts.BySeverity.Select(s => new Figure("alerts", "raised-" + s.Key.ToString().ToLowerInvariant(), "", s.Value, "count")));
        rows.Add(new("alerts", "acknowledged", "", r.Alerts.Acknowledged, "count"));
        rows.Add(new("alerts", "median-to-acknowledge", "", r.Alerts.MedianToAcknowledge?.TotalMinutes, "min"));
        rows.Add(new("alerts", "median-to-resolve", "", r.Alerts.MedianToResolve?.TotalMinutes, "min"));
        rows.Add(new("alerts", "still-open", "", r.Alerts.StillOpen, "count"));
        foreach (var a in r.AlertList)
        {
            rows.Add(new("alert", $"{a.RuleId}@{a.RaisedAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}", a.Series.Device, a.AcknowledgedAt is { } k ? (k - a.RaisedAt).TotalMinutes : null, "min to acknowledge", Verdict: a.Severity.ToString().ToLowerInvariant()));
        }

        rows.AddRange(r.Predictions.Select(p => new Figure("prediction", p.Rule, p.Device, p.LeadTime?.TotalHours, "h lead time")));
        rows.Add(new("actions", "automatic", "", r.Actions.Count, "count"));
        rows.Add(new("actions", "done", "", r.Actions.Count(c => ReportActions.Outcome(c, r.To) == "done"), "count"));
        // One row per action: the point and when, the value set, who issued it (target) and how it ended (verdict, with a refusal's reason).
        rows.AddRange(r.Actions.Select(c => new Figure(
            "action", $"{c.Point}@{c.IssuedAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}", c.Device, c.Value, "value set", c.IssuedBy,
            ReportActions.Outcome(c, r.To) is var o && o is "refused" or "failed" && c.Reason is { Length: > 0 } reason ? $"{o}: {reason}" : o)));
        return rows;
    }

    public static string Csv(IReadOnlyList<Figure> rows)
    {
        var csv = new StringBuilder("section,item,device,value,unit,target,verdict,baseline\n");
        static string Q(string? s) => s is null ? "" : s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
        static string N(double? v) => v?.ToString("0.######", CultureInfo.InvariantCulture) ?? "";
        foreach (var f in rows)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{Q(f.Section)},{Q(f.Item)},{Q(f.Device)},{N(f.Value)},{Q(f.Unit)},{Q(f.Target)},{Q(f.Verdict)},{N(f.Baseline)}\n");
        }

        return csv.ToString();
    }

    public static string Json(PilotReport r, PilotReport? baseline, IReadOnlyList<Figure> rows) => JsonSerializer.Serialize(
        new
        {
            pilot = r.Pilot,
            from = r.From,
            to = r.To,
            baselineFrom = baseline?.From,
            baselineTo = baseline?.To,
            figures = rows,
        },
        new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
}
