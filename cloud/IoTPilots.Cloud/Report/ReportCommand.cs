using System.Globalization;
using System.Text;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Report;

/// <summary>
/// <c>IoTPilots.Cloud report --pilot aquaculture [--from ISO] [--to ISO] [--out report.md]</c>: the pilot
/// evaluation report in Markdown. Without <c>--to</c>, up to now; without <c>--from</c>, the last 7 days, starting at
/// the pilot's first reading in them. InfluxDB from the usual environment, the alert store from PILOTS_ALERT_DB, the
/// rules from PILOTS_RULES. Exit 0 on success, 2 on bad arguments or an unreachable source, naming which.
/// </summary>
public static class ReportCommand
{
    public const string Usage = "usage: report --pilot factory|port|aquaculture [--from 2026-11-01T00:00:00Z] [--to 2026-11-08T00:00:00Z] [--out report.md]";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TimeProvider time)
    {
        string? pilot = null, outFile = null;
        DateTimeOffset? from = null, to = null;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--pilot" when Pilots.IsKnown(value):
                    pilot = value;
                    break;
                case "--from" when Time(value) is { } f:
                    from = f;
                    break;
                case "--to" when Time(value) is { } t:
                    to = t;
                    break;
                case "--out" when !string.IsNullOrWhiteSpace(value):
                    outFile = value;
                    break;
                default:
                    await error.WriteLineAsync($"report: bad or incomplete option '{args[i]}{(value is null ? "" : " " + value)}' (--pilot {string.Join("|", Pilots.All)}, --from/--to ISO-8601 UTC times, --out FILE)\n{Usage}").ConfigureAwait(false);
                    return 2;
            }

            i++;
        }

        if (pilot is null)
        {
            await error.WriteLineAsync($"report: --pilot is required\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        to ??= time.GetUtcNow();
        var fromGiven = from is not null;
        from ??= to.Value.AddDays(-7);
        if (from >= to)
        {
            await error.WriteLineAsync($"report: --from {from:O} is not before --to {to:O}").ConfigureAwait(false);
            return 2;
        }

        RulesOptions settings;
        try
        {
            settings = RulesOptions.FromEnvironment(Environment.GetEnvironmentVariable, worker: "1");
        }
        catch (FormatException ex)
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
            var influx = new InfluxWriter(http, InfluxEndpoint.FromEnvironment(Environment.GetEnvironmentVariable));
            using var store = AlertStore.Open(alertDb, time);
            if (!fromGiven && await FirstReadingAsync(influx, pilot, from.Value, to.Value).ConfigureAwait(false) is { } first)
            {
                // Without --from: the last 7 days, or less when the pilot's data starts later (a new pilot, a demo).
                from = first;
            }

            var report = await PilotReport.BuildAsync(influx, store, rules, pilot, from.Value, to.Value, CancellationToken.None).ConfigureAwait(false);
            var markdown = Markdown(report, time.GetUtcNow());
            if (outFile is null)
            {
                await output.WriteAsync(markdown).ConfigureAwait(false);
            }
            else
            {
                await File.WriteAllTextAsync(outFile, markdown).ConfigureAwait(false);
                await output.WriteLineAsync($"report: {outFile}").ConfigureAwait(false);
            }

            return 0;
        }
        catch (Exception ex) when (ex is FormatException or HttpRequestException or InfluxUnavailableException or InfluxRejectedException
            or Config.ConfigException or InvalidDataException or InvalidOperationException or IOException or TaskCanceledException)
        {
            await error.WriteLineAsync($"report: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    /// <summary>The time of the pilot's first reading in the period, to the minute; null when there is none.</summary>
    private static async Task<DateTimeOffset?> FirstReadingAsync(InfluxWriter influx, string pilot, DateTimeOffset from, DateTimeOffset to)
    {
        using var doc = await influx.QueryAsync(
            $"SELECT * FROM telemetry WHERE pilot = '{pilot}' AND time >= {from.ToUnixTimeMilliseconds()}ms AND time < {to.ToUnixTimeMilliseconds()}ms ORDER BY time ASC LIMIT 1",
            CancellationToken.None).ConfigureAwait(false);
        if (!doc.RootElement.GetProperty("results")[0].TryGetProperty("series", out var series))
        {
            return null;
        }

        var ms = series[0].GetProperty("values")[0][0].GetInt64();
        return DateTimeOffset.FromUnixTimeMilliseconds(ms - (ms % 60_000));
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
        md.AppendLine();

        md.AppendLine("## Data availability");
        md.AppendLine();
        md.AppendLine(inv, $"Share of the period's {PilotReport.Hours(r.Bucket)} intervals with at least one good reading; silent = time under a missing-data alert.");
        md.AppendLine();
        Table(md, ["device", "available", "good readings", "not good", "silent"],
            r.Devices.Select(d => new[] { d.Name, $"{d.AvailablePercent.ToString("0.#", inv)} %", $"{d.GoodReadings}", $"{d.NotGoodReadings}", PilotReport.Hours(d.Silent) }));
        md.AppendLine();
        md.AppendLine("## Delivery (since each gateway started)");
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
