using IoTPilots.Contract;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Rules;

/// <summary>Live reload: the diff by rule id and the state carried over (README, "Live reload").</summary>
public sealed class RulesReloadTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    private const string Critical = """{ id: do-critical, kind: threshold, pilot: aquaculture, field: do_mg_l, below: 3.0, clear: 3.5, hold: 30s, severity: critical, source: A5 }""";
    private const string Missing = """{ id: do-missing, kind: missing, pilot: aquaculture, field: do_mg_l, after: 2m, severity: critical, source: CONTEXT }""";
    private const string Aerator = """
        { id: aerator, kind: composite, pilot: aquaculture, all: [ { field: do_mg_l, below: 5.0 }, { field: aerator_current_a, below: 0.5 } ], severity: critical, source: U }
        """;

    private readonly FakeTimeProvider _cloud = new(T0);

    private static RuleBook Book(params string[] rules) => RuleSet.Parse("rules:\n" + string.Concat(rules.Select(r => $"  - {r}\n")), "rules.yaml");

    private static TelemetryMessage Tank(string device, double seconds, params (string Field, double Value)[] values) => new(
        Pilots.Aquaculture, "ras-1", "gw-1", device, 1, [.. values.Select(v => new Reading(v.Field, T0.AddSeconds(seconds), v.Value, "mg/L", Quality.Good))]);

    private static TelemetryMessage Do(double seconds, double value, string device = "tank-01") => Tank(device, seconds, ("do_mg_l", value));

    [Fact]
    public void An_unchanged_rule_keeps_its_pending_hold_and_the_reload_lists_what_was_added()
    {
        var engine = new RulesEngine(Book(Critical));
        Assert.Empty(engine.Observe(Do(0, 2.8)));

        // Same rule written again (on another line), with a rule added: the 30 s hold started at 0 goes on.
        var reload = engine.Reload(Book(Missing, Critical), _cloud.GetUtcNow());
        var raised = engine.Observe(Do(30, 2.7));

        Assert.Equal(["do-missing"], reload.Added);
        Assert.Empty(reload.Removed);
        Assert.Empty(reload.Changed);
        Assert.Equal("added: do-missing", reload.ToString());
        Assert.Empty(reload.Events);
        var e = Assert.Single(raised);
        Assert.Equal((AlertTransition.Raised, T0), (e.Transition, e.Since));
    }

    [Fact]
    public void A_changed_limit_applies_at_once_and_its_open_alert_stays_open_until_the_new_clear_level()
    {
        var engine = new RulesEngine(Book(Critical, Missing));
        engine.Observe(Do(0, 2.8));
        Assert.Single(engine.Observe(Do(30, 2.8)));

        var reload = engine.Reload(Book(Critical.Replace("below: 3.0, clear: 3.5", "below: 4.0, clear: 4.5", StringComparison.Ordinal), Missing), _cloud.GetUtcNow());
        var stillOpen = engine.Observe(Do(40, 4.2));
        var resolved = engine.Observe(Do(50, 4.6));
        // The new limit on another device: 3.8 is a breach now (it was not under 3.0).
        engine.Observe(Do(60, 3.8, "tank-02"));
        var newLimit = engine.Observe(Do(90, 3.8, "tank-02"));

        Assert.Equal(["do-critical"], reload.Changed);
        Assert.Empty(reload.Events);
        Assert.Empty(stillOpen);
        var r = Assert.Single(resolved);
        Assert.Equal((AlertTransition.Resolved, T0), (r.Transition, r.Since));
        Assert.Equal((AlertTransition.Raised, 4.0), (Assert.Single(newLimit).Transition, engine.Rules.Single(x => x.Id == "do-critical").Limit!.Value));
    }

    [Fact]
    public void A_removed_rule_s_open_alerts_are_resolved_saying_why()
    {
        var engine = new RulesEngine(Book(Critical, Aerator));
        engine.Observe(Do(0, 2.8));
        engine.Observe(Do(30, 2.8));
        Assert.Single(engine.Observe(Tank("tank-03", 30, ("do_mg_l", 4.0), ("aerator_current_a", 0))), e => e.RuleId == "aerator");

        _cloud.Advance(TimeSpan.FromMinutes(1));
        var reload = engine.Reload(Book(Missing), _cloud.GetUtcNow());

        Assert.Equal(["do-missing"], reload.Added);
        Assert.Equal(["aerator", "do-critical"], reload.Removed);
        Assert.Equal(2, reload.Events.Count);
        Assert.All(reload.Events, e => Assert.Equal((AlertTransition.Resolved, _cloud.GetUtcNow()), (e.Transition, e.At)));
        var closed = Assert.Single(reload.Events, e => e.RuleId == "do-critical");
        Assert.Equal(("tank-01", T0), (closed.Series.Device, closed.Since));
        Assert.Contains("was removed from the rules files", closed.Message.En, StringComparison.Ordinal);
        Assert.Contains("đã bị xoá", closed.Message.Vi, StringComparison.Ordinal);
        Assert.Empty(engine.Observe(Do(60, 2.0)));
    }

    [Fact]
    public void A_changed_rule_that_no_longer_watches_a_device_closes_its_alert_and_keeps_the_others()
    {
        var engine = new RulesEngine(Book(Critical));
        foreach (var device in new[] { "tank-01", "pond-01" })
        {
            engine.Observe(Do(0, 2.8, device));
            engine.Observe(Do(30, 2.8, device));
        }

        var reload = engine.Reload(Book(Critical.Replace("pilot: aquaculture,", "pilot: aquaculture, device: \"tank-*\",", StringComparison.Ordinal)), _cloud.GetUtcNow());

        var closed = Assert.Single(reload.Events);
        Assert.Equal(("pond-01", AlertTransition.Resolved), (closed.Series.Device, closed.Transition));
        Assert.Contains("no longer watches do_mg_l of pond-01", closed.Message.En, StringComparison.Ordinal);
        Assert.Equal(AlertTransition.Resolved, Assert.Single(engine.Observe(Do(40, 3.6))).Transition);
    }

    [Fact]
    public void A_changed_missing_data_rule_keeps_each_series_silence_and_judges_it_with_the_new_after()
    {
        var engine = new RulesEngine(Book(Missing));
        engine.Observe(Do(0, 6.5));

        var reload = engine.Reload(Book(Missing.Replace("after: 2m", "after: 5m", StringComparison.Ordinal)), T0.AddSeconds(60));

        Assert.Equal(["do-missing"], reload.Changed);
        Assert.Empty(engine.Tick(T0.AddMinutes(4)));
        Assert.Equal(T0, Assert.Single(engine.Tick(T0.AddMinutes(5).AddSeconds(5))).Since);
    }

    [Fact]
    public void A_changed_composite_restarts_from_its_open_alert_and_an_unchanged_one_keeps_its_parts()
    {
        var engine = new RulesEngine(Book(Aerator));
        Assert.Single(engine.Observe(Tank("tank-03", 0, ("do_mg_l", 4.0), ("aerator_current_a", 0))));

        var same = engine.Reload(Book(Aerator), _cloud.GetUtcNow());
        var changed = engine.Reload(Book(Aerator.Replace("below: 5.0", "below: 4.5", StringComparison.Ordinal)), _cloud.GetUtcNow());
        // Still firing (no second raise); resolves once the new definition no longer holds.
        var held = engine.Observe(Tank("tank-03", 10, ("do_mg_l", 4.2), ("aerator_current_a", 0)));
        var resolved = engine.Observe(Tank("tank-03", 20, ("do_mg_l", 4.6), ("aerator_current_a", 0)));

        Assert.True(same.Unchanged);
        Assert.Equal("no rule changed", same.ToString());
        Assert.Equal(["aerator"], changed.Changed);
        Assert.Empty(held);
        Assert.Equal((AlertTransition.Resolved, T0), (Assert.Single(resolved).Transition, resolved[0].Since));
    }

    [Fact]
    public void A_derived_signal_changed_is_listed()
    {
        var before = RuleSet.Parse("derived:\n  - { name: dt, unit: K, expr: 'a - b', source: s }\nrules: []\n", "r.yaml");
        var after = RuleSet.Parse("derived:\n  - { name: dt, unit: K, expr: 'b - a', source: s }\n  - { name: x, unit: K, expr: 'a', source: s }\nrules: []\n", "r.yaml");
        var engine = new RulesEngine(before);

        var reload = engine.Reload(after, T0);

        Assert.Equal(["dt", "x"], reload.DerivedChanged);
        Assert.Equal("derived signals added, removed or changed: dt, x", reload.ToString());
        Assert.Equal(2, engine.Derived.Count);
    }
}
