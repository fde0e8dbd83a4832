using IoTPilots.Devices;
using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Aquaculture;

namespace IoTPilots.UnitTests;

/// <summary>The simulated RAS tank's backup aerator: a coil the gateway writes, and the oxygen it brings back.</summary>
public sealed class BackupAeratorTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 19, 0, 0, TimeSpan.Zero);

    [Fact]
    public void With_the_backup_aerator_started_do_recovers_as_the_oxygen_balance_predicts()
    {
        // The high-density tank of the aerator-failure scenario: its aerator stops and DO falls to 3 mg/L.
        var tank = new RasTank(new RasTankParameters { StockingKgPerM3 = 100 }, Start) { AeratorOn = false };
        var now = Start;
        while (tank.DissolvedOxygen > 3)
        {
            now = now.AddSeconds(1);
            tank.Step(now, TimeSpan.FromSeconds(1));
        }

        tank.BackupAeratorOn = true;
        var from = tank.DissolvedOxygen;
        var saturation = RasTank.OxygenSaturation(tank.Temperature, tank.Salinity);
        var steady = saturation - (tank.OxygenDemand(tank.Temperature) / tank.Kla);
        for (var s = 1; s <= 20 * 60; s++)
        {
            tank.Step(now.AddSeconds(s), TimeSpan.FromSeconds(1));
        }

        // dDO/dt = KLa·(DOsat − DO) − demand, solved with the demand held still: DO(t) = DO∞ − (DO∞ − DO0)·e^(−KLa·t).
        var predicted = steady - ((steady - from) * Math.Exp(-tank.Kla * (20.0 / 60)));
        Assert.Equal(predicted, tank.DissolvedOxygen, 1);
        Assert.InRange(tank.DissolvedOxygen, 5.0, 8.0);
    }

    [Fact]
    public void The_simulator_takes_the_coil_the_gateway_wrote_and_never_writes_it_back()
    {
        var profile = ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, "ras-tank-sim.yaml"));
        var device = new SimulatedModbusDevice(profile, new ModbusSlave());
        var tank = new RasTank(new RasTankParameters(), Start);
        var coil = profile.Signals.Single(s => s.Name == "backup_aerator_on");

        device.Slave.SetBit(Table.Coil, coil.Address, true);
        FleetSignals.ObeyTank(tank, device);

        Assert.True(tank.BackupAeratorOn);
        Assert.DoesNotContain("backup_aerator_on", FleetSignals.Tank(tank).Keys);
        Assert.Equal(new WriteLimits(0, 1, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(30), true, "manual_mode"), coil.Write);
    }
}
