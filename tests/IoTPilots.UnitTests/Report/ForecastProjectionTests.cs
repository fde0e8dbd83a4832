using IoTPilots.Cloud.Report;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Report;

/// <summary>
/// The forecast's projection on the key signal's chart: from the signal when the forecast alert was raised, to the
/// rule's limit at raised at + the alert's value (hours to the crossing, as RulesEngine.JudgeForecast reports it).
/// </summary>
public sealed class ForecastProjectionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Tank = new("aquaculture", "cat-hai-ras-1", "gw-aqua-01", "tank-03");

    private static readonly IReadOnlyList<Rule> Rules = RuleSet.Parse(
        """
        rules:
          - { id: do-forecast, kind: forecast, pilot: aquaculture, field: do_mg_l, below: 3.0, window: 30m, within: 2h, severity: warning, source: t }
          - { id: do-critical, kind: threshold, pilot: aquaculture, field: do_mg_l, below: 3.0, severity: critical, source: t }
        """,
        "t.yaml");

    /// <summary>DO falling 1 mg/L every 10 min: 6 at 08:00, 5 at 08:10, 4 at 08:20.</summary>
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<(DateTimeOffset At, double Value, double? Setpoint)>> Signal =
        new Dictionary<string, IReadOnlyList<(DateTimeOffset, double, double?)>>
        {
            ["tank-03"] = [(T0, 6.0, null), (T0.AddMinutes(10), 5.0, null), (T0.AddMinutes(20), 4.0, null)],
        };

    private static readonly SignalDefinition Do = new("do_mg_l", "dissolved oxygen, mg/L", "oxy hòa tan, mg/L", 3.0, 5.0, null, null, []);

    private static Alert Raised(long id, string rule, double minutes, double? value, string field = "do_mg_l", string device = "tank-03") => new(
        id, rule, Severity.Warning, Tank with { Device = device }, field, T0.AddMinutes(minutes), T0.AddMinutes(minutes), value, value, value, T0.AddMinutes(minutes),
        null, null, null, null, new LocalizedText("forecast", "dự báo"));

    [Fact]
    public void A_forecast_alert_projects_from_the_signal_when_raised_to_the_limit_at_raised_plus_its_hours()
    {
        // Raised at 08:05 (DO 5.5, halfway between the 08:00 and 08:10 points), 0.5 h to the crossing: 3.0 at 08:35.
        var projection = Assert.Single(ForecastProjection.Of([Raised(7, "do-forecast", 5, 0.5)], Rules, "do_mg_l", Signal));

        Assert.Equal(new ForecastProjection(7, "tank-03", "do-forecast", T0.AddMinutes(5), 5.5, T0.AddMinutes(35), 3.0), projection);
        Assert.Equal(4.25, projection.ValueAt(T0.AddMinutes(20)), 9);
        Assert.Equal((T0.AddMinutes(35), 3.0, true), projection.End(T0.AddHours(1)));
        Assert.Equal((T0.AddMinutes(35), 3.0, true), projection.End(T0.AddMinutes(35)));
        var (at, value, inside) = projection.End(T0.AddMinutes(20));
        Assert.Equal((T0.AddMinutes(20), false), (at, inside));
        Assert.Equal(4.25, value, 9);
    }

    [Fact]
    public void Only_forecast_alerts_on_the_signal_with_a_positive_time_to_the_crossing_and_a_line_to_start_from_project()
    {
        Alert[] alerts =
        [
            Raised(1, "do-critical", 5, 2.5),                  // a threshold alert: its value is the signal, not hours
            Raised(2, "do-forecast", 5, null),                 // no time to the crossing
            Raised(3, "do-forecast", 5, 0),
            Raised(4, "do-forecast", 5, double.PositiveInfinity),
            Raised(5, "do-forecast", 5, 0.5, field: "temp_c"), // not the chart's signal
            Raised(6, "do-forecast", 5, 0.5, device: "tank-09"), // no line to start from
            Raised(7, "unknown-rule", 5, 0.5),
        ];

        Assert.Empty(ForecastProjection.Of(alerts, Rules, "do_mg_l", Signal));
    }

    [Fact]
    public void The_signal_at_a_time_is_interpolated_between_chart_points_and_held_at_either_end()
    {
        var points = Signal["tank-03"];

        Assert.Equal(6.0, ForecastProjection.SignalAt(points, T0.AddMinutes(-3)));
        Assert.Equal(5.0, ForecastProjection.SignalAt(points, T0.AddMinutes(10)));
        Assert.Equal(4.7, ForecastProjection.SignalAt(points, T0.AddMinutes(13))!.Value, 9);
        Assert.Equal(4.0, ForecastProjection.SignalAt(points, T0.AddMinutes(50)));
        Assert.Null(ForecastProjection.SignalAt([], T0));
    }

    /// <summary>
    /// The chart is 340 × 150 with the plot from x 30 to 334 and y 6 to 134; here DO spans 2.5-6.5 mg/L (the points
    /// and limits 3-6, padded 0.5): 08:05 → x 55.3, 08:35 → x 207.3, 5.5 mg/L → y 38, 3.0 mg/L → y 118.
    /// </summary>
    [Fact]
    public void The_chart_draws_the_projection_dashed_with_a_circle_at_a_crossing_inside_the_period()
    {
        var alert = Raised(7, "do-forecast", 5, 0.5);
        var projections = ForecastProjection.Of([alert], Rules, "do_mg_l", Signal);

        var svg = Svg.Signal(Signal["tank-03"], T0, T0.AddHours(1), Do, [alert], new HashSet<string> { "do-forecast" }, projections, new ReportText("en"));

        Assert.Contains("<path class=\"forecast-projection\" d=\"M55.3,38 L207.3,118\"", svg, StringComparison.Ordinal);
        Assert.Contains("stroke-dasharray=\"5 3\"", svg, StringComparison.Ordinal);
        Assert.Contains("<circle class=\"forecast-crossing\" cx=\"207.3\" cy=\"118\"", svg, StringComparison.Ordinal);
        Assert.Contains("<title>forecast do-forecast: 3 at 2026-11-20 08:35</title>", svg, StringComparison.Ordinal);
        Assert.Contains("d=\"M55.3,6 l4,5 l-4,5 l-4,-5 z\"", svg, StringComparison.Ordinal); // the forecast alert's ◆
        Assert.DoesNotContain("forecast-beyond", svg, StringComparison.Ordinal);
    }

    /// <summary>A chart of 08:00-08:20: 08:05 → x 106; the line leaves it at 08:20 (x 334) at 4.25 mg/L (y 78).</summary>
    [Fact]
    public void A_crossing_predicted_after_the_period_ends_the_line_at_the_chart_edge_with_an_arrow()
    {
        var projections = ForecastProjection.Of([Raised(7, "do-forecast", 5, 0.5)], Rules, "do_mg_l", Signal);

        var svg = Svg.Signal(Signal["tank-03"], T0, T0.AddMinutes(20), Do, [], new HashSet<string>(), projections, new ReportText("vi"));

        Assert.Contains("<path class=\"forecast-projection\" d=\"M106,38 L334,78\"", svg, StringComparison.Ordinal);
        Assert.Contains("<path class=\"forecast-beyond\" d=\"M328,74 L334,78 L328,82\"", svg, StringComparison.Ordinal);
        Assert.Contains("<title>dự báo do-forecast: 3 lúc 20/11/2026 08:35</title>", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("forecast-crossing", svg, StringComparison.Ordinal);
    }
}
