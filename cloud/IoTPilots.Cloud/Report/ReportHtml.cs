using System.Globalization;
using System.Text;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Report;

/// <summary>
/// The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no external asset; A4
/// print CSS that keeps each chart and each short table on one page (break-inside: avoid), and lets a long table
/// break only between rows with its header row repeated on every page (thead as table-header-group, rows
/// break-inside: avoid; CSS Fragmentation Level 3, CSS 2.1 section 17.2). Verdict first, then money, sites side by
/// side, charts, details and the method appendix.
/// </summary>
public static class ReportHtml
{
    private const string Css = """
        @page { size: A4; margin: 14mm 12mm; }
        body { font-family: "Noto Sans", "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; color: #1b1f24; margin: 0 auto; max-width: 186mm; }
        h1 { font-size: 17pt; margin: 0 0 4pt; } h2 { font-size: 13pt; margin: 14pt 0 5pt; border-bottom: 1px solid #ccd; } h3 { font-size: 11pt; margin: 8pt 0 3pt; }
        p.meta { color: #444; margin: 2pt 0; }
        table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; break-inside: avoid; page-break-inside: avoid; }
        table.long { break-inside: auto; page-break-inside: auto; }
        thead { display: table-header-group; }
        tr { break-inside: avoid; page-break-inside: avoid; }
        h2, h3 { break-after: avoid; page-break-after: avoid; }
        th, td { border: 1px solid #ccd; padding: 2.5pt 5pt; text-align: left; vertical-align: top; }
        td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        th { background: #eef1f6; }
        .met { color: #116b2b; font-weight: bold; } .missed { color: #b3261e; font-weight: bold; } .nodata { color: #666; font-style: italic; }
        .u { color: #8a5a00; font-weight: bold; }
        figure { margin: 4pt 0 10pt; break-inside: avoid; page-break-inside: avoid; }
        figcaption { font-size: 9pt; color: #444; }
        .grid { display: flex; flex-wrap: wrap; gap: 6pt; }
        .grid figure { width: 90mm; }
        svg text { font-family: inherit; font-size: 9px; fill: #333; }
        section.appendix { break-before: page; }
        """;

    /// <summary>Rows beyond which a table may break across pages (about half an A4 page of rows).</summary>
    private const int LongTable = 30;

    /// <summary>Bars per chart figure: 40 bars of 16 px are about 670 px at the printed width, under an A4 page's 1017 px.</summary>
    private const int BarsPerFigure = 40;

