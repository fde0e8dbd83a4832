using IoTPilots.Contract;
using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Scenarios;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Rules;

/// <summary>
/// The shipped rules (and the demo-speed ones) against the simulators' physics, in simulated time: each fault
/// scenario raises the alerts a person needs, in the order that helps them, and normal operation raises none.
/// </summary>
public sealed class RulesOnSimulatorTests
{
    internal static readonly DateTimeOffset Start = new(2026, 11, 23, 1, 0, 0, TimeSpan.Zero);

    private static RuleBook Rules()
    {
        var repo = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(repo!.FullName, "IoTPilots.sln")))
        {
            repo = repo.Parent;
        }

        return RuleSet.Load(RuleSet.DefaultFile).With(RuleSet.Load(Path.Combine(repo.FullName, "deploy", "local", "demo-rules.yaml")));
    }

    /// <summary>Steps the fleet a second at a time and feeds every device's readings to the engine at the demo's poll intervals.</summary>
    /// <param name="lead">Normal operation before the scenario's clock starts (drift rules learn their baseline meanwhile).</param>
    internal static List<AlertEvent> Run(string scenario, TimeSpan duration, int seed = 1, TimeSpan lead = default)
    {
        var fleet = new Fleet(Start, seed);
        var faults = ScenarioCatalog.Create(scenario);
        var engine = new RulesEngine(Rules());
        var events = new List<AlertEvent>();
        long seq = 0;
        void Publish(string pilot, string device, DateTimeOffset at, params (string Field, double Value)[] values) =>
            events.AddRange(engine.Observe(new TelemetryMessage(pilot, "sim", "gw-sim", device, ++seq,
                values.Select(v => new Reading(v.Field, at, v.Value, "", Quality.Good)).ToList())));

        for (var t = TimeSpan.FromSeconds(1); t <= duration; t += TimeSpan.FromSeconds(1))
        {
            var now = Start + t;
            if (t >= lead)
            {
                faults.Apply(fleet, t - lead);
            }

            fleet.Step(now, TimeSpan.FromSeconds(1));
            var second = (int)t.TotalSeconds;
            if (second % 5 == 0)
            {
                foreach (var (id, tank) in fleet.Tanks)
                {
                    Publish(Pilots.Aquaculture, id, now, [.. FleetSignals.Tank(tank).Select(s => (s.Key, s.Value))]);
                }
            }

            if (second % 2 == 0)
            {
                foreach (var (id, crane) in fleet.Cranes)
                {
                    Publish(Pilots.Port, id, now, ("vib_mm_s", crane.GearboxVibration), ("hoist_speed_m_min", crane.HoistSpeed), ("hoist_load_t", crane.HoistLoadT), ("wind_m_s", crane.Wind.Gust3s));
                }

                Publish(Pilots.Factory, "mill-1", now, ("vib_mm_s", fleet.Mill.Vibration), ("motor_speed_rpm", fleet.Mill.MotorSpeedRpm));
            }

            if (second % 5 == 0)
            {
                // As the simulator serves them: the furnace PLC (cooling water, shell) and the energy meter.
                foreach (var (id, furnace) in fleet.Furnaces)
                {
                    Publish(Pilots.Factory, $"{id}-aux", now, [.. FleetSignals.Aux(furnace).Select(s => (s.Key, s.Value))]);
                    Publish(Pilots.Factory, $"{id}-meter", now, [.. FleetSignals.Meter(furnace).Select(s => (s.Key, s.Value))]);
                }
            }

            events.AddRange(engine.Tick(now));
        }

        return events;
    }

    [Fact]
    public void Normal_operation_for_an_hour_raises_no_alert()
    {
        var events = Run("baseline", TimeSpan.FromHours(1));

        Assert.True(events.Count == 0, "false alarms: " + string.Join("; ", events.Select(e => $"{e.RuleId} {e.Series.Device} {e.Transition} at {e.At - Start}")));
    }

    [Fact]
    public void An_aerator_failure_is_flagged_by_its_slope_before_the_level_and_no_other_tank_is()
    {
        var events = Run("aerator-failure", TimeSpan.FromMinutes(15)).Where(e => e.Transition == AlertTransition.Raised).ToList();

        var falling = Assert.Single(events, e => e.RuleId == "do-falling");
        var critical = Assert.Single(events, e => e.RuleId == "do-critical");
        Assert.Equal("tank-03", falling.Series.Device);
        Assert.Equal("tank-03", critical.Series.Device);
        Assert.True(falling.At < critical.At - TimeSpan.FromMinutes(3), $"slope alert at {falling.At - Start}, level alert at {critical.At - Start}");
        Assert.All(events, e => Assert.Equal("tank-03", e.Series.Device));
    }

    [Fact]
    public void An_aerator_failure_raises_the_composite_alert_on_its_tank_before_dissolved_oxygen_reaches_3_mg_l()
    {
        var events = Run("aerator-failure", TimeSpan.FromMinutes(15)).Where(e => e.Transition == AlertTransition.Raised).ToList();

        var composite = Assert.Single(events, e => e.RuleId == "aerator-failure");
        var critical = Assert.Single(events, e => e.RuleId == "do-critical");
        Assert.Equal("tank-03", composite.Series.Device);
        // do-critical's Since is when DO first read below 3 mg/L.
        Assert.True(composite.At < critical.Since - TimeSpan.FromMinutes(3), $"composite at {composite.At - Start}, DO below 3 mg/L at {critical.Since - Start}");
        Assert.All(composite.Evidence!.Parts, p => Assert.True(p.Held, p.Condition));
        Assert.Contains("aerator_current_a < 0.5 (0): held for", composite.Message.En, StringComparison.Ordinal);
        Assert.DoesNotContain(events, e => e.RuleId == "farm-power-failure");
    }

    [Fact]
    public void A_cooling_fault_raises_the_cooling_alert_on_its_furnace_from_delta_t_per_mw()
    {
        var events = Run("cooling-fault", TimeSpan.FromMinutes(10)).Where(e => e.Transition == AlertTransition.Raised).ToList();

        var cooling = Assert.Single(events);
        Assert.Equal(("furnace-cooling-low", "furnace-1-aux"), (cooling.RuleId, cooling.Series.Device));
        // The flow halves from 30 s to 60 s; ΔT follows with a minute's lag; the rule holds 2 min.
        Assert.True(cooling.At < Start + TimeSpan.FromMinutes(5), $"raised at {cooling.At - Start}");
        Assert.InRange(cooling.Value!.Value, 13.5, 20);
        Assert.Equal(["cooling_out_temp_c", "cooling_in_temp_c", "power_kw@meter"], cooling.Evidence!.Inputs.Select(i => i.Field));
    }

    [Fact]
    public void A_wearing_bearing_is_forecast_before_it_reaches_zone_d_and_the_healthy_cranes_stay_quiet()
    {
        var events = Run("bearing-wear", TimeSpan.FromMinutes(12)).Where(e => e.Transition == AlertTransition.Raised).ToList();

        var forecast = Assert.Single(events, e => e.RuleId == "crane-vibration-forecast-demo");
        var zoneD = Assert.Single(events, e => e.RuleId == "crane-vibration-high");
        Assert.Equal(("sts-01", "sts-01"), (forecast.Series.Device, zoneD.Series.Device));
        Assert.True(forecast.At < zoneD.At - TimeSpan.FromMinutes(1), $"forecast at {forecast.At - Start}, zone D at {zoneD.At - Start}");
        Assert.All(events, e => Assert.Equal("sts-01", e.Series.Device));
    }
}
