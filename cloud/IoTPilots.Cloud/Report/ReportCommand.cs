using System.Globalization;
using System.Text;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Report;

/// <summary>
/// <c>IoTPilots.Cloud report --pilot aquaculture [--from ISO] [--to ISO] [--baseline-from ISO --baseline-to ISO]
/// [--lang vi|en] [--format html|md|pdf] [--out report.html]</c>: the pilot evaluation report. HTML (default) is one
/// self-contained page, with a CSV and a JSON of every figure beside it; PDF prints that page through headless
/// Chromium; md is the short Markdown summary. Vietnamese by default. Without <c>--to</c>, up to now; without
/// <c>--from</c>, the last 7 days, starting at the pilot's first reading in them. Pilot definitions from
/// Report/pilots.yaml (or PILOTS_PILOTS), InfluxDB from the usual environment, the alert store from PILOTS_ALERT_DB,
/// the rules from PILOTS_RULES. Exit 0 on success, 2 on bad arguments, a period with no data or an unreachable
/// source, naming which, and then no file is written.
/// </summary>
public static class ReportCommand
{
    public const string Usage = "usage: report --pilot aquaculture|factory|port [--from 2026-11-01T00:00:00Z] [--to 2026-11-08T00:00:00Z] [--baseline-from ISO --baseline-to ISO] [--lang vi|en] [--format html|md|pdf] [--out report.html]";

