using IoTPilots.FirmwareSim.Aquaculture;

namespace IoTPilots.UnitTests;

public class RasTankTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 5, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Oxygen_demand_follows_the_boyd_respiration_rates()
    {
        // ≈200 mg O2/kg·h at 20 °C and ≈440 at 32 °C [docs/domain.md A17]; 50 kg/m³ at 32 °C ≈ 22 mg/L·h [derived, docs/domain.md].
        var tank = new RasTank(new RasTankParameters { StockingKgPerM3 = 50, WaterRespirationMgLH = 0 }, Start);
        Assert.Equal(22.0, tank.OxygenDemand(32), 6);
        Assert.Equal(10.0, tank.OxygenDemand(20), 6);
    }

    [Fact]
    public void Aerated_tank_holds_its_target_and_stays_above_5_mg_l()
    {
        var tank = new RasTank(new RasTankParameters(), Start);
        for (var s = 0; s < 3600; s++)
        {
            tank.Step(Start.AddSeconds(s), TimeSpan.FromSeconds(1));
            Assert.InRange(tank.DissolvedOxygen, 5.0, 8.0);
        }
    }

    [Fact]
    public void Without_aeration_do_falls_at_the_oxygen_demand_rate()
    {
        var tank = new RasTank(new RasTankParameters(), Start) { AeratorOn = false };
        var before = tank.DissolvedOxygen;
        for (var s = 1; s <= 60; s++)
        {
            tank.Step(Start.AddSeconds(s), TimeSpan.FromSeconds(1));
        }

        var expectedDrop = tank.OxygenDemand(tank.Temperature) / 60;
        Assert.Equal(expectedDrop, before - tank.DissolvedOxygen, 3);
    }

    [Fact]
    public void Saturation_matches_seawater_tables_at_28_c_and_20_ppt()
    {
        // Seawater DO solubility tables give ≈7.0 mg/L at 28 °C, 20 ppt.
        Assert.InRange(RasTank.OxygenSaturation(28, 20), 6.9, 7.1);
    }
}
