using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Rules;

/// <summary>
/// A composite alert restored from the store (after a restart, or by a standby taking over: issue 14 part 8) stays one
/// alert while its failure goes on, although the engine that restored it must first relearn a slope and a hold.
/// </summary>
public sealed class CompositeRestoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 2, 0, 0, TimeSpan.Zero);

    // The shipped aerator-failure rule (rules/default.yaml).
    private static readonly RuleBook Book = RuleSet.Parse("""
        rules:
          - id: aerator-failure
            kind: composite
            pilot: aquaculture
            all:
              - { field: do_mg_l, below: -0.1, window: 3m, hold: 20s }
              - { field: aerator_current_a, below: 0.5, clear: 1.0, hold: 20s }
            clear_hold: 1m
            severity: critical
            source: U
        """, "test.yaml");

    private static readonly SeriesKey Tank03 = new(Pilots.Aquaculture, "site-1", "gw-1", "tank-03");

    private static TelemetryMessage Tank(double seconds, double doMgL, double amps) => new(
        Pilots.Aquaculture, "site-1", "gw-1", "tank-03", 1,
        [new Reading("do_mg_l", T0.AddSeconds(seconds), doMgL, "mg/L", Quality.Good), new Reading("aerator_current_a", T0.AddSeconds(seconds), amps, "A", Quality.Good)]);

    /// <summary>An engine that has just restored the aerator-failure alert a previous one raised at <see cref="T0"/>.</summary>
    private static RulesEngine Restored()
    {
        var engine = new RulesEngine(Book);
        engine.Restore([new Alert(7, "aerator-failure", Severity.Critical, Tank03, "do_mg_l", T0.AddSeconds(-20), T0, -0.6, -0.6, -0.6, T0, null, null, null, null, new("aerator", "máy sục khí"))]);
        return engine;
    }

    [Fact]
    public void A_restored_aerator_failure_whose_failure_goes_on_is_neither_resolved_nor_raised_again_while_the_slope_is_relearned()
    {
        var engine = Restored();

        // Every 5 s for 5 minutes, DO falling 0.6 mg/L per minute with the aerator still stopped (docs/domain.md A17): the
        // slope part has no verdict for its first 90 s, and holds for 20 s only after that, well past the 1 min clear_hold.
        var events = Enumerable.Range(1, 60).SelectMany(i => engine.Observe(Tank(i * 5, 6.0 - (0.05 * i), 0))).ToList();

        Assert.Empty(events);
    }

    [Fact]
    public void A_restored_aerator_failure_resolves_once_the_aerator_is_seen_running_for_its_clear_hold()
    {
        var engine = Restored();

        var events = Enumerable.Range(1, 30).SelectMany(i => engine.Observe(Tank(i * 5, 5.0 + (0.02 * i), 4.6))).ToList();

        var resolved = Assert.Single(events);
        // The aerator's current is seen back past 1 A at 5 s; the alert resolves a minute later.
        Assert.Equal((AlertTransition.Resolved, T0.AddSeconds(65)), (resolved.Transition, resolved.At));
    }

    [Fact]
    public void A_restored_aerator_failure_does_not_resolve_on_a_value_between_its_limit_and_its_clear()
    {
        var engine = Restored();

        // 0.8 A: no longer below 0.5, not yet back past 1.0 (hysteresis); DO still falling.
        var events = Enumerable.Range(1, 60).SelectMany(i => engine.Observe(Tank(i * 5, 6.0 - (0.05 * i), 0.8))).ToList();

        Assert.Empty(events);
    }
}
