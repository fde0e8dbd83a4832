using IoTPilots.Config;
using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Rules;

/// <summary>
/// Drift rules on synthetic series whose timestamps are the clock: a step, a slow ramp, pure noise. The noise is
/// seeded Gaussian (Box–Muller), 50 ± 2 read every 10 s, so one-minute subgroup means have σ = 2/√6 ≈ 0.82.
/// </summary>
public sealed class DriftRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(10);

    private static RulesEngine Engine(string rules) => new(RuleSet.Parse("rules:\n" + rules, "drift.yaml"));

    private const string Cusum = "  - { id: d, kind: drift, field: temp_c, method: cusum, baseline: 1h, every: 1m, k: 0.5, h: 8, direction: both, severity: warning, source: P2 }\n";
    private const string Ewma = "  - { id: d, kind: drift, field: temp_c, method: ewma, baseline: 1h, every: 1m, lambda: 0.2, L: 3.5, direction: both, severity: warning, source: P1 }\n";

    /// <summary>Feeds the series <paramref name="signal"/>(hours since T0) plus noise, one reading every 10 s.</summary>
    private static List<AlertEvent> Feed(RulesEngine engine, TimeSpan duration, Func<double, double> signal, int seed = 1, double noise = 2)
    {
        var random = new Random(seed);
        var events = new List<AlertEvent>();
        for (var t = TimeSpan.Zero; t <= duration; t += Step)
        {
            var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            var reading = new Reading("temp_c", T0 + t, signal(t.TotalHours) + (noise * gaussian), "°C", Quality.Good);
            events.AddRange(engine.Observe(new TelemetryMessage(Pilots.Factory, "plant", "gw-1", "furnace-1-aux", 1, [reading])));
        }

        return events;
    }

    [Fact]
    public void A_step_of_two_sigma_is_raised_with_its_size_its_change_point_and_the_baseline_in_both_languages()
    {
        var stepAt = TimeSpan.FromMinutes(90);

        var events = Feed(Engine(Cusum), TimeSpan.FromHours(2), h => h < stepAt.TotalHours ? 50 : 54);

        var raised = Assert.Single(events, e => e.Transition == AlertTransition.Raised);
        Assert.InRange(raised.At, T0 + stepAt, T0 + stepAt + TimeSpan.FromMinutes(4));
        // The change point: the last subgroup at which the sum was zero, just before the step.
        Assert.InRange(raised.Since, T0 + stepAt - TimeSpan.FromMinutes(5), T0 + stepAt);
        var drift = raised.Evidence!.Drift!;
        Assert.InRange(drift.Mean, 49.5, 50.5);
        Assert.InRange(drift.Sigma, 0.6, 1.1);
        Assert.InRange(drift.Shift, 2.5, 6);
        Assert.Equal(TimeSpan.FromHours(1), drift.Window);
        Assert.Equal(("CUSUM", 8.0), (drift.Method, drift.Threshold));
        Assert.Matches(@"^temp_c on furnace-1-aux is drifting from its baseline (49|50)(\.\d+)? ± [01](\.\d+)? °C over 1 h: now 5\d(\.\d+)? °C, \+\d(\.\d+)? °C \(\+\d(\.\d+)? σ\), for \d+ min$", raised.Message.En);
        Assert.Matches(@"^temp_c ở furnace-1-aux đang trôi khỏi mức nền (49|50)(,\d+)? ± [01](,\d+)? °C trong 1 giờ: hiện là 5\d(,\d+)? °C, lệch \+\d(,\d+)? °C \(\+\d(,\d+)? σ\), từ \d+ phút trước$", raised.Message.Vi);
        Assert.DoesNotContain(events, e => e.Transition == AlertTransition.Resolved);
    }

    [Fact]
    public void A_step_back_to_the_baseline_resolves_the_alert_after_the_statistic_has_stayed_under_half_its_threshold()
    {
        var (from, to) = (TimeSpan.FromMinutes(90), TimeSpan.FromMinutes(120));

        var events = Feed(Engine(Cusum), TimeSpan.FromHours(3), h => h >= from.TotalHours && h < to.TotalHours ? 54 : 50);

        Assert.Equal([AlertTransition.Raised, AlertTransition.Resolved], events.Where(e => e.Transition != AlertTransition.Updated).Select(e => e.Transition));
        var resolved = events[^1];
        // Capped at 2h = 16 while firing, the sum drains by about k = 0.5 (plus the guard 2/√60) a subgroup: under
        // h/2 = 4 within 24 subgroups, then clear_hold (five subgroups by default).
        Assert.InRange(resolved.At, T0 + to + TimeSpan.FromMinutes(5), T0 + to + TimeSpan.FromMinutes(40));
        Assert.True(resolved.Evidence!.Drift!.Statistic <= 4, $"statistic {resolved.Evidence.Drift.Statistic}");
    }

    [Fact]
    public void A_slow_ramp_is_caught_by_the_ewma_long_before_it_crosses_a_threshold_above_the_noise()
    {
        // From 1h10m the mean climbs 0.05 °C a minute (0.025 reading σ, 0.06 subgroup σ): 60 °C (5 reading σ, where
        // the noise alone never reaches) after 200 min.
        var threshold = "  - { id: t, kind: threshold, field: temp_c, above: 60, severity: warning, source: U }\n";
        static double Ramp(double hours) => 50 + (Math.Max(0, hours - (70 / 60.0)) * 60 * 0.05);

        var events = Feed(Engine(Ewma.Replace("id: d", "id: drift", StringComparison.Ordinal) + threshold), TimeSpan.FromHours(5), Ramp);

        var drift = events.First(e => e is { RuleId: "drift", Transition: AlertTransition.Raised });
        var level = events.First(e => e is { RuleId: "t", Transition: AlertTransition.Raised });
        Assert.True(drift.At < level.At - TimeSpan.FromHours(1), $"drift at {drift.At - T0}, threshold at {level.At - T0}");
        Assert.True(drift.Evidence!.Drift!.Shift > 0);
        Assert.InRange(drift.Since, T0 + TimeSpan.FromMinutes(60), drift.At);
    }

    [Theory]
    [InlineData(Cusum, 1)]
    [InlineData(Cusum, 2)]
    [InlineData(Cusum, 3)]
    [InlineData(Ewma, 1)]
    [InlineData(Ewma, 2)]
    [InlineData(Ewma, 3)]
    public void Twelve_hours_of_pure_noise_raise_nothing(string rule, int seed)
    {
        var events = Feed(Engine(rule), TimeSpan.FromHours(12), _ => 50, seed);

        Assert.True(events.Count == 0, string.Join("; ", events.Select(e => $"{e.Transition} at {e.At - T0}: {e.Message.En}")));
    }

    [Fact]
    public void Nothing_is_judged_until_the_baseline_window_is_learned()
    {
        // A step 20 min in: still learning, so it becomes part of the baseline rather than an alert.
        var events = Feed(Engine(Cusum), TimeSpan.FromMinutes(59), h => h < 1 / 3.0 ? 50 : 60);

        Assert.Empty(events);
    }

    [Fact]
    public void A_rule_watching_one_direction_ignores_the_other()
    {
        var events = Feed(Engine(Cusum.Replace("both", "down", StringComparison.Ordinal)), TimeSpan.FromHours(2), h => h < 1.5 ? 50 : 60);

        Assert.Empty(events);
    }

    [Fact]
    public void A_flat_signal_is_judged_against_its_min_sigma_floor()
    {
        // A simulator's constant flow: σ = 0, so the floor decides what a drift is.
        var rule = "  - { id: d, kind: drift, field: temp_c, method: ewma, baseline: 1h, min_sigma: 0.5, severity: warning, source: U }\n";

        var small = Feed(Engine(rule), TimeSpan.FromHours(3), h => h < 1.5 ? 33.5 : 33.3, noise: 0);
        var large = Feed(Engine(rule), TimeSpan.FromHours(3), h => h < 1.5 ? 33.5 : 31.5, noise: 0);

        Assert.Empty(small);
        var raised = Assert.Single(large);
        Assert.Equal((33.5, 0.5, -4.0), (raised.Evidence!.Drift!.Mean, raised.Evidence.Drift.Sigma, raised.Evidence.Drift.Sigmas));
    }

    [Fact]
    public void A_drift_of_a_derived_signal_carries_the_inputs_it_was_computed_from()
    {
        var book = RuleSet.Parse("""
            derived:
              - { name: dt_per_mw, unit: K/MW, expr: "(out_c - in_c) / power_mw", source: F8 }
            rules:
              - { id: d, kind: drift, field: dt_per_mw, method: ewma, baseline: 1h, min_sigma: 0.1, direction: up, severity: warning, source: U }
            """, "derived.yaml");
        var engine = new RulesEngine(book);
        var events = new List<AlertEvent>();

        // 9 K/MW for 90 min, then the flow drops and the outlet runs 6 K hotter at the same 3 MW: 11 K/MW.
        for (var t = TimeSpan.Zero; t <= TimeSpan.FromHours(2); t += Step)
        {
            var outlet = t < TimeSpan.FromMinutes(90) ? 57 : 63;
            events.AddRange(engine.Observe(new TelemetryMessage(Pilots.Factory, "plant", "gw-1", "furnace-1-aux", 1,
                [new("in_c", T0 + t, 30, "°C", Quality.Good), new("out_c", T0 + t, outlet, "°C", Quality.Good), new("power_mw", T0 + t, 3, "MW", Quality.Good)])));
        }

        var raised = Assert.Single(events);
        Assert.Equal((9.0, 0.1, 11.0), (raised.Evidence!.Drift!.Mean, raised.Evidence.Drift.Sigma, raised.Value!.Value));
        Assert.Equal(["out_c", "in_c", "power_mw"], raised.Evidence.Inputs.Select(i => i.Field));
        Assert.Equal("K/MW", raised.Evidence.Drift.Unit);
        Assert.Contains("drifting from its baseline 9 ± 0.1 K/MW over 1 h: now 11 K/MW, +2 K/MW (+20 σ)", raised.Message.En, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ id: a, kind: drift, field: x, baseline: 1h, below: 3, severity: info, source: s }", "rules[0].below: a drift rule takes no 'below'")]
    [InlineData("{ id: a, kind: drift, field: x, baseline: 1h, hold: 1m, severity: info, source: s }", "rules[0].hold: a drift rule takes no 'hold'")]
    [InlineData("{ id: a, kind: drift, field: x, severity: info, source: s }", "rules[0].baseline: required")]
    [InlineData("{ id: a, kind: drift, field: x, baseline: 5m, severity: info, source: s }", "rules[0].baseline: a baseline of 5 min holds fewer than 10 subgroups of 1 min ('every')")]
    [InlineData("{ id: a, kind: drift, field: x, baseline: 1h, method: shewhart, severity: info, source: s }", "rules[0].method")]
    [InlineData("{ id: a, kind: drift, field: x, baseline: 1h, lambda: 0.3, severity: info, source: s }", "rules[0].lambda: 'lambda' is for the ewma method; this rule's method is cusum")]
    [InlineData("{ id: a, kind: drift, field: x, baseline: 1h, method: ewma, h: 5, severity: info, source: s }", "rules[0].h: 'h' is for the cusum method; this rule's method is ewma")]
    [InlineData("{ id: a, kind: drift, field: x, baseline: 1h, k: -1, severity: info, source: s }", "rules[0].k: k must be from 0 to 3, not -1")]
    [InlineData("{ id: a, kind: drift, field: x, baseline: 1h, min_sigma: -0.1, severity: info, source: s }", "rules[0].min_sigma: min_sigma must be from 0 up, not -0.1")]
    [InlineData("{ id: a, kind: drift, field: x, baseline: 1h, direction: sideways, severity: info, source: s }", "rules[0].direction")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 1, baseline: 1h, severity: info, source: s }", "rules[0].baseline: 'baseline' is for drift rules (kind: drift)")]
    public void A_mistake_in_a_drift_rule_is_refused_with_file_line_and_field(string rule, string expected)
    {
        var problem = Record.Exception(() => RuleSet.Parse($"# site rules\nrules:\n  - {rule}\n", "site.yaml"));

        Assert.IsType<ConfigException>(problem);
        Assert.StartsWith("site.yaml:3:", problem.Message, StringComparison.Ordinal);
        Assert.Contains(expected, problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_drift_rules_watch_crane_vibration_under_load_and_furnace_cooling_flow()
    {
        var rules = RuleSet.Load(RuleSet.DefaultFile);

        var crane = Assert.Single(rules, r => r.Id == "crane-vibration-drift");
        var cooling = Assert.Single(rules, r => r.Id == "furnace-cooling-drift");
        Assert.Equal((RuleKind.Drift, "vib_mm_s", DriftMethod.Cusum, DriftDirection.Up, "hoist_speed_m_min"), (crane.Kind, crane.Field, crane.Drift!.Method, crane.Drift.Direction, crane.When!.Field));
        Assert.Equal((RuleKind.Drift, "cooling_flow_in_m3_h", DriftMethod.Ewma, DriftDirection.Down), (cooling.Kind, cooling.Field, cooling.Drift!.Method, cooling.Drift.Direction));
        Assert.All([crane, cooling], r => Assert.Contains("docs/domain.md section 5", r.Source, StringComparison.Ordinal));
    }
}
