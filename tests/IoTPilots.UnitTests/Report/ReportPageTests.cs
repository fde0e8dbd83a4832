using IoTPilots.Cloud.Report;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Report;

/// <summary>The report page's wording where a figure is missing.</summary>
public sealed class ReportPageTests
{
    private static readonly DateTimeOffset From = new(2026, 12, 1, 17, 8, 0, TimeSpan.Zero);

    /// <summary>As after the aerator-failure demo: three critical alerts on tank-03, none acknowledged.</summary>
    [Fact]
    public void A_time_to_acknowledge_without_value_says_how_many_alerts_nobody_acknowledged()
    {
        var aquaculture = PilotDefinitions.Load(PilotDefinitions.DefaultFile).Single(p => p.Id == "aquaculture");
        var tank = new SeriesKey("aquaculture", "cat-hai-ras-1", "gw-aqua-01", "tank-03");
        var alerts = new[] { "aerator-failure", "do-falling", "do-critical" }.Select((rule, i) => new Alert(
            i + 1, rule, Severity.Critical, tank, "do_mg_l", From.AddMinutes(2 + i), From.AddMinutes(2 + i), 2.5, 2.5, 2.5, From.AddMinutes(2 + i),
            null, null, null, null, new LocalizedText(rule, rule))).ToList();
        var report = new PilotReport("aquaculture", "", From, From.AddMinutes(9), TimeSpan.FromMinutes(1), [], [], PilotReport.Figures(alerts, From.AddMinutes(9)), [], 0, [])
        {
            Definition = aquaculture,
            AlertList = alerts,
            KpiResults = [new KpiResult(aquaculture.Kpis.Single(k => k.Id == "ack-critical"), null, null)],
        };

        var vi = ReportHtml.Render(report, null, new ReportText("vi"), From.AddMinutes(10));
        var en = ReportHtml.Render(report, null, new ReportText("en"), From.AddMinutes(10));

        Assert.Contains("–<small>", vi.Replace(" <small>", "<small>", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("(3 chưa xác nhận)</small></td><td class=\"nodata\">không có dữ liệu</td>", vi, StringComparison.Ordinal);
        Assert.Contains("(3 not acknowledged)</small></td><td class=\"nodata\">no data</td>", en, StringComparison.Ordinal);
    }
}
