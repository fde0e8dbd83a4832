using System.Globalization;
using System.Text;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Report;

/// <summary>The report's charts as inline SVG: no script, no font or image to fetch, prints as vectors.</summary>
internal static class Svg
{
    /// <summary>Forecasts draw in purple, apart from the red and orange of the alerts that fired.</summary>
    private const string ForecastColour = "#6a3d9a";

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private static string E(string text) => ReportHtml.E(text);

    /// <summary>One labelled bar per row, scaled to <paramref name="max"/>; NaN draws no bar but its label; an optional target line.</summary>
    public static string HorizontalBars(IReadOnlyList<(string Label, double Value)> rows, double max, Func<double, string> label, double? target = null)
    {
        const int width = 680, left = 190, right = 90, row = 16;
        var height = Math.Max(1, rows.Count) * row + 8;
        var plot = width - left - right;
        var svg = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\">"));
        for (var i = 0; i < rows.Count; i++)
        {
            var (name, value) = rows[i];
            var y = 4 + (i * row);
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 4}\" y=\"{y + 11}\" text-anchor=\"end\">{E(name)}</text>");
            if (!double.IsNaN(value))
            {
                svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{left}\" y=\"{y + 2}\" width=\"{F(Math.Max(1, plot * Math.Clamp(value / max, 0, 1)))}\" height=\"{row - 4}\" fill=\"#4a7dc9\"/>");
            }

            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{width - right + 4}\" y=\"{y + 11}\">{E(label(value))}</text>");
        }

        if (target is { } tg && tg <= max)
        {
            var x = left + (plot * tg / max);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(x)}\" y1=\"0\" x2=\"{F(x)}\" y2=\"{height}\" stroke=\"#b3261e\" stroke-dasharray=\"3 2\"/>");
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>One column per label, stacked by series, with a legend.</summary>
    public static string StackedColumns(IReadOnlyList<(string Label, double[] Values)> columns, string[] colours, string[] names)
    {
        const int width = 680, height = 150, left = 30, bottom = 18, top = 16;
        var max = Math.Max(1, columns.Select(c => c.Values.Sum()).DefaultIfEmpty(0).Max());
        var step = Math.Min(60, (double)(width - left) / Math.Max(1, columns.Count));
        var scale = (height - bottom - top) / max;
        var svg = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\">"));
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"2\" y=\"{top + 4}\">{F(max)}</text><text x=\"2\" y=\"{height - bottom}\">0</text>");
        for (var s = 0; s < names.Length; s++)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{left + (s * 120)}\" y=\"2\" width=\"9\" height=\"9\" fill=\"{colours[s]}\"/><text x=\"{left + (s * 120) + 12}\" y=\"10\">{E(names[s])}</text>");
        }

        for (var i = 0; i < columns.Count; i++)
        {
            var (label, values) = columns[i];
            var x = left + (i * step);
            var y = (double)(height - bottom);
            for (var s = 0; s < values.Length; s++)
            {
                var h = values[s] * scale;
                if (h > 0)
                {
                    y -= h;
                    svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(x + (step * 0.15))}\" y=\"{F(y)}\" width=\"{F(step * 0.7)}\" height=\"{F(h)}\" fill=\"{colours[s]}\"><title>{E(names[s])}: {F(values[s])}</title></rect>");
                }
            }

            if (columns.Count <= 31)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(x + (step / 2))}\" y=\"{height - 5}\" text-anchor=\"middle\">{E(label)}</text>");
            }
        }

        return svg.Append("</svg>").ToString();
    }

    /// <summary>
    /// The key signal of one device over [from, to): its line, its limits (zones, band, lines), where alerts fired (▼,
    /// ◆ for a forecast) and each forecast's projection: dashed to its limit, ○ at the predicted crossing, or → at the
    /// chart's edge when the crossing was predicted for after the period; and each automatic action on the device (▲ in
    /// green at the foot, with a dotted line, red when it was not done).
    /// </summary>
    public static string Signal(
        IReadOnlyList<(DateTimeOffset At, double Value, double? Setpoint)> points, DateTimeOffset from, DateTimeOffset to, SignalDefinition s, IReadOnlyList<Alert> alerts,
        IReadOnlySet<string> forecastRules, IReadOnlyList<ForecastProjection> projections, ReportText t, IReadOnlyList<Cloud.Commands.CommandRecord>? actions = null)
    {
        const int width = 340, height = 150, left = 30, bottom = 16, top = 6, right = 6;
        var values = points.Select(p => p.Value).ToList();
        var bounds = values.Concat(s.Low is { } l ? [l] : []).Concat(s.TargetLow is { } tl ? [tl] : []).Concat(s.Zones).Concat(projections.Select(p => p.Limit))
            .Concat(s.Tolerance is { } tol ? points.Where(p => p.Setpoint is not null).SelectMany(p => new[] { p.Setpoint!.Value - tol, p.Setpoint!.Value + tol }) : []).ToList();
        var lo = bounds.Min();
        var hi = bounds.Max();
        var pad = Math.Max((hi - lo) * 0.08, 0.5);
        lo = s.Zones.Count > 0 ? 0 : lo - pad;
        hi += pad;
        double X(DateTimeOffset at) => left + ((width - left - right) * Math.Clamp((at - from) / (to - from), 0, 1));
        double Y(double v) => top + ((height - top - bottom) * (1 - ((v - lo) / (hi - lo))));
        var svg = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\">"));
        if (s.Zones.Count > 0)
        {
            // ISO 10816-3 zones A (new), B (unrestricted), C (restricted), D (damage) [docs/domain.md V1].
            string[] colours = ["#d8f0d8", "#eef6cc", "#fde8c4", "#f8d0cc"];
            var edges = new[] { lo }.Concat(s.Zones).Append(hi).ToList();
            for (var z = 0; z + 1 < edges.Count && z < colours.Length; z++)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{left}\" y=\"{F(Y(edges[z + 1]))}\" width=\"{width - left - right}\" height=\"{F(Y(edges[z]) - Y(edges[z + 1]))}\" fill=\"{colours[z]}\"/><text x=\"{width - right - 8}\" y=\"{F(Y(edges[z + 1]) + 10)}\">{"ABCD"[z]}</text>");
            }
        }

        void HLine(double v, string colour, string dash) =>
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{F(Y(v))}\" x2=\"{width - right}\" y2=\"{F(Y(v))}\" stroke=\"{colour}\" stroke-dasharray=\"{dash}\"/><text x=\"{left - 2}\" y=\"{F(Y(v) + 3)}\" text-anchor=\"end\">{E(t.Number(v))}</text>");
        if (s.Low is { } low)
        {
            HLine(low, "#b3261e", "4 2");
        }

        if (s.TargetLow is { } targetLow)
        {
            HLine(targetLow, "#116b2b", "4 2");
        }

        if (s.Tolerance is { } band)
        {
            foreach (var sign in new[] { -1, 1 })
            {
                var path = string.Join(' ', points.Where(p => p.Setpoint is not null).Select((p, i) => $"{(i == 0 ? 'M' : 'L')}{F(X(p.At))},{F(Y(p.Setpoint!.Value + (sign * band)))}"));
                svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{path}\" fill=\"none\" stroke=\"#b3261e\" stroke-dasharray=\"3 2\"/>");
            }
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"2\" y=\"{top + 8}\">{E(t.Number(hi))}</text><text x=\"2\" y=\"{height - bottom}\">{E(t.Number(lo))}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{height - 3}\">{E(t.Date(from))}</text><text x=\"{width - right}\" y=\"{height - 3}\" text-anchor=\"end\">{E(t.Date(to))}</text>");
        var line = string.Join(' ', points.Select((p, i) => $"{(i == 0 ? 'M' : 'L')}{F(X(p.At))},{F(Y(p.Value))}"));
        svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{line}\" fill=\"none\" stroke=\"#1f4e96\" stroke-width=\"1.3\"/>");
        foreach (var p in projections)
        {
            var (endAt, endValue, inside) = p.End(to);
            var (x, y) = (X(endAt), Y(endValue));
            var title = $"<title>{E(t["forecast", "dự báo"])} {E(p.Rule)}: {E(t.Number(p.Limit))} {E(t["at", "lúc"])} {E(t.Date(p.CrossAt))}</title>";
            svg.Append(CultureInfo.InvariantCulture, $"<path class=\"forecast-projection\" d=\"M{F(X(p.From))},{F(Y(p.FromValue))} L{F(x)},{F(y)}\" fill=\"none\" stroke=\"{ForecastColour}\" stroke-width=\"1.2\" stroke-dasharray=\"5 3\"/>");
            svg.Append(inside
                ? string.Create(CultureInfo.InvariantCulture, $"<circle class=\"forecast-crossing\" cx=\"{F(x)}\" cy=\"{F(y)}\" r=\"3.5\" fill=\"white\" stroke=\"{ForecastColour}\" stroke-width=\"1.5\">{title}</circle>")
                : string.Create(CultureInfo.InvariantCulture, $"<path class=\"forecast-beyond\" d=\"M{F(x - 6)},{F(y - 4)} L{F(x)},{F(y)} L{F(x - 6)},{F(y + 4)}\" fill=\"none\" stroke=\"{ForecastColour}\" stroke-width=\"1.5\">{title}</path>"));
        }

        foreach (var a in alerts)
        {
            var x = X(a.RaisedAt);
            var colour = a.Severity == Severity.Critical ? "#b3261e" : "#e8a200";
            var forecast = forecastRules.Contains(a.RuleId);
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"alert-mark\" x1=\"{F(x)}\" y1=\"{top}\" x2=\"{F(x)}\" y2=\"{height - bottom}\" stroke=\"{colour}\" stroke-width=\"0.8\"/>");
            var marker = forecast ? $"M{F(x)},{top} l4,5 l-4,5 l-4,-5 z" : $"M{F(x - 4)},{top} l8,0 l-4,7 z";
            svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{marker}\" fill=\"{colour}\"><title>{E(a.RuleId)} {E(t.Date(a.RaisedAt))}</title></path>");
        }

        foreach (var c in actions ?? [])
        {
            var x = X(c.IssuedAt);
            var colour = ReportActions.Outcome(c, to) == "done" ? "#116b2b" : "#b3261e";
            svg.Append(CultureInfo.InvariantCulture, $"<line class=\"action-mark\" x1=\"{F(x)}\" y1=\"{top}\" x2=\"{F(x)}\" y2=\"{height - bottom}\" stroke=\"{colour}\" stroke-width=\"0.8\" stroke-dasharray=\"1 2\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<path class=\"action-marker\" d=\"M{F(x)},{height - bottom - 8} l4,7 l-8,0 z\" fill=\"{colour}\"><title>{E(t.Date(c.IssuedAt))} {E(ReportActions.What(c, t))} ({E(ReportActions.Who(c, t))}): {E(ReportActions.OutcomeText(c, to, t))}</title></path>");
        }

        return svg.Append("</svg>").ToString();
    }
}