    /// <summary>Where headless Chromium is looked for, for --format pdf (PILOTS_CHROMIUM first).</summary>
    public static readonly string[] ChromiumPaths = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TimeProvider time) =>
        RunAsync(args, output, error, time, Environment.GetEnvironmentVariable);

    /// <param name="environment">The environment variables (tests pass their own).</param>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TimeProvider time, Func<string, string?> environment)
    {
        string? pilot = null, outFile = null, lang = "vi", format = "html";
        DateTimeOffset? from = null, to = null, baselineFrom = null, baselineTo = null;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--pilot" when !string.IsNullOrWhiteSpace(value):
                    pilot = value;
                    break;
                case "--from" when Time(value) is { } f:
                    from = f;
                    break;
                case "--to" when Time(value) is { } t:
                    to = t;
                    break;
                case "--baseline-from" when Time(value) is { } bf:
                    baselineFrom = bf;
                    break;
                case "--baseline-to" when Time(value) is { } bt:
                    baselineTo = bt;
                    break;
                case "--lang" when value is "vi" or "en":
                    lang = value;
                    break;
                case "--format" when value is "html" or "md" or "pdf":
                    format = value;
                    break;
                case "--out" when !string.IsNullOrWhiteSpace(value):
                    outFile = value;
                    break;
                default:
                    await error.WriteLineAsync($"report: bad or incomplete option '{args[i]}{(value is null ? "" : " " + value)}' (--pilot P, --from/--to/--baseline-from/--baseline-to ISO-8601 UTC times, --lang vi|en, --format html|md|pdf, --out FILE)\n{Usage}").ConfigureAwait(false);
                    return 2;
            }

            i++;
        }

        if (pilot is null)
        {
            await error.WriteLineAsync($"report: --pilot is required\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        var toGiven = to is not null;
        to ??= time.GetUtcNow();
        var fromGiven = from is not null;
        from ??= to.Value.AddDays(-7);
        if (from == to)
        {
            await error.WriteLineAsync($"report: the period is empty (--from {from:O} equals --to)").ConfigureAwait(false);
            return 2;
        }

        if (from > to)
        {
            await error.WriteLineAsync($"report: --to {to:O} is before --from {from:O}").ConfigureAwait(false);
            return 2;
        }

        if ((baselineFrom is null) != (baselineTo is null) || baselineFrom >= baselineTo)
        {
            await error.WriteLineAsync("report: a baseline needs both --baseline-from and --baseline-to, the first before the second").ConfigureAwait(false);
            return 2;
        }

        if (format == "pdf" && outFile is null)
        {
            await error.WriteLineAsync("report: --format pdf needs --out FILE").ConfigureAwait(false);
            return 2;
        }

        string? chromium = null;
        if (format == "pdf" && (chromium = Chromium(environment)) is null)
        {
            await error.WriteLineAsync($"report: --format pdf needs headless Chromium, not found at {string.Join(", ", ChromiumPaths)} (or PILOTS_CHROMIUM); install it, or write --format html and print that page from a browser (A4)").ConfigureAwait(false);
            return 2;
        }

        RulesOptions settings;
        PilotDefinition definition;
        try
        {
            settings = RulesOptions.FromEnvironment(environment, worker: "1");
            var definitions = PilotDefinitions.Load(environment("PILOTS_PILOTS") is { Length: > 0 } file ? file : PilotDefinitions.DefaultFile);
            if (definitions.FirstOrDefault(d => d.Id == pilot) is not { } found)
            {
                await error.WriteLineAsync($"report: unknown pilot '{pilot}' (defined: {string.Join(", ", definitions.Select(d => d.Id))})\n{Usage}").ConfigureAwait(false);
                return 2;
            }

            definition = found;
        }
        catch (Exception ex) when (ex is FormatException or Config.ConfigException)
        {
            await error.WriteLineAsync($"report: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        var alertDb = settings.DatabasePath;
        if (!File.Exists(alertDb))
        {
            await error.WriteLineAsync($"report: the alert store {alertDb} does not exist (set PILOTS_ALERT_DB to the cloud's)").ConfigureAwait(false);
            return 2;
        }

        try
        {
            var rules = RuleSet.Load(settings.RulesPath);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            var influx = new InfluxWriter(http, InfluxEndpoint.FromEnvironment(environment));
            using var store = AlertStore.Open(alertDb, time);
            if (!fromGiven && await FirstReadingAsync(influx, pilot, from.Value, to.Value).ConfigureAwait(false) is { } first)
            {
                // Without --from: the last 7 days, or less when the pilot's data starts later (a new pilot, a demo).
                from = first;
            }

            if (!toGiven && await LastReadingAsync(influx, pilot, from.Value, to.Value).ConfigureAwait(false) is { } last && last > from)
            {
                // Without --to: up to the pilot's last reading, so that time after a demo or a pilot ended is not counted as missing data.
                to = last;
            }

            var report = await PilotEvaluation.BuildAsync(influx, store, rules, definition, from.Value, to.Value, CancellationToken.None).ConfigureAwait(false);
            var commands = ReportActions.PathOf(environment, alertDb);
            report = report with { Actions = ReportActions.Load(commands, report) };
            if (report.Devices.Count == 0 && report.AlertList.Count == 0)
            {
                await error.WriteLineAsync($"report: no data for pilot '{pilot}' from {from:O} to {to:O} (no reading and no alert); nothing written").ConfigureAwait(false);
                return 2;
            }

            var baseline = baselineFrom is { } bf2 && baselineTo is { } bt2
                ? await PilotEvaluation.BuildAsync(influx, store, rules, definition, bf2, bt2, CancellationToken.None).ConfigureAwait(false)
                : null;
            baseline = baseline is null ? null : baseline with { Actions = ReportActions.Load(commands, baseline) };
            return await WriteAsync(report, baseline, new ReportText(lang), format, outFile, chromium, output, error, time.GetUtcNow()).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FormatException or HttpRequestException or InfluxUnavailableException or InfluxRejectedException
            or Config.ConfigException or InvalidDataException or InvalidOperationException or IOException or TaskCanceledException or System.ComponentModel.Win32Exception)
        {
            await error.WriteLineAsync($"report: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    private static async Task<int> WriteAsync(PilotReport report, PilotReport? baseline, ReportText text, string format, string? outFile, string? chromium, TextWriter output, TextWriter error, DateTimeOffset now)
    {
        if (format == "md")
        {
            var markdown = Markdown(report, now);
            if (outFile is null)
            {
                await output.WriteAsync(markdown).ConfigureAwait(false);
                return 0;
            }

            await File.WriteAllTextAsync(outFile, markdown).ConfigureAwait(false);
            await output.WriteLineAsync($"report: {outFile}").ConfigureAwait(false);
            return 0;
        }

        var html = ReportHtml.Render(report, baseline, text, now);
        if (outFile is null)
        {
            await output.WriteAsync(html).ConfigureAwait(false);
            return 0;
        }

        var figures = ReportFigures.Of(report, baseline);
        var stem = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outFile))!, Path.GetFileNameWithoutExtension(outFile));
        var htmlFile = format == "html" ? outFile : stem + ".html";
        await File.WriteAllTextAsync(htmlFile, html).ConfigureAwait(false);
        await File.WriteAllTextAsync(stem + ".csv", ReportFigures.Csv(figures)).ConfigureAwait(false);
        await File.WriteAllTextAsync(stem + ".json", ReportFigures.Json(report, baseline, figures)).ConfigureAwait(false);
        if (format == "pdf" && !await PrintPdfAsync(chromium!, htmlFile, outFile, error).ConfigureAwait(false))
        {
            return 2;
        }

        await output.WriteLineAsync($"report: {outFile} (figures: {stem}.csv, {stem}.json)").ConfigureAwait(false);
        return 0;
    }

    private static string? Chromium(Func<string, string?> environment) =>
        environment("PILOTS_CHROMIUM") is { Length: > 0 } configured
            ? (File.Exists(configured) ? configured : null)
            : ChromiumPaths.FirstOrDefault(File.Exists);

    /// <summary>Prints the HTML to an A4 PDF with headless Chromium (the page's @page rule sets A4).</summary>
    private static async Task<bool> PrintPdfAsync(string chromium, string htmlFile, string pdfFile, TextWriter error)
    {
        var profile = Directory.CreateTempSubdirectory("pilots-report-chromium-").FullName;
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo(chromium) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", $"--user-data-dir={profile}", $"--print-to-pdf={Path.GetFullPath(pdfFile)}", new Uri(Path.GetFullPath(htmlFile)).AbsoluteUri })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = System.Diagnostics.Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await error.WriteLineAsync($"report: Chromium did not print {htmlFile} within 2 minutes").ConfigureAwait(false);
                return false;
            }

            if (process.ExitCode != 0 || !File.Exists(pdfFile))
            {
                await error.WriteLineAsync($"report: Chromium could not print {htmlFile} to {pdfFile} (exit {process.ExitCode}): {(await stderr.ConfigureAwait(false)).Trim()}").ConfigureAwait(false);
                return false;
            }

            return true;
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }

    /// <summary>The start of the minute of the pilot's first reading in the period; null when there is none.</summary>
    private static async Task<DateTimeOffset?> FirstReadingAsync(InfluxWriter influx, string pilot, DateTimeOffset from, DateTimeOffset to) =>
        await ReadingAsync(influx, pilot, from, to, "ASC").ConfigureAwait(false) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms - (ms % 60_000)) : null;

    /// <summary>The end of the minute of the pilot's last reading in the period (at most <paramref name="to"/>); null when there is none.</summary>
    private static async Task<DateTimeOffset?> LastReadingAsync(InfluxWriter influx, string pilot, DateTimeOffset from, DateTimeOffset to) =>
        await ReadingAsync(influx, pilot, from, to, "DESC").ConfigureAwait(false) is { } ms && DateTimeOffset.FromUnixTimeMilliseconds(ms - (ms % 60_000) + 60_000) is var end
            ? (end < to ? end : to)
            : null;

    /// <summary>The time (Unix ms) of the pilot's first (ASC) or last (DESC) reading in the period; null when there is none.</summary>
    private static async Task<long?> ReadingAsync(InfluxWriter influx, string pilot, DateTimeOffset from, DateTimeOffset to, string order)
    {
        using var doc = await influx.QueryAsync(
            $"SELECT * FROM telemetry WHERE pilot = '{pilot}' AND time >= {from.ToUnixTimeMilliseconds()}ms AND time < {to.ToUnixTimeMilliseconds()}ms ORDER BY time {order} LIMIT 1",
            CancellationToken.None).ConfigureAwait(false);
        return doc.RootElement.GetProperty("results")[0].TryGetProperty("series", out var series) ? series[0].GetProperty("values")[0][0].GetInt64() : null;
    }

    private static DateTimeOffset? Time(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;

    public static string Markdown(PilotReport r, DateTimeOffset generatedAt)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine(inv, $"# Pilot evaluation: {r.Pilot}");
        md.AppendLine();
        md.AppendLine(inv, $"Period {r.From:yyyy-MM-dd HH:mm} to {r.To:yyyy-MM-dd HH:mm} UTC ({PilotReport.Hours(r.To - r.From)}); generated {generatedAt:yyyy-MM-dd HH:mm} UTC.");
        md.AppendLine();
        md.AppendLine(inv, $"Roadmap item: {r.RoadmapItem}.");
        md.AppendLine();

        var a = r.Alerts;
        md.AppendLine("## Summary");
        md.AppendLine();
        var availability = r.Devices.Count == 0 ? "no data" : $"{r.Devices.Average(d => d.AvailablePercent):0.#} % mean, lowest {r.Devices.Min(d => d.AvailablePercent):0.#} % ({r.Devices.MinBy(d => d.AvailablePercent)!.Name})";
        md.AppendLine(inv, $"- Data availability: {availability}.");
        md.AppendLine(inv, $"- Messages delivered: {(r.Gateways.Count == 0 ? "no delivery figures" : string.Join(", ", r.Gateways.Select(g => $"{g.Gateway} {g.CompletePercent:0.##} %")))}.");
        md.AppendLine(inv, $"- Alerts: {a.Raised} raised ({a.BySeverity[Severity.Critical]} critical, {a.BySeverity[Severity.Warning]} warning, {a.BySeverity[Severity.Info]} info); {a.Acknowledged} acknowledged, median {PilotReport.Hours(a.MedianToAcknowledge)} to acknowledge; {a.StillOpen} still open at the end.");
        var predicted = r.Predictions.Count(p => p.FailedAt is not null);
        md.AppendLine(inv, $"- Failures predicted before they happened: {predicted} of {predicted + r.UnpredictedFailures} on watched signals{(predicted > 0 ? $", median lead time {PilotReport.Hours(r.MedianLeadTime)}" : "")}.");
        var english = new ReportText("en");
        md.AppendLine(inv, $"- Automatic actions: {(r.Actions.Count == 0 ? "none" : string.Join("; ", r.Actions.Select(c => $"{c.IssuedAt:HH:mm} {c.Device} {ReportActions.What(c, english)} ({ReportActions.Who(c, english)}): {ReportActions.OutcomeText(c, r.To, english)}")))}.");
        md.AppendLine();

        md.AppendLine("## Data availability");
        md.AppendLine();
        md.AppendLine(inv, $"Share of the period's {PilotReport.Hours(r.Bucket)} intervals with at least one good reading; silent = time under a missing-data alert.");
        md.AppendLine();
        Table(md, ["device", "available", "good readings", "not good", "silent"],
            r.Devices.Select(d => new[] { d.Name, $"{d.AvailablePercent.ToString("0.#", inv)} %", $"{d.GoodReadings}", $"{d.NotGoodReadings}", PilotReport.Hours(d.Silent) }));
        md.AppendLine();
        md.AppendLine("## Delivery (in the period)");
        md.AppendLine();
        Table(md, ["gateway", "received", "missing", "dropped by the edge", "complete"],
            r.Gateways.Select(g => new[] { g.Gateway, $"{g.Received}", $"{g.Missing}", $"{g.Dropped}", $"{g.CompletePercent.ToString("0.##", inv)} %" }));
        md.AppendLine();
        md.AppendLine("## Alerts and how fast they were handled");
        md.AppendLine();
        md.AppendLine(inv, $"Time to acknowledge: median {PilotReport.Hours(a.MedianToAcknowledge)}, 90th percentile {PilotReport.Hours(a.P90ToAcknowledge)} ({a.Acknowledged} of {a.Raised} acknowledged). Time to resolve: median {PilotReport.Hours(a.MedianToResolve)}.");
        md.AppendLine();
        Table(md, ["rule", "alerts"], a.ByRule.Select(x => new[] { x.Rule, $"{x.Count}" }));
        md.AppendLine();
        md.AppendLine("## Failures predicted before they happened");
        md.AppendLine();
        if (r.Predictions.Count == 0)
        {
            md.AppendLine("No forecast alert in the period.");
        }
        else
        {
            Table(md, ["device", "signal", "forecast at", "limit crossed at", "lead time"], r.Predictions.Select(p => new[]
            {
                p.Device, p.Field, p.PredictedAt.ToString("yyyy-MM-dd HH:mm", inv), p.FailedAt?.ToString("yyyy-MM-dd HH:mm", inv) ?? "not (yet)", PilotReport.Hours(p.LeadTime),
            }), textColumns: 4);
        }

        md.AppendLine();
        md.AppendLine(inv, $"Critical limit crossings on forecast-watched signals with no forecast before them: {r.UnpredictedFailures}.");
        md.AppendLine();
        md.AppendLine("## Automatic actions");
        md.AppendLine();
        if (r.Actions.Count == 0)
        {
            md.AppendLine("No automatic action in the period.");
        }
        else
        {
            Table(md, ["at", "device", "action", "issued by", "alert", "outcome", "read back"], r.Actions.Select(c => new[]
            {
                c.IssuedAt.ToString("yyyy-MM-dd HH:mm:ss", inv), c.Device, ReportActions.What(c, english), ReportActions.Who(c, english),
                c.AlertId is { } id ? $"#{id}" : "–", ReportActions.OutcomeText(c, r.To, english), c.ReadBack?.ToString("0.###", inv) ?? "–",
            }), textColumns: 6);
        }

        md.AppendLine();
        md.AppendLine("## Output");
        md.AppendLine();
        foreach (var (what, value) in r.Output)
        {
            md.AppendLine(inv, $"- {what}: {value}");
        }

        return md.ToString();
    }

    /// <summary>A Markdown table: the first <paramref name="textColumns"/> columns left-aligned, the figures after them right-aligned.</summary>
    private static void Table(StringBuilder md, string[] header, IEnumerable<string[]> rows, int textColumns = 1)
    {
        md.AppendLine("| " + string.Join(" | ", header) + " |");
        md.AppendLine("|" + string.Concat(header.Select((_, i) => i < textColumns ? "---|" : "---:|")));
        foreach (var row in rows)
        {
            md.AppendLine("| " + string.Join(" | ", row) + " |");
        }
    }
}
