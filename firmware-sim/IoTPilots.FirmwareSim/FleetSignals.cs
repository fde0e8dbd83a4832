using IoTPilots.FirmwareSim.Aquaculture;
using IoTPilots.FirmwareSim.Factory;
using IoTPilots.FirmwareSim.Port;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// What each simulated device reports, by the field names of the edge's device profiles (NaN: the sensor is broken
/// and the device reports its sensor-break code). <see cref="SimHost"/> puts these values in the registers;
/// <see cref="Devices"/> lists them for tools that want the physics without the protocols (the dashboards test
/// feeds InfluxDB from it in simulated time).
/// </summary>
public static class FleetSignals
{
    public static Dictionary<string, double> Tank(RasTank tank) => new()
    {
        ["do_mg_l"] = tank.DissolvedOxygen,
        ["temp_c"] = tank.Temperature,
        ["ph"] = tank.Ph,
        ["salinity_ppt"] = tank.Salinity,
        ["tan_mg_l"] = tank.Tan,
        ["no2_mg_l"] = tank.Nitrite,
        ["orp_mv"] = tank.Orp,
        ["aerator_current_a"] = tank.AeratorCurrent,
        ["pump_current_a"] = tank.PumpCurrent,
        ["aerator_on"] = tank.AeratorOn ? 1 : 0,
        ["pump_on"] = tank.PumpOn ? 1 : 0,
        ["manual_mode"] = tank.ManualMode ? 1 : 0,
    };

    /// <summary>
    /// What a tank takes from its registers: the backup aerator's coil, which the gateway writes. Not in <see cref="Tank"/>,
    /// so the simulator never writes it back over a command.
    /// </summary>
    public static void ObeyTank(RasTank tank, SimulatedModbusDevice device) => tank.BackupAeratorOn = device.Get("backup_aerator_on") != 0;

    public static Dictionary<string, double> Buoy(CoastalBuoy buoy) => new()
    {
        ["do_mg_l"] = buoy.DissolvedOxygen,
        ["temp_c"] = buoy.Temperature,
        ["salinity_ppt"] = buoy.Salinity,
        ["turbidity_ntu"] = buoy.TurbidityNtu,
        ["ph"] = buoy.Ph,
    };

    /// <summary>An optical DO probe in a tank (Renke RS-LDO profile).</summary>
    public static Dictionary<string, double> DoProbe(RasTank tank) => new()
    {
        ["do_mg_l"] = tank.DissolvedOxygen,
        ["do_sat_pct"] = 100 * tank.DissolvedOxygen / RasTank.OxygenSaturation(tank.Temperature, tank.Salinity),
        ["temp_c"] = tank.Temperature,
    };

    /// <summary>One zone's temperature controller (Eurotherm 3500 profile); the reading is clamped to its thermocouple's range [docs/domain.md F1].</summary>
    public static Dictionary<string, double> Zone(Furnace furnace, int zone) => new()
    {
        ["zone_sp_c"] = furnace.Parameters.Zones[zone].SetpointC,
        ["zone_out_pct"] = furnace.Outputs[zone],
        ["zone_temp_c"] = furnace.SensorBroken[zone] ? double.NaN : ClampToThermocouple(furnace, zone),
    };

    /// <summary>The furnace's energy meter (Eastron SDM630 profile).</summary>
    public static Dictionary<string, double> Meter(Furnace furnace)
    {
        // Balanced three-phase load at 400 V line-to-line, power factor 0.95 [U].
        var amps = furnace.PowerKw * 1000 / (Math.Sqrt(3) * 400 * 0.95);
        return new()
        {
            ["l1_voltage_v"] = 231,
            ["l2_voltage_v"] = 230,
            ["l3_voltage_v"] = 232,
            ["l1_current_a"] = amps,
            ["l2_current_a"] = amps,
            ["l3_current_a"] = amps,
            ["power_kw"] = furnace.PowerKw,
            ["energy_kwh"] = 1_250_000 + furnace.EnergyKwh,
        };
    }

    /// <summary>The furnace PLC: cooling water and shell temperatures.</summary>
    public static Dictionary<string, double> Aux(Furnace furnace) => new()
    {
        ["cooling_in_temp_c"] = furnace.CoolingInletC,
        ["cooling_out_temp_c"] = furnace.CoolingOutletC,
        ["cooling_flow_in_m3_h"] = furnace.CoolingFlowIn,
        ["cooling_flow_out_m3_h"] = furnace.CoolingFlowOut,
        ["shell_temp_1_c"] = furnace.ShellTemps[0],
        ["shell_temp_2_c"] = furnace.ShellTemps[1],
        ["shell_temp_3_c"] = furnace.ShellTemps[2],
        ["shell_temp_4_c"] = furnace.ShellTemps[3],
    };

