using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Rules;

public sealed class RulesEngineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    private static readonly IReadOnlyList<Rule> Aquaculture = RuleSet.Parse("""
        rules:
          - { id: do-critical, kind: threshold, pilot: aquaculture, device: "tank-*", field: do_mg_l, below: 3.0, clear: 3.5, hold: 30s, severity: critical, source: A5,
              message: { en: "DO in {device} is {value} {unit}, below {limit}", vi: "Oxy ở {device} còn {value} {unit}, dưới {limit}" } }
          - { id: do-falling, kind: rate, pilot: aquaculture, field: do_mg_l, below: -0.1, window: 3m, severity: critical, source: U }
          - { id: do-missing, kind: missing, pilot: aquaculture, field: do_mg_l, after: 2m, severity: critical, source: CONTEXT }
        """, "test.yaml");

    private static TelemetryMessage Message(string device, params (double Seconds, double? Value)[] readings) => Message(device, "do_mg_l", readings);

    private static TelemetryMessage Message(string device, string field, params (double Seconds, double? Value)[] readings) => new(
        Pilots.Aquaculture, "ras-1", "gw-1", device, 1,
        readings.Select(r => new Reading(field, T0.AddSeconds(r.Seconds), r.Value, "mg/L", r.Value is null ? Quality.CommFailure : Quality.Good)).ToList());

    private static List<AlertEvent> Feed(RulesEngine engine, string rule, string device, params (double Seconds, double? Value)[] readings) =>
        readings.SelectMany(r => engine.Observe(Message(device, r))).Where(e => e.RuleId == rule).ToList();

    [Fact]
    public void A_low_value_held_for_the_hold_time_raises_one_alert_worded_in_both_languages()
    {
        var engine = new RulesEngine(Aquaculture);

        var events = Feed(engine, "do-critical", "tank-03", (0, 6.1), (10, 2.9), (25, 2.8), (40, 2.72), (50, 2.6));

        var raised = Assert.Single(events, e => e.Transition == AlertTransition.Raised);
        Assert.Equal((T0.AddSeconds(10), T0.AddSeconds(40), 2.72), (raised.Since, raised.At, raised.Value!.Value));
        Assert.Equal(Severity.Critical, raised.Severity);
        Assert.Equal("DO in tank-03 is 2.72 mg/L, below 3", raised.Message.En);
        Assert.Equal("Oxy ở tank-03 còn 2,72 mg/L, dưới 3", raised.Message.Vi);
        var updated = Assert.Single(events, e => e.Transition == AlertTransition.Updated);
        Assert.Equal(2.6, updated.Worst);
    }

    [Fact]
    public void A_breach_shorter_than_the_hold_time_raises_nothing()
    {
        var engine = new RulesEngine(Aquaculture);

        var events = Feed(engine, "do-critical", "tank-01", (0, 2.9), (20, 3.2), (30, 2.9), (50, 3.1));

        Assert.Empty(events);
    }

    [Fact]
    public void Hysteresis_keeps_one_alert_for_a_value_dithering_at_the_limit_and_clears_at_the_clear_level()
    {
        var engine = new RulesEngine(Aquaculture);

        var events = Feed(engine, "do-critical", "tank-01", (0, 2.9), (30, 2.95), (40, 3.1), (50, 2.98), (60, 3.3), (70, 2.99), (80, 3.49), (90, 3.5));

        Assert.Equal([AlertTransition.Raised, AlertTransition.Resolved], events.Select(e => e.Transition));
        Assert.Equal((T0.AddSeconds(90), 3.5), (events[1].At, events[1].Value!.Value));
    }

    [Fact]
    public void Comm_failures_and_late_readings_are_not_judged()
    {
        var engine = new RulesEngine(Aquaculture);

        var events = Feed(engine, "do-critical", "tank-01", (0, 2.9), (10, null), (35, 2.9), (20, 6.0), (36, 2.95));

        // The comm-failure did not cancel the pending breach; the late 6.0 (stamped before 35 s) did not clear it.
        var raised = Assert.Single(events);
        Assert.Equal((AlertTransition.Raised, T0.AddSeconds(35)), (raised.Transition, raised.At));
    }

    [Fact]
    public void Rules_apply_only_to_matching_pilot_and_devices()
    {
        var engine = new RulesEngine(Aquaculture);
        var buoy = new TelemetryMessage(Pilots.Aquaculture, "ras-1", "gw-1", "buoy-1", 1, [new Reading("do_mg_l", T0, 1.0, "mg/L", Quality.Good)]);
        var port = new TelemetryMessage(Pilots.Port, "ras-1", "gw-1", "tank-01", 1, [new Reading("do_mg_l", T0, 1.0, "mg/L", Quality.Good)]);

        Assert.DoesNotContain(engine.Observe(buoy), e => e.RuleId == "do-critical");
        Assert.Empty(engine.Observe(port));
    }

    [Fact]
    public void A_steady_fall_raises_the_rate_rule_with_the_fitted_slope()
    {
        var engine = new RulesEngine(Aquaculture);
        var falling = Enumerable.Range(0, 25).Select(i => (i * 10.0, (double?)(7.0 - (0.2 * i * 10 / 60)))).ToArray();
        var steady = Enumerable.Range(0, 25).Select(i => (i * 10.0, (double?)(6.5 + (i % 2 * 0.05)))).ToArray();

        var raised = Feed(engine, "do-falling", "tank-02", falling).First();

        Assert.Equal(AlertTransition.Raised, raised.Transition);
        Assert.Equal(-0.2, raised.Value!.Value, 6);
        Assert.Contains("falling", raised.Message.En, StringComparison.Ordinal);
        Assert.Contains("đang giảm -0,2 mg/L/phút", raised.Message.Vi, StringComparison.Ordinal);
        Assert.Empty(Feed(engine, "do-falling", "tank-04", steady));
    }

    [Fact]
    public void Silence_raises_a_missing_data_alert_once_and_the_next_good_reading_resolves_it()
    {
        var engine = new RulesEngine(Aquaculture);
        engine.Observe(Message("tank-01", (0, 6.2)));
        engine.Observe(Message("tank-01", (30, null)));

        var early = engine.Tick(T0.AddSeconds(110));
        var raised = engine.Tick(T0.AddSeconds(121));
        var again = engine.Tick(T0.AddSeconds(200));
        var resolved = Feed(engine, "do-missing", "tank-01", (210, 6.0));

        Assert.Empty(early);
        var alert = Assert.Single(raised);
        Assert.Equal(("do-missing", T0, (double?)null), (alert.RuleId, alert.Since, alert.Value));
        Assert.Equal("No reading of do_mg_l from tank-01 for 2 min", alert.Message.En);
        Assert.Equal("Không có số liệu do_mg_l từ tank-01 trong 2 phút", alert.Message.Vi);
        Assert.Empty(again);
        Assert.Equal(AlertTransition.Resolved, Assert.Single(resolved).Transition);
    }

    [Fact]
    public void A_field_pattern_watches_each_matching_field_on_its_own()
    {
        var rules = RuleSet.Parse("""
            rules:
              - { id: shell, kind: threshold, field: "shell_temp_*_c", above: 300, severity: warning, source: F11 }
            """, "t.yaml");
        var engine = new RulesEngine(rules);
        var message = new TelemetryMessage(Pilots.Factory, "plant", "gw", "furnace-1", 1,
            [new Reading("shell_temp_1_c", T0, 310, "degC", Quality.Good), new Reading("shell_temp_2_c", T0, 320, "degC", Quality.Good), new Reading("zone_temp_c", T0, 900, "degC", Quality.Good)]);

        var events = engine.Observe(message);

        Assert.Equal(["shell_temp_1_c", "shell_temp_2_c"], events.Select(e => e.Field));
    }

    [Fact]
    public void A_when_condition_judges_only_readings_under_load_and_idle_ones_neither_breach_nor_clear()
    {
        var rules = RuleSet.Parse("""
            rules:
              - { id: vib, kind: threshold, field: vib_mm_s, above: 7.1, clear: 6.5, hold: 20s, when: { field: hoist_load_t, above: 5 }, severity: critical, source: V1 }
            """, "t.yaml");
        var engine = new RulesEngine(rules);
        TelemetryMessage Crane(double seconds, double vib, double load) => new(Pilots.Port, "port", "gw", "sts-01", 1,
            [new Reading("vib_mm_s", T0.AddSeconds(seconds), vib, "mm/s", Quality.Good), new Reading("hoist_load_t", T0.AddSeconds(seconds), load, "t", Quality.Good)]);

        // Lifting at 7.4 mm/s, idling (0.9 mm/s, no load) in between: the idle readings do not cancel the breach.
        var events = new[] { Crane(0, 7.4, 25), Crane(10, 0.9, 0), Crane(20, 7.5, 25), Crane(30, 0.9, 0), Crane(40, 7.5, 25) }
            .SelectMany(engine.Observe).ToList();

        var raised = Assert.Single(events);
        Assert.Equal((AlertTransition.Raised, T0.AddSeconds(20)), (raised.Transition, raised.At));
        Assert.Empty(engine.Observe(Crane(50, 0.9, 0)));
        Assert.Equal(AlertTransition.Resolved, Assert.Single(engine.Observe(Crane(60, 6.0, 25))).Transition);
    }

    [Fact]
    public void Alerts_open_before_a_restart_resolve_later_and_are_not_raised_twice()
    {
        var engine = new RulesEngine(Aquaculture);
        var open = new Alert(7, "do-critical", Severity.Critical, new SeriesKey(Pilots.Aquaculture, "ras-1", "gw-1", "tank-03"), "do_mg_l",
            T0, T0.AddSeconds(30), 2.8, 2.7, 2.7, T0.AddSeconds(40), null, null, null, null, new LocalizedText("en", "vi"));

        engine.Restore([open]);
        var events = Feed(engine, "do-critical", "tank-03", (50, 2.75), (60, 2.9), (70, 3.6));

        Assert.Equal([AlertTransition.Resolved], events.Select(e => e.Transition));
    }

    [Fact]
    public void Slope_is_the_least_squares_fit_per_minute()
    {
        var points = new[] { (T0, 1.0), (T0.AddSeconds(30), 2.0), (T0.AddSeconds(60), 3.0) };

        Assert.Equal(2.0, RulesEngine.SlopePerMinute(points), 9);
    }
}

