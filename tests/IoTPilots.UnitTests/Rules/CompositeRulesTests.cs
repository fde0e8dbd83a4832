using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Rules;

/// <summary>Composite rules, derived signals and the off-delay, on readings whose timestamps are the clock.</summary>
public sealed class CompositeRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    private static readonly RuleBook Book = RuleSet.Parse("""
        derived:
          - { name: nh3_n_mg_l, unit: mg/L, pilot: aquaculture, expr: "tan_mg_l * nh3_fraction(temp_c, ph, salinity_ppt)", max_age: 1m, source: A12 }
        rules:
          - id: aerator-failure
            kind: composite
            pilot: aquaculture
            all:
              - { field: do_mg_l, below: 5.0, hold: 20s }
              - { field: aerator_current_a, below: 0.5, clear: 1.0, hold: 10s }
            max_age: 30s
            clear_hold: 30s
            severity: critical
            source: U
            message: { en: "aerator {device}: {parts}", vi: "máy sục khí {device}: {parts}" }
          - id: either
            kind: composite
            pilot: port
            any:
              - { field: wind_m_s, above: 20, hold: 0s }
              - { field: vib_mm_s, above: 7.1, hold: 10s }
            severity: warning
            source: U
          - id: site-power
            kind: composite
            pilot: factory
            per: site
            all:
              - { field: aerator_current_a, below: 0.5, hold: 10s, devices: all, device: "pump-*" }
              - { field: level_m, below: 1.0, devices: any }
            severity: critical
            source: U
          - { id: nh3-high, kind: threshold, pilot: aquaculture, field: nh3_n_mg_l, above: 0.12, severity: warning, source: A1,
              message: { en: "NH3-N {value} ({inputs})", vi: "NH3-N {value} ({inputs})" } }
          - { id: temp-high, kind: threshold, pilot: aquaculture, field: temp_c, above: 32, clear: 31.5, clear_hold: 1m, severity: warning, source: A9 }
        """, "test.yaml");

    private static TelemetryMessage At(string pilot, string device, double seconds, params (string Field, double? Value)[] values) => new(
        pilot, "site-1", "gw-1", device, 1,
        [.. values.Select(v => new Reading(v.Field, T0.AddSeconds(seconds), v.Value, "u", v.Value is null ? Quality.CommFailure : Quality.Good))]);

    private static List<AlertEvent> Feed(RulesEngine engine, params TelemetryMessage[] messages) => [.. messages.SelectMany(engine.Observe)];

    private static TelemetryMessage Tank(double seconds, double doMgL, double amps) => At(Pilots.Aquaculture, "tank-03", seconds, ("do_mg_l", doMgL), ("aerator_current_a", amps));

    [Fact]
    public void An_all_composite_fires_once_every_part_has_held_for_its_own_hold_and_says_which_parts_held()
    {
        var engine = new RulesEngine(Book);

        var events = Feed(engine, Tank(0, 6.5, 4.6), Tank(5, 4.9, 4.6), Tank(15, 4.8, 4.6), Tank(20, 4.7, 0), Tank(25, 4.6, 0), Tank(30, 4.5, 0), Tank(35, 4.4, 0))
            .Where(e => e.RuleId == "aerator-failure").ToList();

        var raised = Assert.Single(events);
        // DO has been low since 5 s (held 20 s at 25 s), the current since 20 s (held 10 s at 30 s): raised at 30 s.
        Assert.Equal((AlertTransition.Raised, T0.AddSeconds(30), T0.AddSeconds(20), "do_mg_l"), (raised.Transition, raised.At, raised.Since, raised.Field));
        Assert.Equal("aerator tank-03: do_mg_l < 5 (4.5): held for 25 s; aerator_current_a < 0.5 (0): held for 10 s", raised.Message.En);
        Assert.All(raised.Evidence!.Parts, p => Assert.True(p.Held));
        Assert.Contains("đúng trong 25 giây", raised.Message.Vi, StringComparison.Ordinal);
    }

    [Fact]
    public void One_part_alone_raises_nothing_and_a_part_shorter_than_its_hold_raises_nothing()
    {
        var engine = new RulesEngine(Book);

        var lowDoOnly = Feed(engine, Tank(0, 4.0, 4.6), Tank(30, 3.9, 4.6), Tank(60, 3.8, 4.6));
        var shortStop = Feed(engine, Tank(65, 3.8, 0), Tank(70, 3.8, 0), Tank(74, 3.8, 4.6), Tank(80, 3.8, 4.6));

        Assert.DoesNotContain(lowDoOnly, e => e.RuleId == "aerator-failure");
        Assert.DoesNotContain(shortStop, e => e.RuleId == "aerator-failure");
    }

    [Fact]
    public void A_part_whose_signal_failed_or_went_quiet_for_longer_than_max_age_does_not_hold()
    {
        var failed = new RulesEngine(Book);
        var quiet = new RulesEngine(Book);

        // The current read 0, then the meter failed (a comm-failure reading): its last 0 is no longer the aerator's state.
        var afterFailure = Feed(failed, Tank(0, 4.0, 0), At(Pilots.Aquaculture, "tank-03", 20, ("do_mg_l", 3.9), ("aerator_current_a", null)));
        // The current read 0, then nothing came from the meter: 40 s later that 0 is stale (max_age 30 s).
        var afterSilence = Feed(quiet, Tank(0, 4.0, 0), At(Pilots.Aquaculture, "tank-03", 40, ("do_mg_l", 3.8)));

        Assert.DoesNotContain(afterFailure, e => e.RuleId == "aerator-failure");
        Assert.DoesNotContain(afterSilence, e => e.RuleId == "aerator-failure");
    }

    [Fact]
    public void A_firing_composite_resolves_only_after_clear_hold_and_an_open_one_survives_a_restart()
    {
        var engine = new RulesEngine(Book);
        var raised = Feed(engine, Tank(0, 4.0, 0), Tank(10, 3.9, 0), Tank(20, 3.8, 0)).Single(e => e.RuleId == "aerator-failure");

        // The aerator restarts at 30 s; it comes back, stops again, and then runs for good from 60 s.
        var blip = Feed(engine, Tank(30, 3.8, 4.6), Tank(40, 3.9, 0), Tank(50, 3.9, 0));
        var restarted = new RulesEngine(Book);
        restarted.Restore([new Alert(1, raised.RuleId, raised.Severity, raised.Series, raised.Field, raised.Since, raised.At, raised.Value, raised.Value, raised.Worst, raised.At, null, null, null, null, raised.Message)]);
        var early = Feed(restarted, Tank(60, 4.2, 4.6), Tank(80, 4.5, 4.6));
        var late = Feed(restarted, Tank(90, 4.8, 4.6), Tank(100, 5.1, 4.6));

        Assert.DoesNotContain(blip, e => e.RuleId == "aerator-failure");
        Assert.DoesNotContain(early, e => e.RuleId == "aerator-failure");
        var resolved = Assert.Single(late, e => e.RuleId == "aerator-failure");
        Assert.Equal((AlertTransition.Resolved, T0.AddSeconds(90)), (resolved.Transition, resolved.At));
    }

    [Fact]
    public void An_any_composite_fires_on_one_part()
    {
        var engine = new RulesEngine(Book);

        var events = Feed(engine, At(Pilots.Port, "sts-01", 0, ("wind_m_s", 12), ("vib_mm_s", 3)), At(Pilots.Port, "sts-01", 2, ("wind_m_s", 21), ("vib_mm_s", 3)));

        var raised = Assert.Single(events, e => e.RuleId == "either");
        Assert.Equal(T0.AddSeconds(2), raised.At);
        Assert.Equal([true, false], raised.Evidence!.Parts.Select(p => p.Held));
    }

    [Fact]
    public void A_per_site_composite_needs_every_watched_device_and_names_the_site()
    {
        var engine = new RulesEngine(Book);
        TelemetryMessage Pump(string device, double s, double amps) => At(Pilots.Factory, device, s, ("aerator_current_a", amps));
        TelemetryMessage Sump(double s, double level) => At(Pilots.Factory, "sump-1", s, ("level_m", level));

        var oneStopped = Feed(engine, Pump("pump-1", 0, 0), Pump("pump-2", 0, 5), Sump(1, 0.5), Pump("pump-1", 20, 0), Pump("pump-2", 20, 5), Sump(21, 0.5));
        var allStopped = Feed(engine, Pump("pump-2", 30, 0), Pump("pump-1", 35, 0), Sump(36, 0.5), Pump("pump-2", 40, 0), Sump(41, 0.4));

        Assert.Empty(oneStopped);
        var raised = Assert.Single(allStopped, e => e.RuleId == "site-power");
        Assert.Equal(("site-1", "site-1", T0.AddSeconds(40)), (raised.Series.Site, raised.Series.Device, raised.At));
        Assert.Equal(["pump-1", "pump-2"], raised.Evidence!.Parts[0].Devices);
        Assert.Equal(["sump-1"], raised.Evidence.Parts[1].Devices);
    }

    [Fact]
    public void Clear_hold_keeps_a_threshold_alert_open_until_the_value_has_stayed_clear()
    {
        var engine = new RulesEngine(Book);
        TelemetryMessage Temp(double s, double c) => At(Pilots.Aquaculture, "tank-01", s, ("temp_c", c));

        var events = Feed(engine, Temp(0, 32.5), Temp(30, 31.0), Temp(60, 32.2), Temp(70, 31.2), Temp(120, 31.0), Temp(130, 31.0))
            .Where(e => e.RuleId == "temp-high").ToList();

        Assert.Equal([AlertTransition.Raised, AlertTransition.Resolved], events.Select(e => e.Transition));
        // Clear from 30 s but back above at 60 s; clear again from 70 s, so resolved at 130 s (1 min later).
        Assert.Equal(T0.AddSeconds(130), events[1].At);
    }

    [Theory]
    [InlineData(28.0, 8.0, 0.0, 0.0654)]    // docs/domain.md A12: Emerson et al. 1975 table
    [InlineData(30.0, 8.5, 0.0, 0.20)]      // docs/domain.md section 1 (D)
    public void The_unionised_ammonia_fraction_matches_the_published_values(double tempC, double ph, double salinity, double expected) =>
        Assert.Equal(expected, Ammonia.UnionizedFraction(tempC, ph, salinity), 2);

    [Fact]
    public void Salt_water_holds_less_of_the_ammonia_unionised()
    {
        var fresh = Ammonia.UnionizedFraction(28, 8.0, 0);
        var brackish = Ammonia.UnionizedFraction(28, 8.0, 20);

        Assert.Equal(0.0654, fresh, 4);
        Assert.InRange(brackish, fresh * 0.9, fresh * 0.99);
    }

    private static TelemetryMessage Water(double s, params (string Field, double? Value)[] values) => At(Pilots.Aquaculture, "tank-03", s, values);

    [Fact]
    public void A_derived_signal_is_computed_from_the_latest_good_inputs_and_its_alert_carries_them()
    {
        var engine = new RulesEngine(Book);

        var events = Feed(engine, Water(0, ("temp_c", 28), ("ph", 8.0), ("salinity_ppt", 0)), Water(10, ("tan_mg_l", 2.0)));

        var raised = Assert.Single(events, e => e.RuleId == "nh3-high");
        Assert.Equal(2.0 * 0.0654, raised.Value!.Value, 3);
        Assert.Equal(["tan_mg_l", "temp_c", "ph", "salinity_ppt"], raised.Evidence!.Inputs.Select(i => i.Field));
        Assert.Equal("NH3-N 0.13 (tan_mg_l = 2, temp_c = 28 (10 s before), ph = 8 (10 s before), salinity_ppt = 0 (10 s before))", raised.Message.En);
    }

    [Fact]
    public void A_derived_signal_is_not_computed_from_a_stale_or_bad_input()
    {
        var engine = new RulesEngine(Book);

        // pH was read 90 s before the TAN reading (max_age 1 min); then pH is fresh but the temperature probe fails.
        var stale = Feed(engine, Water(0, ("temp_c", 28), ("ph", 8.0), ("salinity_ppt", 0)), Water(60, ("temp_c", 28), ("salinity_ppt", 0)), Water(90, ("tan_mg_l", 3.0)));
        var bad = Feed(engine, Water(100, ("ph", 8.0), ("temp_c", null), ("salinity_ppt", 0)), Water(110, ("tan_mg_l", 3.0)));
        var good = Feed(engine, Water(120, ("temp_c", 28), ("tan_mg_l", 3.0)));

        Assert.Empty(stale);
        Assert.Empty(bad);
        Assert.Single(good, e => e.RuleId == "nh3-high");
    }

    [Theory]
    [InlineData("1 + 2 * 3", 7)]
    [InlineData("(1 + 2) * 3", 9)]
    [InlineData("2 ^ 3 ^ 2", 512)]
    [InlineData("-2 ^ 2", 4)]
    [InlineData("10 - 4 - 3", 3)]
    [InlineData("log10(1000) + exp(0) + max(a, 2) / 4", 4.5)]
    [InlineData("(out_c - in_c) / (power_kw / 1000)", 10)]
    [InlineData("1.5e3 / a", 1500)]
    public void Expressions_follow_the_usual_precedence(string text, double expected)
    {
        var fields = new Dictionary<string, double> { ["a"] = 1, ["out_c"] = 40, ["in_c"] = 30, ["power_kw"] = 1000 };

        Assert.Equal(expected, Expression.Parse(text).Evaluate(f => fields[f]), 9);
    }

    [Theory]
    [InlineData("1 +", "ends too early")]
    [InlineData("(a + b", "expected ')'")]
    [InlineData("a b", "unexpected 'b' at column 3")]
    [InlineData("cosh(a)", "unknown function 'cosh'")]
    [InlineData("log10(a, b)", "takes 1 argument(s), not 2")]
    [InlineData("a % b", "unexpected '%' at column 3")]
    [InlineData("Temp + 1", "lowercase snake_case")]
    public void A_broken_expression_is_refused_with_its_column(string text, string problem)
    {
        var ex = Assert.Throws<FormatException>(() => Expression.Parse(text));

        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1.0, 1)]
    [InlineData(2.3, 2)]
    [InlineData(4.49, 2)]
    [InlineData(6.0, 3)]
    [InlineData(7.1, 4)]
    public void The_iso_10816_zone_follows_the_group_boundaries(double mmS, double zone) =>
        // docs/domain.md section 3 [V1]: group 2 flexible A/B 2.3, B/C 4.5, C/D 7.1 mm/s.
        Assert.Equal(zone, Expression.Parse("zone(vib_mm_s, 2.3, 4.5, 7.1)").Evaluate(_ => mmS));

    [Fact]
    public void The_shipped_zone_signal_is_derived_for_each_vibration_reading_to_be_stored()
    {
        var engine = new RulesEngine(RuleSet.Load(RuleSet.DefaultFile));

        engine.Observe(At(Pilots.Port, "sts-01", 0, ("vib_mm_s", 5.2), ("hoist_speed_m_min", 0)));
        var zone = Assert.Single(engine.LastDerived);
        engine.Observe(At(Pilots.Port, "sts-01", 2, ("hoist_speed_m_min", 0)));

        Assert.Equal(("iso_zone", 3.0, T0), (zone.Field, zone.Value, zone.Timestamp));
        Assert.Empty(engine.LastDerived);
    }
}