    public static Dictionary<string, double> Mill(RollingMill mill) => new()
    {
        ["motor_current_a"] = mill.MotorCurrent,
        ["motor_speed_rpm"] = mill.MotorSpeedRpm,
        ["vib_mm_s"] = mill.Vibration,
        ["motor_temp_c"] = mill.MotorTemp,
        ["bar_in_mill"] = mill.BarInMill ? 1 : 0,
    };

    public static Dictionary<string, double> Crane(Crane crane) => new()
    {
        ["hoist_load_t"] = crane.HoistLoadT,
        ["hoist_speed_m_min"] = crane.HoistSpeed,
        ["trolley_speed_m_min"] = crane.TrolleySpeed,
        ["gantry_speed_m_min"] = crane.GantrySpeed,
        ["wind_m_s"] = crane.Wind.Gust3s,
        ["wind_mean_m_s"] = crane.Wind.Mean,
        ["hoist_motor_temp_c"] = crane.HoistMotorTemp,
        ["hoist_motor_current_a"] = crane.HoistCurrent,
        ["trolley_motor_temp_c"] = crane.TrolleyMotorTemp,
        ["trolley_motor_current_a"] = crane.TrolleyCurrent,
        ["vib_mm_s"] = crane.GearboxVibration,
        ["twistlock_cycles"] = crane.TwistlockCycles,
        ["lift_count"] = crane.LiftCount,
        ["twistlock_locked"] = crane.TwistlocksLocked ? 1 : 0,
        ["spreader_landed"] = crane.SpreaderLanded ? 1 : 0,
        ["wind_block"] = crane.WindBlock ? 1 : 0,
    };

    /// <summary>
    /// The Modbus devices <see cref="SimHost"/> serves, with their gateway, site (null: the gateway's), poll interval
    /// and signals. The EZO pH circuit and the DS18B20 probe only echo tank-01's pH and tank-02's temperature.
    /// </summary>
    public static IReadOnlyList<SimulatedDevice> Devices(Fleet fleet)
    {
        var devices = new List<SimulatedDevice>();
        var fast = TimeSpan.FromSeconds(2);
        var normal = TimeSpan.FromSeconds(5);
        var slow = TimeSpan.FromSeconds(10);
        foreach (var (id, tank) in fleet.Tanks)
        {
            devices.Add(new("gw-aqua-01", id, null, normal, () => Tank(tank)));
        }

        devices.Add(new("gw-aqua-01", "buoy-catba-01", "cat-ba-coast", slow, () => Buoy(fleet.Buoy)));
        devices.Add(new("gw-aqua-01", "tank-04-do", null, slow, () => DoProbe(fleet.Tanks["tank-04"])));
        foreach (var (fid, furnace) in fleet.Furnaces)
        {
            for (var z = 0; z < furnace.Parameters.Zones.Count; z++)
            {
                var zone = z;
                var id = furnace.Parameters.Zones.Count == 1 ? $"{fid}-{furnace.Parameters.Zones[z].Name}" : $"{fid}-zone-{z + 1}";
                devices.Add(new("gw-factory-01", id, null, normal, () => Zone(furnace, zone)));
            }

            devices.Add(new("gw-factory-01", $"{fid}-meter", null, normal, () => Meter(furnace)));
            devices.Add(new("gw-factory-01", $"{fid}-aux", null, normal, () => Aux(furnace)));
        }

        devices.Add(new("gw-factory-01", "mill-1", null, fast, () => Mill(fleet.Mill)));
        foreach (var (id, crane) in fleet.Cranes)
        {
            devices.Add(new("gw-port-01", id, null, fast, () => Crane(crane)));
        }

        return devices;
    }

    private static double ClampToThermocouple(Furnace furnace, int zone)
    {
        var (min, max) = Thermocouples.Range(furnace.Parameters.Zones[zone].Thermocouple);
        return Math.Clamp(furnace.ZoneTemps[zone], min, max);
    }
}

/// <summary>One simulated device: where it reports from, how often the edge polls it, and what it reports now.</summary>
/// <param name="Site">Its own site, or null for its gateway's (<see cref="SimHost.Gateways"/>).</param>
public sealed record SimulatedDevice(string Gateway, string Device, string? Site, TimeSpan PollInterval, Func<Dictionary<string, double>> Signals);