public sealed class ForecastTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);

    private static readonly IReadOnlyList<Rule> Rules = RuleSet.Parse("""
        rules:
          - { id: bearing, kind: forecast, pilot: port, field: vib_mm_s, above: 7.1, window: 2h, within: 24h, severity: warning, source: "docs/domain.md section 5" }
        """, "t.yaml");

    /// <summary>A crane's gearbox: every other minute it idles at 0.3 mm/s, otherwise it runs at <paramref name="running"/>(hours).</summary>
    private static List<AlertEvent> Feed(RulesEngine engine, Func<double, double> running, int minutes = 121)
    {
        var events = new List<AlertEvent>();
        for (var m = 0; m < minutes; m++)
        {
            var value = m % 2 == 0 ? running(m / 60.0) : 0.3;
            events.AddRange(engine.Observe(new TelemetryMessage(Pilots.Port, "port", "gw", "sts-01", m + 1, [new Reading("vib_mm_s", T0.AddMinutes(m), value, "mm/s", Quality.Good)])));
        }

        return events;
    }

    [Fact]
    public void A_rising_health_indicator_is_forecast_to_cross_its_limit_with_the_time_and_its_range()
    {
        var engine = new RulesEngine(Rules);

        // Running vibration grows 1 mm/s per hour from 2 mm/s. The first fit comes once three quarters of the
        // window are covered, at 1.5 h: 3.5 mm/s then, so 7.1 mm/s about 3.6 h later.
        var raised = Assert.Single(Feed(engine, h => 2 + h), e => e.Transition == AlertTransition.Raised);

        Assert.Equal(T0.AddHours(1.5), raised.At);
        Assert.Equal(3.6, raised.Value!.Value, 1);
        Assert.Contains("trending up", raised.Message.En, StringComparison.Ordinal);
        Assert.Contains("about 4 h", raised.Message.En, StringComparison.Ordinal);
        Assert.Contains("khoảng 4 giờ", raised.Message.Vi, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flat_or_falling_indicator_forecasts_nothing_and_idling_does_not_fool_it()
    {
        Assert.Empty(Feed(new RulesEngine(Rules), _ => 2.5));
        Assert.Empty(Feed(new RulesEngine(Rules), h => 5 - h));
    }

    [Fact]
    public void A_machine_that_works_in_spells_is_forecast_from_its_working_readings_alone()
    {
        var rules = RuleSet.Parse("""
            rules:
              - { id: bearing, kind: forecast, field: vib_mm_s, above: 7.1, window: 2h, within: 24h, when: { field: hoist_load_t, above: 5 }, severity: warning, source: "docs/domain.md section 5" }
            """, "t.yaml");
        var engine = new RulesEngine(rules);
        var events = new List<AlertEvent>();
        for (var m = 0; m < 121; m++)
        {
            // Lifting 20 minutes of every 40, idle (no load, 0.3 mm/s) the rest.
            var lifting = m % 40 < 20;
            events.AddRange(engine.Observe(new TelemetryMessage(Pilots.Port, "port", "gw", "sts-01", m + 1,
            [
                new Reading("vib_mm_s", T0.AddMinutes(m), lifting ? 2 + (m / 60.0) : 0.3, "mm/s", Quality.Good),
                new Reading("hoist_load_t", T0.AddMinutes(m), lifting ? 25 : 0, "t", Quality.Good),
            ])));
        }

        var raised = Assert.Single(events, e => e.Transition == AlertTransition.Raised);
        Assert.InRange(raised.Value!.Value, 3.0, 4.5);
    }

    [Fact]
    public void Noise_around_a_flat_level_is_not_a_trend()
    {
        // Running readings scattered 1.5-2.5 mm/s at random: some pairs rise steeply, most of the evidence does not.
        var random = new Random(7);
        Assert.Empty(Feed(new RulesEngine(Rules), _ => 1.5 + random.NextDouble()));
    }

    [Fact]
    public void A_trend_that_would_cross_beyond_the_horizon_is_not_raised()
    {
        // 0.05 mm/s per hour from 2 mm/s: about 100 h to go, beyond the 24 h horizon.
        Assert.Empty(Feed(new RulesEngine(Rules), h => 2 + (0.05 * h)));
    }
}
