using IoTPilots.Cloud.Commands;
using IoTPilots.Cloud.Report;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Report;

/// <summary>
/// Issue 15, "every action appears in the report": the aerator-failure demo's nine minutes on known data. tank-03's
/// aerator fails, its rule starts the backup aerator (done, read back 1); a second start, for another alert, is refused
/// by the panel's lock; a person's command and commands outside the period or the pilot's sites are not automatic
/// actions of this report.
/// </summary>
public sealed class ReportActionsTests
{
    private static readonly DateTimeOffset From = new(2026, 12, 1, 19, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset To = From.AddMinutes(9);
    private static readonly SeriesKey Tank03 = new("aquaculture", "cat-hai-ras-1", "gw-aqua-01", "tank-03");
    private static readonly PilotDefinition Aquaculture = PilotDefinitions.Load(PilotDefinitions.DefaultFile).Single(p => p.Id == "aquaculture");

    private static CommandRecord Command(string id, string by, double minutes, string state, string? reason = null, double? readBack = null, long? alert = 1, string site = "cat-hai-ras-1") => new(
        id, site, "gw-aqua-01", "tank-03", "backup_aerator_on", 1, by, From.AddMinutes(minutes), From.AddMinutes(minutes + 2), state, reason, null, readBack,
        state is "done" or "refused" ? From.AddMinutes(minutes).AddSeconds(2) : null, alert);

    private static PilotReport Report()
    {
        var alert = new Alert(1, "aerator-failure", Severity.Critical, Tank03, "do_mg_l", From.AddMinutes(1.5), From.AddMinutes(2), 5.1, 4.6, 4.6, From.AddMinutes(2),
            null, null, null, From.AddMinutes(7), new LocalizedText("aerator-failure", "aerator-failure"));
        var report = new PilotReport("aquaculture", "", From, To, TimeSpan.FromMinutes(1), [], [], PilotReport.Figures([alert], To), [], 0, [])
        {
            Definition = Aquaculture,
            AlertList = [alert],
            SiteOf = new Dictionary<string, string> { ["tank-03"] = "cat-hai-ras-1" },
            // DO per minute: falling from 6.5 after the failure, turning at the start (02:02), back above 5 at the end.
            Signal = new Dictionary<string, IReadOnlyList<(DateTimeOffset, double, double?)>>
            {
                ["tank-03"] = new[] { 6.5, 6.4, 5.6, 4.9, 4.7, 4.9, 5.2, 5.4, 5.6 }.Select((v, i) => (From.AddMinutes(i), v, (double?)null)).ToList(),
            },
        };
        var all = new[]
        {
            Command("c-person", "nguyen.van.a", 3, "done", readBack: 1, alert: null),
            Command("c-refused", "rule:aerator-failure", 4, "refused", reason: "locked", alert: 9),
            Command("c-done", "rule:aerator-failure", 2.1, "done", readBack: 1),
            Command("c-before", "rule:aerator-failure", -30, "done", readBack: 1),
            Command("c-elsewhere", "rule:aerator-failure", 5, "done", readBack: 1, alert: null, site: "hp-steel-1"),
            Command("c-unanswered", "rule:aerator-failure", 6, CommandStates.Sent),
        };
        return report with { Actions = ReportActions.InPeriod(all, report) };
    }

    [Fact]
    public void The_period_keeps_the_automatic_actions_on_the_pilots_sites_oldest_first()
    {
        var report = Report();

        Assert.Equal(["c-done", "c-refused", "c-unanswered"], report.Actions.Select(c => c.Id));
        Assert.Equal(["done", "refused", "expired"], report.Actions.Select(c => ReportActions.Outcome(c, To)));
    }

    [Fact]
    public void The_page_lists_each_action_with_its_outcome_in_both_languages_and_marks_it_on_the_tanks_chart()
    {
        var report = Report();

        var vi = ReportHtml.Render(report, null, new ReportText("vi"), To);
        var en = ReportHtml.Render(report, null, new ReportText("en"), To);

        Assert.Contains("<h2 id=\"actions-title\">Hành động tự động</h2>", vi, StringComparison.Ordinal);
        Assert.Contains("<h2 id=\"actions-title\">Automatic actions</h2>", en, StringComparison.Ordinal);
        Assert.Contains("<tr data-outcome=\"done\"><td>01/12/2026 19:02</td><td>tank-03</td><td>Máy sục dự phòng: BẬT</td><td>quy tắc aerator-failure</td><td>#1 aerator-failure</td><td class=\"met\">đã thực hiện</td><td class=\"n\">1</td></tr>", vi, StringComparison.Ordinal);
        Assert.Contains("<tr data-outcome=\"refused\"><td>2026-12-01 19:04</td><td>tank-03</td><td>Backup aerator: ON</td><td>rule aerator-failure</td><td>#9</td><td class=\"missed\">refused: locked</td>", en, StringComparison.Ordinal);
        Assert.Contains("<td class=\"missed\">expired, no answer from the gateway</td>", en, StringComparison.Ordinal);
        Assert.Contains("3 automatic actions, 1 done", en, StringComparison.Ordinal);
        Assert.DoesNotContain("nguyen.van.a", en, StringComparison.Ordinal);

        // On tank-03's DO chart: one marker per action, green where it was done, red where it was not, with the legend.
        var chart = en[en.IndexOf("<figure data-device=\"tank-03\">", StringComparison.Ordinal)..];
        chart = chart[..chart.IndexOf("</figure>", StringComparison.Ordinal)];
        Assert.Equal(3, chart.Split("class=\"action-marker\"").Length - 1);
        Assert.Contains("class=\"action-marker\" d=\"M", chart, StringComparison.Ordinal);
        Assert.Contains("fill=\"#116b2b\"><title>2026-12-01 19:02 Backup aerator: ON (rule aerator-failure): done</title>", chart, StringComparison.Ordinal);
        Assert.Contains("▲ automatic action", chart, StringComparison.Ordinal);
    }

    [Fact]
    public void The_figures_carry_each_action_with_who_issued_it_and_how_it_ended()
    {
        var report = Report();

        var csv = ReportFigures.Csv(ReportFigures.Of(report, null));

        Assert.Contains("actions,automatic,,3,count,,,\n", csv, StringComparison.Ordinal);
        Assert.Contains("actions,done,,1,count,,,\n", csv, StringComparison.Ordinal);
        Assert.Contains("action,backup_aerator_on@2026-12-01T19:02:06Z,tank-03,1,value set,rule:aerator-failure,done,\n", csv, StringComparison.Ordinal);
        Assert.Contains("action,backup_aerator_on@2026-12-01T19:04:00Z,tank-03,1,value set,rule:aerator-failure,refused: locked,\n", csv, StringComparison.Ordinal);
        Assert.Contains("\"verdict\": \"expired\"", ReportFigures.Json(report, null, ReportFigures.Of(report, null)), StringComparison.Ordinal);
    }

    [Fact]
    public void The_markdown_summary_names_each_action_for_the_demos_terminal()
    {
        var markdown = ReportCommand.Markdown(Report(), To);

        Assert.Contains("- Automatic actions: 19:02 tank-03 Backup aerator: ON (rule aerator-failure): done; 19:04 tank-03 Backup aerator: ON (rule aerator-failure): refused: locked; 19:06 tank-03 Backup aerator: ON (rule aerator-failure): expired, no answer from the gateway.", markdown, StringComparison.Ordinal);
        Assert.Contains("| 2026-12-01 19:02:06 | tank-03 | Backup aerator: ON | rule aerator-failure | #1 | done | 1 |", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void A_report_without_actions_says_so()
    {
        var report = Report() with { Actions = [] };

        Assert.Contains("Không có hành động tự động nào trong kỳ.", ReportHtml.Render(report, null, new ReportText("vi"), To), StringComparison.Ordinal);
        Assert.Contains("- Automatic actions: none.", ReportCommand.Markdown(report, To), StringComparison.Ordinal);
    }
}
