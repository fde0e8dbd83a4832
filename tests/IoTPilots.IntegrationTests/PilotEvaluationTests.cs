using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Report;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The pilot evaluation against its definition (Report/pilots.yaml) on a real InfluxDB and alert store seeded with a
/// known aquaculture hour: the KPIs, the HTML in both languages, the command line's files and errors, and the page
/// in Chromium (no console error, no external request, A4 print without a table cut across pages).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class PilotEvaluationTests(Servers servers, ConsoleBrowser browser) : IDisposable, IClassFixture<ConsoleBrowser>
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Tank3 = new("aquaculture", "cat-hai-ras-1", "gw-aqua-01", "tank-03");
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-evaluation-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A DO forecast rule (the default rules have none for aquaculture): its alerts give the chart a projection.</summary>
    private static readonly IReadOnlyList<Rule> Rules = [.. RuleSet.Load(RuleSet.DefaultFile), .. RuleSet.Parse(
        "rules:\n  - { id: do-forecast, kind: forecast, pilot: aquaculture, field: do_mg_l, below: 3.0, window: 30m, within: 2h, severity: warning, source: t }\n", "t.yaml")];

    /// <summary>
    /// One hour, four tanks at 6 mg/L on two sites, except tank-03 whose DO falls to 2.5 mg/L from minute 20 to 29
    /// (10 min below 3); a forecast alert on it at minute 12 predicting the crossing 0.25 h later, a critical alert
    /// at minute 21, acknowledged 4 min later (and critical alerts on other tanks before and after the hour); the
    /// gateway's counters go from 5000 before the hour to 5990 received and 10 missing at its end.
    /// </summary>
    private async Task<(InfluxWriter Influx, string AlertDb)> SeedAsync()
    {
        var influx = await servers.NewDatabaseAsync("evaluation");
        var lines = new List<string> { $"delivery,gateway=gw-aqua-01 received=5000i,missing=0i,dropped=0i {T0.AddMinutes(-5).ToUnixTimeMilliseconds()}" };
        for (var m = 0; m < 60; m++)
        {
            var ms = T0.AddMinutes(m).ToUnixTimeMilliseconds();
            foreach (var tank in new[] { "tank-01", "tank-02", "tank-03", "tank-04" })
            {
                var site = tank == "tank-04" ? "cat-hai-ras-2" : "cat-hai-ras-1";
                var value = tank == "tank-03" && m is >= 20 and < 30 ? 2.5 : 6.0;
                lines.Add($"telemetry,device={tank},gateway=gw-aqua-01,pilot=aquaculture,site={site} do_mg_l={value},temp_c=29 {ms}");
            }
        }

        lines.Add($"delivery,gateway=gw-aqua-01 received=5990i,missing=10i,dropped=0i {T0.AddMinutes(59).ToUnixTimeMilliseconds()}");
        await influx.WriteAsync(lines, CancellationToken.None);
        var db = Path.Combine(_dir, "alerts.db");
        using var store = AlertStore.Open(db, new FakeTimeProvider(T0.AddHours(2)));
        store.Apply(new AlertEvent(AlertTransition.Raised, "do-forecast", Severity.Warning, Tank3, "do_mg_l", T0.AddMinutes(12), T0.AddMinutes(12), 0.25, 0.25, new LocalizedText("DO trend", "DO giảm")));
        // Outside the period: before it on tank-01, at its end on tank-02; neither may count.
        foreach (var (tank, minute) in new[] { ("tank-01", -30), ("tank-02", 60) })
        {
            store.Apply(new AlertEvent(AlertTransition.Raised, "do-critical", Severity.Critical, Tank3 with { Device = tank }, "do_mg_l", T0.AddMinutes(minute), T0.AddMinutes(minute), 2.5, 2.5, new LocalizedText("DO low", "DO thấp")));
        }

        var alert = store.Apply(new AlertEvent(AlertTransition.Raised, "do-critical", Severity.Critical, Tank3, "do_mg_l", T0.AddMinutes(21), T0.AddMinutes(20), 2.5, 2.5, new LocalizedText("DO low", "DO thấp")))!;
        store.Acknowledge(alert.Id, "Nguyễn Văn A", "bật sục khí dự phòng", T0.AddMinutes(25));
        return (influx, db);
    }

    private async Task<PilotReport> BuildAsync()
    {
        var (influx, db) = await SeedAsync();
        using var store = AlertStore.Open(db, new FakeTimeProvider(T0.AddHours(2)));
        var aquaculture = PilotDefinitions.Load(PilotDefinitions.DefaultFile).Single(p => p.Id == "aquaculture");
        return await PilotEvaluation.BuildAsync(influx, store, Rules, aquaculture, T0, T0.AddHours(1), CancellationToken.None);
    }

    [Fact]
    public async Task The_kpis_money_and_delivery_cover_exactly_the_period_against_the_targets()
    {
        var report = await BuildAsync();

        double? Kpi(string id) => report.KpiResults.Single(k => k.Definition.Id == id).Value;
        Assert.Equal(100, Kpi("availability")!.Value, 3);
        Assert.Equal(4, Kpi("ack-critical")!.Value, 3);
        Assert.Equal(10, Kpi("do-low-time")!.Value, 3);
        Assert.Equal("tank-03", report.KpiResults.Single(k => k.Definition.Id == "do-low-time").Device);
        Assert.All(report.KpiResults, k => Assert.True(k.Met));
        Assert.Equal(["do-forecast@tank-03", "do-critical@tank-03"], report.AlertList.Select(a => $"{a.RuleId}@{a.Series.Device}"));
        Assert.Equal((2, 1), (report.Alerts.Raised, report.Alerts.BySeverity[Severity.Critical]));
        var delivery = Assert.Single(report.Gateways);
        Assert.Equal((990L, 10L), (delivery.Received, delivery.Missing));
        var money = Assert.Single(report.Money);
        Assert.Equal((1, 750_000_000.0, "tank-03"), (money.Events, money.Amount, Assert.Single(money.Devices)));
        Assert.Equal("cat-hai-ras-2", report.SiteOf["tank-04"]);
        Assert.Equal(4, report.Signal.Count);
        Assert.Equal([0.0, 0.0, 10.0, 0.0], report.KpiResults.Single(k => k.Definition.Id == "do-low-time").PerDevice!.OrderBy(x => x.Key).Select(x => x.Value));
        var projection = Assert.Single(report.Projections);
        Assert.Equal(("tank-03", T0.AddMinutes(12), 6.0, T0.AddMinutes(27), 3.0), (projection.Device, projection.From, projection.FromValue, projection.CrossAt, projection.Limit));
        Assert.Equal(TimeSpan.FromMinutes(9), Assert.Single(report.Predictions).LeadTime);
    }

    [Theory]
    [InlineData("vi", "Kết luận", "đạt", "750.000.000 VND", "20/11/2026 08:21", "4 phút", "nét đứt tím: đường dự báo tới giới hạn")]
    [InlineData("en", "Verdict", "met", "750,000,000 VND", "2026-11-20 08:21", "4 min", "purple dashes: the forecast's projection to the limit")]
    public async Task Both_languages_render_every_kpi_with_the_same_figures(string lang, string verdict, string met, string money, string raised, string ack, string projection)
    {
        var report = await BuildAsync();

        var html = ReportHtml.Render(report, report, new ReportText(lang), T0.AddHours(2));

        Assert.Contains(verdict, html, StringComparison.Ordinal);
        foreach (var kpi in report.Definition!.Kpis)
        {
            Assert.Contains($"data-kpi=\"{kpi.Id}\"", html, StringComparison.Ordinal);
        }

        Assert.Contains($"class=\"met\">{met}<", html, StringComparison.Ordinal);
        Assert.Contains(money, html, StringComparison.Ordinal);
        Assert.Contains(raised, html, StringComparison.Ordinal);
        Assert.Contains(ack, html, StringComparison.Ordinal);
        Assert.Contains("<th class=\"n\">cat-hai-ras-2</th>", html, StringComparison.Ordinal);
        Assert.Contains("class=\"alert-mark\"", html, StringComparison.Ordinal);
        // The forecast at 08:12 (DO 6) predicted 3 mg/L at 08:27: on tank-03's chart only, dashed, with a circle there.
        var tank3 = html[html.IndexOf("<figure data-device=\"tank-03\">", StringComparison.Ordinal)..];
        tank3 = tank3[..tank3.IndexOf("</figure>", StringComparison.Ordinal)];
        Assert.Contains("class=\"forecast-projection\"", tank3, StringComparison.Ordinal);
        Assert.Contains("class=\"forecast-crossing\"", tank3, StringComparison.Ordinal);
        Assert.Contains(projection, tank3, StringComparison.Ordinal);
        Assert.Equal(1, html.Split("class=\"forecast-projection\"").Length - 1);
        Assert.Contains(lang == "vi" ? "<td>20/11/2026 08:12</td><td>20/11/2026 08:27</td><td>20/11/2026 08:21</td>" : "<td>2026-11-20 08:12</td><td>2026-11-20 08:27</td><td>2026-11-20 08:21</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td class=\"n\">+0</td>", html, StringComparison.Ordinal); // the change from the baseline (here the same period)
        Assert.Contains(lang == "vi" ? "Phụ lục phương pháp" : "Method appendix", html, StringComparison.Ordinal);
        Assert.Contains(lang == "vi" ? "Dữ liệu bị thiếu: không có" : "Missing data: none", html, StringComparison.Ordinal);
        Assert.Contains(lang == "vi" ? "gw-aqua-01: 10 bản tin bị thiếu" : "gw-aqua-01: 10 messages missing", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    private Func<string, string?> Environment(InfluxWriter influx, string alertDb) => name => name switch
    {
        "PILOTS_INFLUX_URL" => servers.InfluxUrl,
        "PILOTS_INFLUX_DB" => influx.Endpoint.Database,
        "PILOTS_ALERT_DB" => alertDb,
        "PILOTS_CHROMIUM" => "/nonexistent/chromium",
        _ => null,
    };

    [Fact]
    public async Task The_command_writes_the_html_with_a_csv_and_a_json_of_every_figure_beside_it()
    {
        var (influx, db) = await SeedAsync();
        var html = Path.Combine(_dir, "aqua.html");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await ReportCommand.RunAsync(["--pilot", "aquaculture", "--from", "2026-11-20T08:00:00Z", "--to", "2026-11-20T09:00:00Z", "--out", html], output, error, new FakeTimeProvider(T0.AddHours(2)), Environment(influx, db));

        Assert.Equal(0, code);
        Assert.Contains("<html lang=\"vi\">", await File.ReadAllTextAsync(html), StringComparison.Ordinal);
        var csv = await File.ReadAllLinesAsync(Path.Combine(_dir, "aqua.csv"));
        Assert.Contains("kpi,do-low-time,tank-03,10,min,<=30,met,", csv);
        Assert.Contains("delivery,received,gw-aqua-01,990,count,,,", csv);
        Assert.Contains("kpi-device,do-low-time,tank-01,0,min,,met,", csv);
        Assert.Contains("\"item\": \"tank-stock\"", await File.ReadAllTextAsync(Path.Combine(_dir, "aqua.json")), StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 15: the command reads the commands record the cloud keeps beside the alert store (commands.db) and lists
    /// the rule's automatic start of tank-03's backup aerator with its outcome, in the page, on the DO chart and in the
    /// figures; a person's command is not an automatic action.
    /// </summary>
    [Fact]
    public async Task The_command_lists_the_periods_automatic_actions_from_the_commands_record_beside_the_alert_store()
    {
        var (influx, db) = await SeedAsync();
        using (var commands = IoTPilots.Cloud.Commands.CommandStore.Open(Path.Combine(_dir, "commands.db")))
        {
            var start = new IoTPilots.Contract.CommandMessage("c-rule", Tank3.Site, Tank3.Gateway, Tank3.Device, "backup_aerator_on", 1, "rule:aerator-failure", T0.AddMinutes(21), T0.AddMinutes(23));
            commands.Issued(start, IoTPilots.Cloud.Commands.CommandStates.Sent, 4);
            commands.Answered(new IoTPilots.Contract.CommandResult("c-rule", Tank3.Site, Tank3.Gateway, IoTPilots.Contract.CommandOutcome.Done, "ok", "written and read back", 1, T0.AddMinutes(21).AddSeconds(2)));
            commands.Issued(start with { Id = "c-person", IssuedBy = "nguyen.van.a", Value = 0, IssuedAt = T0.AddMinutes(40) }, IoTPilots.Cloud.Commands.CommandStates.Sent);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var html = Path.Combine(_dir, "aqua-actions.html");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await ReportCommand.RunAsync(["--pilot", "aquaculture", "--from", "2026-11-20T08:00:00Z", "--to", "2026-11-20T09:00:00Z", "--lang", "en", "--out", html], output, error, new FakeTimeProvider(T0.AddHours(2)), Environment(influx, db));

        Assert.True(code == 0, error.ToString());
        var page = await File.ReadAllTextAsync(html);
        Assert.Contains("<tr data-outcome=\"done\"><td>2026-11-20 08:21</td><td>tank-03</td><td>Backup aerator: ON</td><td>rule aerator-failure</td>", page, StringComparison.Ordinal);
        Assert.Contains("1 automatic actions, 1 done", page, StringComparison.Ordinal);
        Assert.DoesNotContain("nguyen.van.a", page, StringComparison.Ordinal);
        Assert.Contains("class=\"action-marker\"", page, StringComparison.Ordinal);
        Assert.Contains("action,backup_aerator_on@2026-11-20T08:21:00Z,tank-03,1,value set,rule:aerator-failure,done,", await File.ReadAllLinesAsync(Path.Combine(_dir, "aqua-actions.csv")));
    }

    /// <summary>
    /// --format pdf through the installed headless Chromium, with a baseline period (the hour before, which has no
    /// readings): an A4 PDF (595 × 842 pt), and the HTML it printed, the CSV and the JSON beside it.
    /// </summary>
    [SkippableFact]
    public async Task The_command_prints_an_a4_pdf_through_headless_chromium_with_the_html_csv_and_json_beside_it()
    {
        var chromium = ReportCommand.ChromiumPaths.FirstOrDefault(File.Exists);
        Skip.If(chromium is null, $"no Chromium at {string.Join(", ", ReportCommand.ChromiumPaths)}");
        var (influx, db) = await SeedAsync();
        var pdf = Path.Combine(_dir, "aqua.pdf");
        var environment = Environment(influx, db);
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await ReportCommand.RunAsync(
            ["--pilot", "aquaculture", "--from", "2026-11-20T08:00:00Z", "--to", "2026-11-20T09:00:00Z", "--baseline-from", "2026-11-20T07:00:00Z", "--baseline-to", "2026-11-20T08:00:00Z", "--lang", "en", "--format", "pdf", "--out", pdf],
            output, error, new FakeTimeProvider(T0.AddHours(2)), name => name == "PILOTS_CHROMIUM" ? chromium : environment(name));

        Assert.True(code == 0, error.ToString());
        using (var document = UglyToad.PdfPig.PdfDocument.Open(pdf))
        {
            var first = document.GetPage(1);
            Assert.Equal((595.0, 842.0), (Math.Round(first.Width), Math.Round(first.Height)));
            Assert.Contains("Verdict", first.Text, StringComparison.Ordinal);
        }

        var html = await File.ReadAllTextAsync(Path.Combine(_dir, "aqua.html"));
        Assert.Contains("<th class=\"n\">baseline</th>", html, StringComparison.Ordinal);
        Assert.Contains("\"baselineFrom\": \"2026-11-20T07:00:00+00:00\"", await File.ReadAllTextAsync(Path.Combine(_dir, "aqua.json")), StringComparison.Ordinal);
        Assert.Contains("kpi,availability,", await File.ReadAllTextAsync(Path.Combine(_dir, "aqua.csv")), StringComparison.Ordinal);
        Assert.Contains("aqua.pdf", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--pilot", "farm" }, "unknown pilot 'farm' (defined: aquaculture, factory, port)")]
    [InlineData(new[] { "--pilot", "aquaculture", "--from", "2026-11-20T08:00:00Z", "--to", "2026-11-20T08:00:00Z" }, "the period is empty")]
    [InlineData(new[] { "--pilot", "aquaculture", "--from", "2026-11-20T09:00:00Z", "--to", "2026-11-20T08:00:00Z" }, "is before --from")]
    [InlineData(new[] { "--pilot", "aquaculture", "--from", "2026-10-01T00:00:00Z", "--to", "2026-10-02T00:00:00Z" }, "no data for pilot 'aquaculture'")]
    [InlineData(new[] { "--pilot", "aquaculture", "--lang", "fr" }, "bad or incomplete option '--lang fr'")]
    [InlineData(new[] { "--pilot", "aquaculture", "--baseline-from", "2026-11-01T00:00:00Z" }, "a baseline needs both")]
    [InlineData(new[] { "--pilot", "aquaculture", "--from", "2026-11-20T08:00:00Z", "--to", "2026-11-20T09:00:00Z", "--format", "pdf" }, "--format pdf needs headless Chromium")]
    public async Task Bad_arguments_exit_2_with_a_clear_error_and_no_file(string[] args, string problem)
    {
        var (influx, db) = await SeedAsync();
        var html = Path.Combine(_dir, "bad.html");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await ReportCommand.RunAsync([.. args, "--out", html], output, error, new FakeTimeProvider(T0.AddHours(2)), Environment(influx, db));

        Assert.Equal(2, code);
        Assert.Contains(problem, error.ToString(), StringComparison.Ordinal);
        Assert.Empty(output.ToString());
        Assert.Empty(Directory.GetFiles(_dir, "bad.*"));
    }

    /// <summary>
    /// The page in Chromium, in each language: no console error, no request but the file itself, and printed on A4
    /// (print media, the printable width of 186 mm) every chart keeps break-inside: avoid and fits within one page's
    /// height, every table repeats its header (thead as table-header-group) and keeps each row whole (tr
    /// break-inside: avoid), a short table moves to the next page whole; the PDF prints. Screenshots of the first
    /// page and of tank-03's chart (with the forecast's projection) go to TestResults/report-artifacts (or
    /// PILOTS_REPORT_ARTIFACTS).
    /// </summary>
    [SkippableFact]
    public async Task The_page_opens_in_chromium_without_errors_or_external_requests_and_prints_on_a4_without_cutting_a_table()
    {
        var chromium = browser.Require();
        var report = await BuildAsync();
        var artifacts = System.Environment.GetEnvironmentVariable("PILOTS_REPORT_ARTIFACTS") is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "TestResults", "report-artifacts");
        Directory.CreateDirectory(artifacts);
        foreach (var lang in new[] { "vi", "en" })
        {
            var printed = await PrintAsync(chromium, report, lang, Path.Combine(artifacts, $"report-first-page-{lang}.png"));

            Assert.Empty(printed.Problems);
            Assert.DoesNotContain(printed.Tables, t => t.Long);
            Assert.Equal("%PDF"u8.ToArray(), printed.Pdf[..4]);
        }
    }

    /// <summary>
    /// A report of 90 tanks with a critical alert each, printed to an A4 PDF by Chromium and read back page by page
    /// (PdfPig): the alert and device tables run over several pages, every page's fragment of them starts with the
    /// header row, and each row stands exactly once, whole on one line of one page (a row cut across a page boundary
    /// would stand on neither page whole, or on both, clipped). The charts of 90 bars come in figures of at most 40.
    /// </summary>
    [SkippableFact]
    public async Task A_long_table_prints_across_a4_pages_with_its_header_on_each_and_no_row_cut()
    {
        var chromium = browser.Require();
        var influx = await servers.NewDatabaseAsync("evaluation");
        var tanks = Enumerable.Range(1, 90).Select(i => $"tank-{i:000}").ToList();
        var lines = new List<string>();
        for (var m = 0; m < 60; m++)
        {
            lines.AddRange(tanks.Select(tank => $"telemetry,device={tank},gateway=gw-aqua-01,pilot=aquaculture,site=cat-hai-ras-1 do_mg_l=6 {T0.AddMinutes(m).ToUnixTimeMilliseconds()}"));
        }

        await influx.WriteAsync(lines, CancellationToken.None);
        var time = new FakeTimeProvider(T0.AddHours(2));
        using var store = AlertStore.Open(Path.Combine(_dir, "alerts.db"), time);
        for (var i = 0; i < tanks.Count; i++)
        {
            var alert = store.Apply(new AlertEvent(AlertTransition.Raised, "do-critical", Severity.Critical, Tank3 with { Device = tanks[i] }, "do_mg_l", T0.AddMinutes(i % 55), T0.AddMinutes(i % 55), 2.5, 2.5, new LocalizedText("DO low", "DO thấp")))!;
            if (i % 2 == 0)
            {
                store.Acknowledge(alert.Id, "Nguyễn Văn A", null, alert.RaisedAt.AddMinutes(3));
            }
        }

        var aquaculture = PilotDefinitions.Load(PilotDefinitions.DefaultFile).Single(p => p.Id == "aquaculture");
        var report = await PilotEvaluation.BuildAsync(influx, store, Rules, aquaculture, T0, T0.AddHours(1), CancellationToken.None);
        foreach (var lang in new[] { "vi", "en" })
        {
            var printed = await PrintAsync(chromium, report, lang, null);

            Assert.Empty(printed.Problems);
            Assert.Contains(printed.Figures, f => f.StartsWith("chart-availability-3|", StringComparison.Ordinal));
            var pages = PdfLines(printed.Pdf);
            foreach (var table in printed.Tables.Where(t => t.Id is "alerts" or "devices"))
            {
                Assert.True(table.Long, $"{table.Id} ({table.Rows.Count} rows) should be allowed to break between rows");
                Assert.Equal(90, table.Rows.Count);
                var pagesWithRows = 0;
                foreach (var page in pages)
                {
                    var rows = page.Where(l => table.Rows.Contains(l.Text)).ToList();
                    if (rows.Count == 0)
                    {
                        continue;
                    }

                    pagesWithRows++;
                    // PDF y grows upwards: the header stands above the page's first row.
                    var header = page.Where(l => l.Text == table.Header).Select(l => l.Y).DefaultIfEmpty(double.NaN).Max();
                    Assert.True(header > rows.Max(r => r.Y), $"{lang}: a page of {table.Id} does not start with its header row (first row there: {rows.MaxBy(r => r.Y).Text})");
                }

                Assert.True(pagesWithRows >= 2, $"{lang}: {table.Id} fits on {pagesWithRows} page; the test needs it to run over a page boundary");
                Assert.All(table.Rows, row => Assert.True(pages.Sum(p => p.Count(l => l.Text == row)) == 1, $"{lang}: the {table.Id} row '{row}' does not stand exactly once, whole, on one page"));
            }
        }
    }

    private sealed record PrintedTable(string Id, bool Long, string Header, IReadOnlyList<string> Rows);

    private sealed record Printed(List<string> Problems, string[] Figures, IReadOnlyList<PrintedTable> Tables, byte[] Pdf);

    /// <summary>
    /// Opens the report in Chromium at A4's printable width (186 mm at 96 px per inch: 703 px; a page's printable
    /// height, 269 mm, is 1017 px) in print media, checks what every table and chart keeps for print, and prints it.
    /// </summary>
    private async Task<Printed> PrintAsync(IBrowser chromium, PilotReport report, string lang, string? screenshot)
    {
        var file = Path.Combine(_dir, $"report-{lang}.html");
        await File.WriteAllTextAsync(file, ReportHtml.Render(report, null, new ReportText(lang), T0.AddHours(2)));
        var context = await chromium.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 703, Height = 1017 } });
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, m) => { if (m.Type is "error" or "warning") { problems.Add(m.Text); } };
        page.PageError += (_, e) => problems.Add(e);
        page.Request += (_, r) => { if (!r.Url.StartsWith("file://", StringComparison.Ordinal)) { problems.Add("request " + r.Url); } };

        await page.GotoAsync(new Uri(file).AbsoluteUri);
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { Media = Media.Print });
        if (screenshot is not null)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot });
            // The key signal's chart with the forecast's projection, for a reviewer to look at.
            await page.Locator("figure[data-device='tank-03']").ScreenshotAsync(new LocatorScreenshotOptions { Path = screenshot.Replace("first-page", "tank-03-chart", StringComparison.Ordinal) });
        }

        var figures = await page.EvaluateAsync<string[]>("""
            [...document.querySelectorAll('figure')].map(e => `${e.id || e.dataset.device}|${getComputedStyle(e).breakInside}|${e.getBoundingClientRect().height}`)
            """);
        var tables = await page.EvaluateAsync<string[][]>("""
            [...document.querySelectorAll('table')].map(t => {
              const text = r => [...r.cells].map(c => c.innerText).join(' ');
              const kept = !t.tHead || getComputedStyle(t.tHead).display !== 'table-header-group' ? 'no thead'
                : [...t.rows].some(r => getComputedStyle(r).breakInside !== 'avoid') ? 'a row without break-inside: avoid' : 'ok';
              return [t.id, getComputedStyle(t).breakInside, `${t.getBoundingClientRect().height}`, kept, text(t.tHead.rows[0]), ...[...t.tBodies[0].rows].map(text)];
            })
            """);
        var pdf = await page.PdfAsync(new PagePdfOptions { Format = "A4", PreferCSSPageSize = true });
        await context.CloseAsync();

        Assert.NotEmpty(figures);
        Assert.All(figures, f =>
        {
            var parts = f.Split('|');
            Assert.True(parts[1] == "avoid", $"{parts[0]} has break-inside {parts[1]}");
            Assert.True(double.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) < 1017, $"{parts[0]} is taller than an A4 page ({parts[2]} px)");
        });
        Assert.NotEmpty(tables);
        Assert.All(tables, t =>
        {
            Assert.True(t[3] == "ok", $"table {t[0]}: {t[3]}");
            // A short table keeps break-inside: avoid and fits a page, so it moves to the next page whole.
            Assert.True(t[1] == "auto" || double.Parse(t[2], System.Globalization.CultureInfo.InvariantCulture) < 1017, $"table {t[0]} is taller than an A4 page ({t[2]} px) but may not break");
        });
        return new Printed(problems, figures, tables.Select(t => new PrintedTable(t[0], t[1] == "auto", Squash(t[4]), t[5..].Select(Squash).ToList())).ToList(), pdf);
    }

    /// <summary>Each page's lines of text (letters on one baseline, in the order Chromium drew them), whitespace removed, with the baseline's height.</summary>
    private static List<List<(string Text, double Y)>> PdfLines(byte[] pdf)
    {
        using var document = UglyToad.PdfPig.PdfDocument.Open(pdf);
        var pages = new List<List<(string, double)>>();
        foreach (var page in document.GetPages())
        {
            var lines = new List<(double Y, System.Text.StringBuilder Text)>();
            foreach (var letter in page.Letters)
            {
                var y = letter.StartBaseLine.Y;
                var line = lines.FindIndex(l => Math.Abs(l.Y - y) < 1);
                if (line < 0)
                {
                    lines.Add((y, new System.Text.StringBuilder()));
                    line = lines.Count - 1;
                }

                lines[line].Text.Append(letter.Value);
            }

            pages.Add(lines.Select(l => (Squash(l.Text.ToString()), l.Y)).ToList());
        }

        return pages;
    }

    private static string Squash(string text) => string.Concat(text.Normalize(System.Text.NormalizationForm.FormC).Where(c => !char.IsWhiteSpace(c)));
}
