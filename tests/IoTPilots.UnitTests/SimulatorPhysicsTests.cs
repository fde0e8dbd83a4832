using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Aquaculture;
using IoTPilots.FirmwareSim.Factory;
using IoTPilots.FirmwareSim.Port;
using IoTPilots.FirmwareSim.Scenarios;

namespace IoTPilots.UnitTests;

public class SimulatorPhysicsTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 3, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    /// <summary>Runs the fleet at 1 Hz with the scenarios applied, calling <paramref name="observe"/> after each step.</summary>
    private static Fleet Run(TimeSpan duration, IEnumerable<Scenario> scenarios, Action<Fleet, TimeSpan>? observe = null, int seed = 7)
    {
        var fleet = new Fleet(Start, seed);
        var list = scenarios.ToList();
        for (var t = Second; t <= duration; t += Second)
        {
            foreach (var s in list)
            {
                s.Apply(fleet, t);
            }

            fleet.Step(Start + t, Second);
            observe?.Invoke(fleet, t);
        }

        return fleet;
    }

    [Fact]
    public void Unionized_ammonia_fraction_matches_emerson()
    {
        // 0.0654 at 28 °C and pH 8.0; 0.20 at 30 °C and pH 8.5 [docs/domain.md A12, D].
        Assert.Equal(0.0654, RasTank.UnionizedAmmoniaFraction(28, 8.0), 3);
        Assert.Equal(0.20, RasTank.UnionizedAmmoniaFraction(30, 8.5), 2);
    }

    [Fact]
    public void Baseline_tanks_stay_healthy_and_tan_below_the_safe_level()
    {
        Run(TimeSpan.FromHours(6), [new Baseline()], (fleet, _) =>
        {
            foreach (var (id, tank) in fleet.Tanks)
            {
                Assert.True(tank.DissolvedOxygen > 5, $"{id} DO {tank.DissolvedOxygen:0.00}");
                // Safe TAN at 15-25 ppt is 2.44-3.55 mg/L [docs/domain.md A1].
                Assert.True(tank.Tan < 2.44, $"{id} TAN {tank.Tan:0.00}");
            }
        });
    }

    [Fact]
    public void Aerator_failure_takes_the_named_tank_below_3_mg_l_in_about_six_minutes_and_spares_the_rest()
    {
        TimeSpan? below3 = null;
        double? atFailure = null;
        Run(TimeSpan.FromMinutes(7), [new AeratorFailure("tank-03")], (fleet, t) =>
        {
            var tank = fleet.Tanks["tank-03"];
            if (t == AeratorFailure.At)
            {
                atFailure = tank.DissolvedOxygen;
            }

            if (tank.DissolvedOxygen < 3 && below3 is null)
            {
                below3 = t;
            }

            foreach (var (id, other) in fleet.Tanks.Where(kv => kv.Key != "tank-03"))
            {
                Assert.True(other.DissolvedOxygen > 5, $"{id} DO {other.DissolvedOxygen:0.00} at {t}");
            }
        });

        Assert.InRange(atFailure!.Value, 6, 7);
        Assert.NotNull(below3);
        Assert.InRange(below3!.Value, TimeSpan.FromMinutes(4.5), TimeSpan.FromMinutes(6.5));
    }

    [Fact]
    public void Cooling_delta_t_scales_with_power_and_matches_the_induction_furnace_example()
    {
        var furnace = new Furnace(new FurnaceParameters { Id = "f", Zones = [new ZoneSpec("z", 1000, ThermocoupleType.S, TimeSpan.FromMinutes(5))] }, Start);
        // 3000 kW at 33.5 m³/h gives ΔT ≈ 27 K [docs/domain.md F8].
        Assert.Equal(27.0, furnace.CoolingDeltaT(3000, 33.5), 0);
        Assert.Equal(2 * furnace.CoolingDeltaT(1000, 33.5), furnace.CoolingDeltaT(2000, 33.5), 9);

        // And in the running model: the settled ΔT per kW is the same at two different powers.
        var induction = new Fleet(Start, 1).Furnaces["furnace-2"];
        var ratios = new List<double>();
        for (var t = Second; t <= TimeSpan.FromMinutes(18); t += Second)
        {
            induction.Step(Start + t, Second);
            if (t == TimeSpan.FromMinutes(11) || t == TimeSpan.FromMinutes(15.5))
            {
                ratios.Add((induction.CoolingOutletC - induction.CoolingInletC) / induction.PowerKw);
            }
        }

        Assert.Equal(ratios[0], ratios[1], 3);
    }

    [Fact]
    public void Cooling_fault_halves_the_flow_and_doubles_the_delta_t()
    {
        double dtBefore = 0, flowBefore = 0;
        var fleet = Run(TimeSpan.FromMinutes(8), [new CoolingFault("furnace-1")], (f, t) =>
        {
            if (t == TimeSpan.FromSeconds(29))
            {
                var furnace = f.Furnaces["furnace-1"];
                (dtBefore, flowBefore) = (furnace.CoolingOutletC - furnace.CoolingInletC, furnace.CoolingFlowIn);
            }
        });

        var after = fleet.Furnaces["furnace-1"];
        Assert.Equal(flowBefore / 2, after.CoolingFlowIn, 6);
        Assert.Equal(2 * dtBefore, after.CoolingOutletC - after.CoolingInletC, 0);
    }

    [Fact]
    public void Bearing_wear_climbs_through_every_iso_zone_and_crosses_c_d_at_about_eight_minutes()
    {
        var samples = new List<(TimeSpan T, double Reference, double Reported, bool Running)>();
        Run(TimeSpan.FromMinutes(10), [new BearingWear("sts-01")], (f, t) =>
        {
            var crane = f.Cranes["sts-01"];
            samples.Add((t, crane.ReferenceVibration, crane.GearboxVibration, crane.HoistSpeed != 0));
        });

        // The health indicator (vibration at the reference load) never falls.
        Assert.All(samples.Zip(samples.Skip(1)), p => Assert.True(p.Second.Reference >= p.First.Reference));
        // ISO 10816-3 group 2, flexible support: A/B 2.3, B/C 4.5, C/D 7.1 mm/s [docs/domain.md V1], crossed in order.
        var ab = samples.First(s => s.Reference >= 2.3).T;
        var bc = samples.First(s => s.Reference >= 4.5).T;
        var cd = samples.First(s => s.Reference >= 7.1).T;
        Assert.True(ab < bc && bc < cd);
        Assert.InRange(cd, TimeSpan.FromMinutes(7.5), TimeSpan.FromMinutes(8.5));
        // What the PLC reports while hoisting rises minute by minute too.
        var perMinute = samples.Where(s => s.Running).GroupBy(s => (int)s.T.TotalMinutes).Select(g => g.Average(s => s.Reported)).ToList();
        Assert.All(perMinute.Zip(perMinute.Skip(1)), p => Assert.True(p.Second > p.First));
        Assert.True(samples[^1].Reported > 7.1 || samples.Last(s => s.Running).Reported > 7.1);
    }

    [Fact]
    public void Three_second_gusts_peak_near_one_and_a_half_times_the_ten_minute_mean()
    {
        // EN 13001: the gust (3-s average) is about 1.5× the 10-minute mean [docs/domain.md C2]. 24 h at 1 Hz.
        var wind = new Wind(new Random(11), meanMs: 8);
        var ratios = new List<double>();
        for (var window = 0; window < 144; window++)
        {
            double sum = 0, peak = 0;
            for (var s = 0; s < 600; s++)
            {
                wind.Step(Second);
                sum += wind.Instant;
                peak = Math.Max(peak, wind.Gust3s);
            }

            ratios.Add(peak / (sum / 600));
        }

        Assert.InRange(ratios.Average(), 1.35, 1.65);
    }

    [Fact]
    public void Wind_storm_drives_gusts_past_20_m_s_and_blocks_the_cranes()
    {
        var maxGust = 0.0;
        var fleet = Run(TimeSpan.FromMinutes(8), [new WindStorm()], (f, t) => maxGust = Math.Max(maxGust, f.QuayWind.Gust3s));

        Assert.True(maxGust > 20, $"max gust {maxGust:0.0}");
        Assert.Contains(fleet.Cranes.Values, c => c.WindBlock);
    }

    [Fact]
    public void Sensor_fault_and_link_outage_follow_their_timelines()
    {
        Run(TimeSpan.FromMinutes(3), [new SensorFault("furnace-1", 1), new LinkOutage("gw-port-01")], (f, t) =>
        {
            Assert.Equal(t >= SensorFault.At, f.Furnaces["furnace-1"].SensorBroken[1]);
            Assert.Equal(t >= LinkOutage.From && t < LinkOutage.Until, f.LinksDown.Contains("gw-port-01"));
        });
    }

    [Fact]
    public void Lift_cycles_count_twistlocks_and_lifts_and_load_only_while_locked()
    {
        var fleet = new Fleet(Start, 3);
        var crane = fleet.Cranes["sts-02"];
        var (locks, lifts) = (crane.TwistlockCycles, crane.LiftCount);
        for (var t = 0; t < 1800; t++)
        {
            fleet.Step(Start.AddSeconds(t), Second);
            Assert.True(crane.TwistlocksLocked || crane.HoistLoadT == 0);
            Assert.InRange(crane.HoistLoadT, 0, crane.Parameters.RatedLoadT);
        }

        Assert.InRange(crane.TwistlockCycles - locks, 12, 25);
        Assert.InRange(crane.LiftCount - lifts, 12, 25);
    }

    [Fact]
    public void Scenario_names_are_validated()
    {
        Assert.Equal(2, ScenarioCatalog.Parse("aerator-failure, wind-storm").Count);
        var ex = Assert.Throws<ArgumentException>(() => ScenarioCatalog.Parse("meteor"));
        Assert.Contains("unknown scenario 'meteor'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("bearing-wear", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_seed_same_run()
    {
        var a = Run(TimeSpan.FromMinutes(5), [new Baseline()], seed: 42);
        var b = Run(TimeSpan.FromMinutes(5), [new Baseline()], seed: 42);
        Assert.Equal(a.QuayWind.Gust3s, b.QuayWind.Gust3s);
        Assert.Equal(a.Cranes["sts-01"].HoistLoadT, b.Cranes["sts-01"].HoistLoadT);
    }
}
