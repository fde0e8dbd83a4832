using IoTPilots.Contract;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Rules;

/// <summary>Missing data that is never missed: expected series, seeded silence, and silence judged on the gateway's clock.</summary>
public sealed class MissingDataTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);

    private static readonly RuleBook Rules = RuleSet.Parse("""
        rules:
          - { id: do-missing, kind: missing, pilot: aquaculture, device: "tank-*", field: do_mg_l, after: 2m, severity: critical, source: CONTEXT }
          - { id: do-critical, kind: threshold, pilot: aquaculture, field: do_mg_l, below: 3.0, severity: critical, source: A5 }
        """, "test.yaml");

    private static readonly SeriesKey Tank = new(Pilots.Aquaculture, "ras-1", "gw-1", "tank-01");

    private readonly FakeTimeProvider _cloud = new(T0);

    private static TelemetryMessage Message(string device, DateTimeOffset stamped, double? value) => new(
        Pilots.Aquaculture, "ras-1", "gw-1", device, 1,
        [new Reading("do_mg_l", stamped, value, "mg/L", value is null ? Quality.CommFailure : Quality.Good)]);

    /// <summary>Ticks the engine every 5 s of the fake cloud clock for <paramref name="span"/>, as RulesService does.</summary>
    private List<AlertEvent> Run(RulesEngine engine, TimeSpan span, Func<DateTimeOffset, TelemetryMessage?>? every10s = null)
    {
        var events = new List<AlertEvent>();
        var end = _cloud.GetUtcNow() + span;
        while (_cloud.GetUtcNow() < end)
        {
            _cloud.Advance(TimeSpan.FromSeconds(5));
            var now = _cloud.GetUtcNow();
            if (every10s is not null && (now - T0).TotalSeconds % 10 == 0 && every10s(now) is { } message)
            {
                events.AddRange(engine.Observe(message, now));
            }

            events.AddRange(engine.Tick(now));
        }

        return events;
    }

    [Fact]
    public void A_device_of_the_registry_never_heard_from_is_reported_after_its_after_from_the_engine_start()
    {
        var engine = new RulesEngine(Rules);

        Assert.Equal(1, engine.Expect(Tank, "do_mg_l", lastGood: null, _cloud.GetUtcNow()));
        var early = Run(engine, TimeSpan.FromMinutes(2));
        var late = Run(engine, TimeSpan.FromSeconds(5));
        // Its first reading resolves it, even stamped before the engine started (a gateway whose clock is behind).
        var resolved = engine.Observe(Message("tank-01", T0.AddMinutes(-5), 6.5), _cloud.GetUtcNow());

        Assert.Empty(early);
        var raised = Assert.Single(late);
        Assert.Equal((AlertTransition.Raised, "do-missing", T0, Tank), (raised.Transition, raised.RuleId, raised.Since, raised.Series));
        Assert.Equal(AlertTransition.Resolved, Assert.Single(resolved).Transition);
    }

    [Fact]
    public void A_device_silent_across_a_restart_is_reported_after_its_after_from_its_last_stored_reading()
    {
        var engine = new RulesEngine(Rules);

        // InfluxDB's last good reading was 90 s before the start: 30 s more of silence makes the 2 min.
        engine.Expect(Tank, "do_mg_l", lastGood: T0.AddSeconds(-90), _cloud.GetUtcNow());
        var early = Run(engine, TimeSpan.FromSeconds(30));
        var late = Run(engine, TimeSpan.FromSeconds(5));

        Assert.Empty(early);
        Assert.Equal(T0.AddSeconds(-90), Assert.Single(late).Since);
    }

    [Fact]
    public void Only_missing_data_rules_that_match_the_device_and_field_expect_it_and_a_live_reading_wins_over_the_seed()
    {
        var engine = new RulesEngine(Rules);

        Assert.Equal(0, engine.Expect(Tank with { Device = "pump-01" }, "do_mg_l", null, T0));
        Assert.Equal(0, engine.Expect(Tank, "ph", null, T0));
        Assert.Equal(0, engine.Expect(Tank with { Pilot = Pilots.Factory }, "do_mg_l", null, T0));
        engine.Observe(Message("tank-01", T0.AddSeconds(-10), 6.5));
        // Already watched: an older stored time does not move the live one back.
        Assert.Equal(0, engine.Expect(Tank, "do_mg_l", T0.AddMinutes(-30), T0));
        Assert.Equal(2, engine.Tracked);
        Assert.Empty(engine.Tick(T0.AddSeconds(100)));
        Assert.Single(engine.Tick(T0.AddSeconds(115)));
    }

    [Theory]
    [InlineData(-10)]
    [InlineData(+10)]
    [InlineData(0)]
    public void Silence_is_judged_on_the_gateway_clock_so_skew_neither_raises_a_false_alert_nor_hides_a_silence(int skewMinutes)
    {
        var engine = new RulesEngine(Rules);
        var skew = TimeSpan.FromMinutes(skewMinutes);

        // Ten minutes of readings every 10 s, stamped on a gateway clock off by the skew, each received 50 ms after.
        var reporting = Run(engine, TimeSpan.FromMinutes(10), now => Message("tank-01", now + skew - TimeSpan.FromMilliseconds(50), 6.5));
        var silentFor2Min = Run(engine, TimeSpan.FromSeconds(115));
        var silentLonger = Run(engine, TimeSpan.FromSeconds(10));

        Assert.Empty(reporting);
        Assert.Empty(silentFor2Min);
        var raised = Assert.Single(silentLonger);
        Assert.Equal(T0.AddMinutes(10) + skew - TimeSpan.FromMilliseconds(50), raised.Since);
        Assert.Equal(skew.TotalSeconds, engine.Clocks.OffsetOf("gw-1").TotalSeconds, tolerance: 0.1);
    }

    [Fact]
    public void A_retained_status_or_backlog_does_not_drag_the_offset_down_and_a_corrected_clock_is_followed()
    {
        var engine = new RulesEngine(Rules);
        var skew = TimeSpan.FromMinutes(3);

        engine.Observe(Message("tank-01", T0 + skew, 6.5), T0);
        // Backlog from an hour ago and a retained birth status from yesterday: lower bounds, far below the truth.
        engine.Observe(Message("tank-01", T0 + skew - TimeSpan.FromHours(1), 6.4), T0.AddSeconds(1));
        engine.ObserveStatus(new GatewayStatus("ras-1", "gw-1", GatewayStatus.Online, T0.AddDays(-1), 0, null), T0.AddSeconds(2));
        Assert.Equal(skew, engine.Clocks.OffsetOf("gw-1"));
        Assert.Equal(TimeSpan.Zero, engine.Clocks.OffsetOf("gw-never-heard"));

        // NTP fixes the gateway's clock: within two windows the offset follows it down.
        for (var t = TimeSpan.FromSeconds(10); t < GatewayClocks.Window * 2.1; t += TimeSpan.FromSeconds(10))
        {
            engine.Clocks.Observe("gw-1", T0 + t, T0 + t);
        }

        Assert.Equal(TimeSpan.Zero, engine.Clocks.OffsetOf("gw-1"));
    }
}