    public static string Render(PilotReport r, PilotReport? baseline, ReportText t, DateTimeOffset generatedAt)
    {
        var p = r.Definition ?? throw new InvalidOperationException("the report has no pilot definition");
        var h = new StringBuilder();
        h.Append(CultureInfo.InvariantCulture, $"<!DOCTYPE html>\n<html lang=\"{t.Language}\"><head><meta charset=\"utf-8\"><title>{E(t["Pilot evaluation", "Đánh giá thí điểm"])}: {E(p.Id)}</title><style>{Css}</style></head><body>\n");
        h.Append(CultureInfo.InvariantCulture, $"<h1>{E(t["Pilot evaluation", "Đánh giá thí điểm"])}: {E(p.Id)}</h1>\n");
        h.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">{E(t["Roadmap item", "Hạng mục lộ trình"])}: {E(t[p.RoadmapEn, p.RoadmapVi])} <small>[{E(p.Source)}]</small></p>\n");
        h.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">{E(t["Period", "Kỳ đánh giá"])}: {t.Date(r.From)} – {t.Date(r.To)} UTC ({t.Duration(r.To - r.From)})");
        if (baseline is not null)
        {
            h.Append(CultureInfo.InvariantCulture, $"; {E(t["baseline", "kỳ so sánh"])}: {t.Date(baseline.From)} – {t.Date(baseline.To)} UTC");
        }

        h.Append(CultureInfo.InvariantCulture, $"; {E(t["sites", "địa điểm"])}: {E(string.Join(", ", Sites(r)))}; {E(t["generated", "lập lúc"])} {t.Date(generatedAt)} UTC.</p>\n");

        // Verdict first.
        h.Append(CultureInfo.InvariantCulture, $"<h2>{E(t["Verdict: did it meet its goals?", "Kết luận: thí điểm có đạt mục tiêu không?"])}</h2>\n<table id=\"verdict\"><thead><tr><th>KPI</th><th class=\"n\">{E(t["target", "mục tiêu"])}</th><th class=\"n\">{E(t["result", "kết quả"])}</th><th>{E(t["verdict", "đánh giá"])}</th>");
        if (baseline is not null)
        {
            h.Append(CultureInfo.InvariantCulture, $"<th class=\"n\">{E(t["baseline", "kỳ so sánh"])}</th><th class=\"n\">{E(t["change", "thay đổi"])}</th>");
        }

        h.Append("</tr></thead><tbody>\n");
        foreach (var k in r.KpiResults)
        {
            var d = k.Definition;
            var unit = t.Unit(d.Unit);
            var cls = k.Met switch { true => "met", false => "missed", null => "nodata" };
            h.Append(CultureInfo.InvariantCulture, $"<tr data-kpi=\"{E(d.Id)}\"><td>{E(t.Kpi(d, p.Signal))}{(d.Uncertain ? " <span class=\"u\" title=\"" + E(d.Source ?? "") + "\">[U]</span>" : "")}</td>");
            h.Append(CultureInfo.InvariantCulture, $"<td class=\"n\">{(d.Direction == Direction.Higher ? "≥" : "≤")} {t.Number(d.Target)} {E(unit)}</td><td class=\"n\">{(k.Value is null ? "–" + Unacknowledged(r, d, t) : t.Number(k.Value) + " " + E(unit))}{(k.Device is { } dev && d.Kind != "ack-median" && d.Kind != "lead-time" ? " <small>(" + E(dev) + ")</small>" : "")}</td><td class=\"{cls}\">{E(t.Met(k.Met))}</td>");
            if (baseline is not null)
            {
                var b = baseline.KpiResults.FirstOrDefault(x => x.Definition.Id == d.Id)?.Value;
                h.Append(CultureInfo.InvariantCulture, $"<td class=\"n\">{t.Number(b)}</td><td class=\"n\">{(k.Value is { } v && b is { } bv ? (v - bv >= 0 ? "+" : "") + t.Number(v - bv) : "–")}</td>");
            }

            h.Append("</tr>\n");
        }

        h.Append("</tbody></table>\n");
        PerDevice(h, r, t);

        // Money.
        if (r.Money.Count > 0)
        {
            h.Append(CultureInfo.InvariantCulture, $"<h2>{E(t["What it saved (estimate)", "Giá trị mang lại (ước tính)"])}</h2>\n<table id=\"money\"><thead><tr><th>{E(t["estimate", "ước tính"])}</th><th class=\"n\">{E(t["events", "sự kiện"])}</th><th class=\"n\">{E(t["amount", "số tiền"])}</th><th>{E(t["assumption", "giả định"])}</th></tr></thead><tbody>\n");
            foreach (var m in r.Money)
            {
                var what = m.Value.Kind == "stock-at-risk"
                    ? t["Stock at risk: tanks with a critical alert, caught by an early alert", "Giá trị tôm nuôi có nguy cơ: số bể có cảnh báo nghiêm trọng, được phát hiện sớm"]
                    : t["Unplanned stop avoided: failures predicted before they happened", "Thời gian dừng ngoài kế hoạch tránh được: hỏng hóc được dự báo trước"];
                h.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(what)}{(m.Devices.Count > 0 ? " (" + E(string.Join(", ", m.Devices)) + ")" : "")}</td><td class=\"n\">{m.Events}</td><td class=\"n\">{t.Number(m.Amount, 0)} {E(m.Value.Currency)}</td><td>{(m.Value.Uncertain ? "<span class=\"u\">[U]</span> " : "")}{E(m.Value.Source)}</td></tr>\n");
            }

            h.Append("</tbody></table>\n");
        }

        SitesTable(h, r, t);
        Charts(h, r, t);
        Actions(h, r, t);
        Details(h, r, t);
        Appendix(h, r, t);
        h.Append("</body></html>\n");
        return h.ToString();
    }

    /// <summary>For a time-to-acknowledge KPI with no value: how many alerts of its severity nobody acknowledged, so that "no data" is not read as "no alerts".</summary>
    private static string Unacknowledged(PilotReport r, KpiDefinition d, ReportText t) =>
        d.Kind == "ack-median" && r.AlertList.Count(a => a.AcknowledgedAt is null && string.Equals(a.Severity.ToString(), d.Severity, StringComparison.OrdinalIgnoreCase)) is > 0 and var n
            ? $" <small>({n} {E(t.NotAcknowledged)})</small>"
            : "";

    /// <summary>The per-device KPIs (DO below 3 mg/L per tank, hours outside the band per zone, lifts per crane) device by device, met or missed each.</summary>
    private static void PerDevice(StringBuilder h, PilotReport r, ReportText t)
    {
        var kpis = r.KpiResults.Where(k => k.PerDevice is { Count: > 0 }).ToList();
        if (kpis.Count == 0)
        {
            return;
        }

        var devices = kpis.SelectMany(k => k.PerDevice!.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        h.Append(CultureInfo.InvariantCulture, $"<table id=\"per-device\"{Long(devices.Count)}><thead><tr><th>{E(t["device", "thiết bị"])}</th>{string.Concat(kpis.Select(k => $"<th class=\"n\">{E(t.Kpi(k.Definition, r.Definition!.Signal))}</th>"))}</tr></thead><tbody>\n");
        foreach (var device in devices)
        {
            h.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(device)}</td>");
            foreach (var k in kpis)
            {
                var value = k.PerDevice!.TryGetValue(device, out var v) ? v : (double?)null;
                var met = k.Definition.Met(value);
                h.Append(CultureInfo.InvariantCulture, $"<td class=\"n {(met switch { true => "met", false => "missed", null => "nodata" })}\">{t.Number(value)} {E(t.Unit(k.Definition.Unit))}</td>");
            }

            h.Append("</tr>\n");
        }

        h.Append("</tbody></table>\n");
    }

    /// <summary>A table of many rows may break across pages (between rows, its header repeated); a shorter one moves to the next page whole.</summary>
    private static string Long(int rows) => rows > LongTable ? " class=\"long\"" : "";

    private static IEnumerable<string> Sites(PilotReport r) =>
        r.SiteOf.Values.Concat(r.Definition?.Sites ?? []).Where(s => s.Length > 0).Distinct().Order(StringComparer.Ordinal);

    private static void SitesTable(StringBuilder h, PilotReport r, ReportText t)
    {
        var sites = Sites(r).ToList();
        h.Append(CultureInfo.InvariantCulture, $"<h2>{E(t["Sites side by side", "So sánh các địa điểm"])}</h2>\n<table id=\"sites\"><thead><tr><th></th>{string.Concat(sites.Select(s => $"<th class=\"n\">{E(s)}</th>"))}</tr></thead><tbody>\n");
        void Row(string label, Func<string, string> cell) => h.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(label)}</td>{string.Concat(sites.Select(s => $"<td class=\"n\">{cell(s)}</td>"))}</tr>\n");
        IEnumerable<PilotReport.Device> Devices(string site) => r.Devices.Where(d => r.SiteOf.GetValueOrDefault(d.Name) == site);
        IEnumerable<Alert> Alerts(string site) => r.AlertList.Where(a => a.Series.Site == site);
        Row(t["devices", "thiết bị"], s => $"{Devices(s).Count()}");
        Row(t["data availability", "tính sẵn sàng dữ liệu"], s => Devices(s).Any() ? $"{t.Number(Devices(s).Average(d => d.AvailablePercent))} %" : "–");
        Row(t["alerts raised", "cảnh báo đã phát"], s => $"{Alerts(s).Count()}");
        Row(t["critical alerts", "cảnh báo nghiêm trọng"], s => $"{Alerts(s).Count(a => a.Severity == Severity.Critical)}");
        Row(t["median time to acknowledge (critical)", "thời gian xác nhận trung vị (nghiêm trọng)"], s => E(t.Duration(Kpis.MedianToAcknowledge(Alerts(s), Severity.Critical))));
        Row(t["median time to resolve", "thời gian xử lý xong trung vị"], s => E(t.Duration(Kpis.MedianToResolve(Alerts(s)))));
        h.Append("</tbody></table>\n");
    }

    private static void Charts(StringBuilder h, PilotReport r, ReportText t)
    {
        h.Append(CultureInfo.InvariantCulture, $"<h2>{E(t["Charts", "Biểu đồ"])}</h2>\n");

        // Availability per device.
        var bars = r.Devices.Select(d => (d.Name, d.AvailablePercent)).ToList();
        BarFigures(h, "chart-availability", bars, 100, v => $"{t.Number(v)} %", 99, t["Data availability per device over the period, % (line: 99 % target)", "Tính sẵn sàng dữ liệu theo thiết bị trong kỳ, % (vạch: mục tiêu 99 %)"], t);

        // Alerts per day by severity.
        var days = new List<DateTimeOffset>();
        for (var d = new DateTimeOffset(r.From.UtcDateTime.Date, TimeSpan.Zero); d < r.To; d = d.AddDays(1))
        {
            days.Add(d);
        }

        var stacks = days.Select(d => (t.Day(d), new[] { Severity.Critical, Severity.Warning, Severity.Info }.Select(s => (double)r.AlertList.Count(a => a.Severity == s && a.RaisedAt >= d && a.RaisedAt < d.AddDays(1))).ToArray())).ToList();
        h.Append(CultureInfo.InvariantCulture, $"<figure id=\"chart-alerts\">{Svg.StackedColumns(stacks, ["#b3261e", "#e8a200", "#4a7dc9"], [t.Severity(Severity.Critical), t.Severity(Severity.Warning), t.Severity(Severity.Info)])}<figcaption>{E(t["Alerts per day by severity", "Số cảnh báo mỗi ngày theo mức độ"])}</figcaption></figure>\n");

        // Time to acknowledge.
        var acks = r.AlertList.Where(a => a.Severity != Severity.Info).Select(a => ($"{a.Series.Device} {a.RuleId} {t.Date(a.RaisedAt)}", a.AcknowledgedAt is { } k ? (k - a.RaisedAt).TotalMinutes : double.NaN)).ToList();
        var max = Math.Max(15, acks.Where(a => !double.IsNaN(a.Item2)).Select(a => a.Item2).DefaultIfEmpty(0).Max());
        BarFigures(h, "chart-ack", acks, max, v => double.IsNaN(v) ? t.NotAcknowledged : $"{t.Number(v)} {t.Unit("min")}", 10, t["Time to acknowledge each critical and warning alert, minutes (line: 10 min target)", "Thời gian xác nhận từng cảnh báo nghiêm trọng và cảnh báo, phút (vạch: mục tiêu 10 phút)"], t);

        // The key signal per device, with its limits and the alerts on it.
        var s = r.Definition!.Signal;
        h.Append(CultureInfo.InvariantCulture, $"<h3>{E(t[s.LabelEn, s.LabelVi])}</h3>\n<div class=\"grid\">\n");
        var forecastRules = r.Predictions.Select(p => p.Rule).ToHashSet(StringComparer.Ordinal);
        foreach (var (device, points) in r.Signal.OrderBy(x => x.Key, StringComparer.Ordinal))
        {
            var alerts = r.AlertList.Where(a => a.Series.Device == device && a.Field == s.Field).ToList();
            var projections = r.Projections.Where(p => p.Device == device).ToList();
            var actions = r.Actions.Where(c => c.Device == device).ToList();
            h.Append(CultureInfo.InvariantCulture, $"<figure data-device=\"{E(device)}\">{Svg.Signal(points, r.From, r.To, s, alerts, forecastRules, projections, t, actions)}<figcaption>{E(device)}: {E(t[s.LabelEn, s.LabelVi])}{Legend(s, projections.Count > 0, t)}{(actions.Count > 0 ? E(t["; ▲ automatic action (green done, red not done)", "; ▲ hành động tự động (xanh: đã thực hiện, đỏ: không thực hiện được)"]) : "")}</figcaption></figure>\n");
        }

        h.Append("</div>\n");
    }

    /// <summary>A bar chart as figures of at most <see cref="BarsPerFigure"/> bars each, so that none is taller than a printed page.</summary>
    private static void BarFigures(StringBuilder h, string id, IReadOnlyList<(string, double)> bars, double max, Func<double, string> label, double target, string caption, ReportText t)
    {
        var part = 0;
        foreach (var chunk in bars.Chunk(BarsPerFigure).DefaultIfEmpty([]))
        {
            h.Append(CultureInfo.InvariantCulture, $"<figure id=\"{id}{(part == 0 ? "" : "-" + (part + 1))}\">{Svg.HorizontalBars(chunk, max, label, target)}<figcaption>{E(caption)}{(part > 0 ? E(t[" (continued)", " (tiếp theo)"]) : "")}</figcaption></figure>\n");
            part++;
        }
    }

    private static string Legend(SignalDefinition s, bool projections, ReportText t) =>
        (s.Low is { } low ? E(t[$"; red line: limit {t.Number(low)}", $"; vạch đỏ: giới hạn {t.Number(low)}"]) : "")
        + (s.TargetLow is { } tl ? E(t[$", green line: target {t.Number(tl)}", $", vạch xanh: mục tiêu {t.Number(tl)}"]) : "")
        + (s.Zones.Count > 0 ? E(t["; bands: ISO 10816-3 zones A–D [docs/domain.md V1]", "; dải màu: vùng A–D theo ISO 10816-3 [docs/domain.md V1]"]) : "")
        + (s.Tolerance is { } tol ? E(t[$"; dashed: setpoint ± {t.Number(tol)}", $"; nét đứt: điểm đặt ± {t.Number(tol)}"]) : "")
        + E(t["; ▼ alert raised (red critical, orange warning, ◆ forecast)", "; ▼ cảnh báo (đỏ: nghiêm trọng, cam: cảnh báo, ◆ dự báo)"])
        + (projections
            ? "<span class=\"legend-forecast\">" + E(t["; purple dashes: the forecast's projection to the limit, ○ where it predicted the crossing (→ after the period)", "; nét đứt tím: đường dự báo tới giới hạn, ○ thời điểm dự báo vượt ngưỡng (→ sau kỳ đánh giá)"]) + "</span>"
            : "");

    /// <summary>Issue 15: every automatic action of the period, what it set, who issued it, for which alert and how it ended.</summary>
    private static void Actions(StringBuilder h, PilotReport r, ReportText t)
    {
        h.Append(CultureInfo.InvariantCulture, $"<h2 id=\"actions-title\">{E(t["Automatic actions", "Hành động tự động"])}</h2>\n");
        if (r.Actions.Count == 0)
        {
            h.Append(CultureInfo.InvariantCulture, $"<p id=\"actions-none\">{E(t["No automatic action in the period.", "Không có hành động tự động nào trong kỳ."])}</p>\n");
            return;
        }

        var done = r.Actions.Count(c => ReportActions.Outcome(c, r.To) == "done");
        h.Append(CultureInfo.InvariantCulture, $"<p id=\"actions-summary\">{E(t[$"{r.Actions.Count} automatic actions, {done} done; the others are listed with why.", $"{r.Actions.Count} hành động tự động, {done} đã thực hiện; các hành động khác được liệt kê kèm lý do."])}</p>\n");
        h.Append(CultureInfo.InvariantCulture, $"<table id=\"actions\"{Long(r.Actions.Count)}><thead><tr><th>{E(t["at", "lúc"])}</th><th>{E(t["device", "thiết bị"])}</th><th>{E(t["action", "hành động"])}</th><th>{E(t["issued by", "thực hiện bởi"])}</th><th>{E(t["alert", "cảnh báo"])}</th><th>{E(t["outcome", "kết quả"])}</th><th class=\"n\">{E(t["read back", "đọc lại"])}</th></tr></thead><tbody>\n");
        foreach (var c in r.Actions)
        {
            var alert = c.AlertId is { } id ? r.AlertList.FirstOrDefault(a => a.Id == id) : null;
            var outcome = ReportActions.Outcome(c, r.To);
            h.Append(CultureInfo.InvariantCulture, $"<tr data-outcome=\"{E(outcome)}\"><td>{t.Date(c.IssuedAt)}</td><td>{E(c.Device)}</td><td>{E(ReportActions.What(c, t))}</td><td>{E(ReportActions.Who(c, t))}</td><td>{(alert is null ? (c.AlertId is { } n ? "#" + n : "–") : E($"#{alert.Id} {alert.RuleId}"))}</td><td class=\"{(outcome == "done" ? "met" : "missed")}\">{E(ReportActions.OutcomeText(c, r.To, t))}</td><td class=\"n\">{t.Number(c.ReadBack, 3)}</td></tr>\n");
        }

        h.Append("</tbody></table>\n");
    }

    private static void Details(StringBuilder h, PilotReport r, ReportText t)
    {
        h.Append(CultureInfo.InvariantCulture, $"<h2>{E(t["Alerts in the period", "Cảnh báo trong kỳ"])}</h2>\n<table id=\"alerts\"{Long(r.AlertList.Count)}><thead><tr><th>{E(t["raised", "phát lúc"])}</th><th>{E(t["device", "thiết bị"])}</th><th>{E(t["rule", "quy tắc"])}</th><th>{E(t["severity", "mức độ"])}</th><th class=\"n\">{E(t["time to acknowledge", "thời gian xác nhận"])}</th><th class=\"n\">{E(t["time to resolve", "thời gian xử lý"])}</th></tr></thead><tbody>\n");
        foreach (var a in r.AlertList)
        {
            h.Append(CultureInfo.InvariantCulture, $"<tr><td>{t.Date(a.RaisedAt)}</td><td>{E(a.Series.Device)}</td><td>{E(a.RuleId)}</td><td>{E(t.Severity(a.Severity))}</td><td class=\"n\">{E(a.AcknowledgedAt is { } k ? t.Duration(k - a.RaisedAt) : t.NotAcknowledged)}</td><td class=\"n\">{E(a.ResolvedAt is { } x ? t.Duration(x - a.RaisedAt) : "–")}</td></tr>\n");
        }

        h.Append("</tbody></table>\n");
        h.Append(CultureInfo.InvariantCulture, $"<h2>{E(t["Data availability and delivery", "Tính sẵn sàng và truyền dữ liệu"])}</h2>\n<table id=\"devices\"{Long(r.Devices.Count)}><thead><tr><th>{E(t["device", "thiết bị"])}</th><th>{E(t["site", "địa điểm"])}</th><th class=\"n\">{E(t["available", "sẵn sàng"])}</th><th class=\"n\">{E(t["good readings", "giá trị tốt"])}</th><th class=\"n\">{E(t["not good", "không tốt"])}</th><th class=\"n\">{E(t["silent", "mất tín hiệu"])}</th></tr></thead><tbody>\n");
        foreach (var d in r.Devices)
        {
            h.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(d.Name)}</td><td>{E(r.SiteOf.GetValueOrDefault(d.Name, ""))}</td><td class=\"n\">{t.Number(d.AvailablePercent)} %</td><td class=\"n\">{t.Number(d.GoodReadings, 0)}</td><td class=\"n\">{t.Number(d.NotGoodReadings, 0)}</td><td class=\"n\">{E(t.Duration(d.Silent))}</td></tr>\n");
        }

        h.Append("</tbody></table>\n");
        h.Append(CultureInfo.InvariantCulture, $"<table id=\"delivery\"{Long(r.Gateways.Count)}><thead><tr><th>{E(t["gateway", "gateway"])}</th><th class=\"n\">{E(t["received", "đã nhận"])}</th><th class=\"n\">{E(t["missing", "thiếu"])}</th><th class=\"n\">{E(t["dropped by the edge", "bị loại tại biên"])}</th><th class=\"n\">{E(t["complete", "đầy đủ"])}</th></tr></thead><tbody>\n");
        foreach (var g in r.Gateways)
        {
            h.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(g.Gateway)}</td><td class=\"n\">{t.Number(g.Received, 0)}</td><td class=\"n\">{t.Number(g.Missing, 0)}</td><td class=\"n\">{t.Number(g.Dropped, 0)}</td><td class=\"n\">{t.Number(g.CompletePercent, 2)} %</td></tr>\n");
        }

        h.Append("</tbody></table>\n");
        if (r.Predictions.Count > 0)
        {
            h.Append(CultureInfo.InvariantCulture, $"<h2>{E(t["Failures predicted before they happened", "Hỏng hóc được dự báo trước"])}</h2>\n<table id=\"predictions\"{Long(r.Predictions.Count)}><thead><tr><th>{E(t["device", "thiết bị"])}</th><th>{E(t["forecast at", "dự báo lúc"])}</th><th>{E(t["crossing predicted for", "dự báo vượt ngưỡng lúc"])}</th><th>{E(t["limit crossed at", "vượt ngưỡng lúc"])}</th><th class=\"n\">{E(t["lead time", "báo trước"])}</th></tr></thead><tbody>\n");
            foreach (var x in r.Predictions)
            {
                var predicted = r.Projections.FirstOrDefault(p => p.Device == x.Device && p.Rule == x.Rule && p.From == x.PredictedAt)?.CrossAt;
                h.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(x.Device)}</td><td>{t.Date(x.PredictedAt)}</td><td>{(predicted is { } c ? t.Date(c) : "–")}</td><td>{(x.FailedAt is { } f ? t.Date(f) : E(t["not (yet)", "chưa"]))}</td><td class=\"n\">{E(t.Duration(x.LeadTime))}</td></tr>\n");
            }

            h.Append("</tbody></table>\n");
        }
    }

    private static void Appendix(StringBuilder h, PilotReport r, ReportText t)
    {
        h.Append(CultureInfo.InvariantCulture, $"<section class=\"appendix\"><h2>{E(t["Method appendix", "Phụ lục phương pháp"])}</h2>\n<table id=\"method\"><thead><tr><th>KPI</th><th>{E(t["how it is computed", "cách tính"])}</th><th>{E(t["source", "nguồn"])}</th></tr></thead><tbody>\n");
        foreach (var k in r.KpiResults)
        {
            h.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(k.Definition.Id)}</td><td>{E(t.Method(k.Definition))}</td><td>{E(k.Definition.Source ?? "pilots.yaml")}</td></tr>\n");
        }

        h.Append("</tbody></table>\n<ul>\n");
        h.Append(CultureInfo.InvariantCulture, $"<li>{E(t["All figures cover exactly the period [from, to): delivery is the gateways' counters at its end minus those at its start; alerts are those raised in it.", "Mọi số liệu tính đúng trong kỳ [từ, đến): số bản tin là bộ đếm của gateway cuối kỳ trừ đầu kỳ; cảnh báo là các cảnh báo phát trong kỳ."])}</li>\n");
        h.Append(CultureInfo.InvariantCulture, $"<li>{E(t["Values marked [U] are placeholders to confirm on site (pilots.yaml).", "Các giá trị đánh dấu [U] là giả định, cần xác nhận tại hiện trường (pilots.yaml)."])}</li>\n");
        var missing = r.Devices.Where(d => d.AvailablePercent < 100).ToList();
        h.Append(CultureInfo.InvariantCulture, $"<li>{E(t["Missing data", "Dữ liệu bị thiếu"])}: {(missing.Count == 0 ? E(t["none: every device reported in every interval.", "không có: mọi thiết bị đều gửi dữ liệu trong mọi khoảng."]) : E(string.Join("; ", missing.Select(d => $"{d.Name} {t.Number(100 - d.AvailablePercent)} % {t["of intervals without a good reading", "số khoảng không có giá trị tốt"]}, {t["silent", "mất tín hiệu"]} {t.Duration(d.Silent)}"))))}</li>\n");
        var lossy = r.Gateways.Where(g => g.Missing + g.Dropped > 0).ToList();
        if (lossy.Count > 0)
        {
            h.Append(CultureInfo.InvariantCulture, $"<li>{E(string.Join("; ", lossy.Select(g => $"{g.Gateway}: {t.Number(g.Missing, 0)} {t["messages missing", "bản tin bị thiếu"]}, {t.Number(g.Dropped, 0)} {t["dropped by the edge", "bị loại tại biên"]}")))}</li>\n");
        }

        foreach (var k in r.KpiResults.Where(k => k.Value is null))
        {
            h.Append(CultureInfo.InvariantCulture, $"<li>{E(k.Definition.Id)}: {E(t["no value: the period has no data for it.", "không có giá trị: kỳ này không có dữ liệu cho chỉ số này."])}</li>\n");
        }

        h.Append("</ul></section>\n");
    }

    /// <summary>Escapes markup only: WebUtility.HtmlEncode would also turn Vietnamese letters such as ú into &amp;#250;.</summary>
    internal static string E(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);
}
