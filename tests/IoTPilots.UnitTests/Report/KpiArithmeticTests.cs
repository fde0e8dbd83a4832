using IoTPilots.Cloud.Report;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Report;

/// <summary>The report's KPI arithmetic on known data.</summary>
public sealed class KpiArithmeticTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Tank = new("aquaculture", "cat-hai-ras-1", "gw-aqua-01", "tank-03");

    private static Alert Raised(Severity severity, double minutes, double? ackAfter, double? resolveAfter) => new(
        1, "do-critical", severity, Tank, "do_mg_l", T0.AddMinutes(minutes), T0.AddMinutes(minutes), 2.5, 2.5, 2.5, T0.AddMinutes(minutes),
        ackAfter is { } a ? T0.AddMinutes(minutes + a) : null, ackAfter is null ? null : "Nguyen Van A", null,
        resolveAfter is { } r ? T0.AddMinutes(minutes + r) : null, new LocalizedText("low", "thấp"));

    [Fact]
    public void Availability_is_the_share_of_intervals_with_a_good_reading()
    {
        Assert.Equal(50.0, Kpis.Availability(30, 60));
        Assert.Equal(100.0, Kpis.Availability(61, 60));
        Assert.Equal(0.0, Kpis.Availability(0, 0));
    }

    [Fact]
    public void Mtta_counts_only_acknowledged_alerts_of_the_severity_asked_and_mttr_only_resolved_ones()
    {
        var alerts = new[]
        {
            Raised(Severity.Critical, 0, 3, 20),
            Raised(Severity.Critical, 5, 7, null),
            Raised(Severity.Critical, 9, null, 4),
            Raised(Severity.Warning, 1, 0.5, 1),
        };

        Assert.Equal(TimeSpan.FromMinutes(3), Kpis.MedianToAcknowledge(alerts, Severity.Critical));
        Assert.Equal(TimeSpan.FromSeconds(30), Kpis.MedianToAcknowledge(alerts, Severity.Warning));
        Assert.Equal(TimeSpan.FromMinutes(4), Kpis.MedianToResolve(alerts));
        Assert.Null(Kpis.MedianToAcknowledge([Raised(Severity.Critical, 0, null, null)], Severity.Critical));
    }

    [Fact]
    public void Lead_time_is_the_median_over_the_predictions_that_came_true()
    {
        var predictions = new[]
        {
            new PilotReport.Prediction("sts-01", "vib_mm_s", "f", T0, T0.AddMinutes(90)),
            new PilotReport.Prediction("sts-02", "vib_mm_s", "f", T0, T0.AddMinutes(30)),
            new PilotReport.Prediction("sts-03", "vib_mm_s", "f", T0, null),
        };

        Assert.Equal(TimeSpan.FromMinutes(30), Kpis.MedianLeadTime(predictions));
        Assert.Null(Kpis.MedianLeadTime(predictions.Skip(2)));
    }

    [Fact]
    public void Minutes_below_a_threshold_count_intervals_strictly_below_and_skip_missing_ones()
    {
        double?[] minima = [5.1, 3.0, 2.99, null, 1.2, 4.0];

        Assert.Equal(TimeSpan.FromMinutes(2), Kpis.TimeWhere(minima, TimeSpan.FromMinutes(1), v => v < 3.0));
        Assert.Equal(TimeSpan.FromMinutes(20), Kpis.TimeWhere(minima, TimeSpan.FromMinutes(10), v => v < 3.0));
    }

    [Fact]
    public void Delivery_covers_the_period_only_and_survives_a_gateway_restart()
    {
        var inPeriod = Kpis.DeliveryInPeriod("gw", new Counters(10_000, 50, 0), new Counters(10_990, 60, 0));
        var restarted = Kpis.DeliveryInPeriod("gw", new Counters(10_000, 50, 0), new Counters(400, 0, 0));
        var firstPeriod = Kpis.DeliveryInPeriod("gw", null, new Counters(990, 10, 0));

        Assert.Equal((990L, 10L, 0L), (inPeriod.Received, inPeriod.Missing, inPeriod.Dropped));
        Assert.Equal(99.0, inPeriod.CompletePercent, 3);
        Assert.Equal(400L, restarted.Received);
        Assert.Equal(99.0, firstPeriod.CompletePercent, 3);
    }

    /// <summary>
    /// The aquaculture pilot's tank-stock value (pilots.yaml: 750 000 000 VND a tank [U]) counts each tank with a
    /// critical alert on DO once, whichever rule raised it (the demo's aerator-failure composite watches do_mg_l
    /// first), but not a missing-data alert: a probe not heard from says nothing about the water.
    /// </summary>
    [Fact]
    public void Stock_at_risk_counts_each_tank_with_a_critical_do_alert_once_but_not_missing_data()
    {
        var aquaculture = PilotDefinitions.Load(PilotDefinitions.DefaultFile).Single(p => p.Id == "aquaculture");
        var rules = RuleSet.Load(RuleSet.DefaultFile);
        Alert On(string rule, string tank, Severity severity) => Raised(severity, 1, null, null) with { RuleId = rule, Series = Tank with { Device = tank } };
        var report = new PilotReport("aquaculture", "", T0, T0.AddHours(1), TimeSpan.FromMinutes(1), [], [], PilotReport.Figures([], T0.AddHours(1)), [], 0, [])
        {
            AlertList = [On("aerator-failure", "tank-03", Severity.Critical), On("do-critical", "tank-03", Severity.Critical), On("do-missing", "tank-01", Severity.Critical), On("do-low", "tank-02", Severity.Warning)],
        };

        var money = Assert.Single(PilotEvaluation.Money(aquaculture, report, rules));

        Assert.Equal((1, 750_000_000.0), (money.Events, money.Amount));
        Assert.Equal(["tank-03"], money.Devices);
    }
}
