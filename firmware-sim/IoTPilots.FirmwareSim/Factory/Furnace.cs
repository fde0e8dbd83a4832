namespace IoTPilots.FirmwareSim.Factory;

/// <summary>Thermocouple types and their ASTM E230 ranges [docs/domain.md F1].</summary>
public enum ThermocoupleType
{
    K,
    S,
    B,
}

public static class Thermocouples
{
    /// <summary>Usable range, °C: K 0-1260, S 0-1480, B 870-1700 [docs/domain.md F1].</summary>
    public static (double Min, double Max) Range(ThermocoupleType type) => type switch
    {
        ThermocoupleType.K => (0, 1260),
        ThermocoupleType.S => (0, 1480),
        _ => (870, 1700),
    };
}

/// <summary>One heating zone: its controller's setpoint and thermocouple.</summary>
public sealed record ZoneSpec(string Name, double SetpointC, ThermocoupleType Thermocouple, TimeSpan TimeConstant);

public sealed record FurnaceParameters
{
    public required string Id { get; init; }

    public required IReadOnlyList<ZoneSpec> Zones { get; init; }

    /// <summary>Rated electrical power, kW. A 3000 kW induction furnace is the docs/domain.md F8 example.</summary>
    public double RatedPowerKw { get; init; } = 3000;

    /// <summary>Share of power that ends in the cooling water: 27 % coil, 35 % in total [docs/domain.md F8].</summary>
    public double CoolingHeatFraction { get; init; } = 0.35;

    /// <summary>Cooling-water flow, m³/h: 33.5 m³/h carries 3000 kW at ΔT 27 K [docs/domain.md F8].</summary>
    public double CoolingFlowM3H { get; init; } = 33.5;

    /// <summary>Cooling-water supply temperature, °C [U].</summary>
    public double CoolingInletC { get; init; } = 30;

    /// <summary>Share of rated power that holds the furnace at its setpoints [U].</summary>
    public double HoldFraction { get; init; } = 0.6;

    /// <summary>Shell temperature of sound refractory, °C [U].</summary>
    public double ShellBaseC { get; init; } = 180;

    /// <summary>Shell thermocouples (or camera spots) per furnace.</summary>
    public int ShellPoints { get; init; } = 4;

    /// <summary>Slow refractory wear, °C per hour of shell temperature rise [U] [docs/domain.md F11: alarm on the slope].</summary>
    public double WearDriftCPerHour { get; init; } = 0.05;

    /// <summary>
    /// Melt cycle for an induction furnace: full power while melting, controlled while holding, none while
    /// tapping; null for a continuous reheat furnace.
    /// </summary>
    public (TimeSpan Melt, TimeSpan Hold, TimeSpan Tap)? MeltCycle { get; init; }
}

/// <summary>
/// A furnace: zones track their setpoints with a first-order lag, controller outputs follow the error, and
/// the electrical power they draw heats the cooling water: ΔT = fraction × P / (ρ·c·Q), with ρ·c of water
/// 4.186 MJ/m³·K, which gives 27 K for 3000 kW at 33.5 m³/h [docs/domain.md F8]. A leak shows as outlet flow below
/// inlet flow [docs/domain.md F9]. Shell temperatures drift up with refractory wear [docs/domain.md F11]. Pure.
/// </summary>
public sealed class Furnace
{
    /// <summary>kW carried per m³/h of water per kelvin: 4186 kJ/m³·K / 3600 s.</summary>
    public const double WaterKwPerM3HPerK = 4186.0 / 3600;

    private readonly FurnaceParameters _p;
    private readonly DateTimeOffset _start;
    private readonly double[] _zoneTemps;
    private readonly double[] _outputs;
    private double _outletC;

    public Furnace(FurnaceParameters parameters, DateTimeOffset start)
    {
        _p = parameters;
        _start = start;
        _zoneTemps = parameters.Zones.Select(z => z.SetpointC).ToArray();
        _outputs = parameters.Zones.Select(_ => parameters.HoldFraction * 100).ToArray();
        SensorBroken = new bool[parameters.Zones.Count];
        CoolingFlowFactor = 1;
        PowerKw = parameters.RatedPowerKw * parameters.HoldFraction;
        _outletC = parameters.CoolingInletC + CoolingDeltaT(PowerKw, parameters.CoolingFlowM3H);
        ShellTemps = Enumerable.Repeat(parameters.ShellBaseC, parameters.ShellPoints).ToArray();
    }

    public FurnaceParameters Parameters => _p;

    public IReadOnlyList<double> ZoneTemps => _zoneTemps;

    public IReadOnlyList<double> Outputs => _outputs;

    /// <summary>Per zone: the thermocouple is open circuit, so the controller reports sensor break.</summary>
    public bool[] SensorBroken { get; }

    public double PowerKw { get; private set; }

    public double EnergyKwh { get; private set; }

    /// <summary>1 = nominal flow; the cooling-fault scenario halves it.</summary>
    public double CoolingFlowFactor { get; set; }

    /// <summary>Outlet flow lost to a leak, m³/h.</summary>
    public double LeakM3H { get; set; }

    public double CoolingFlowIn => _p.CoolingFlowM3H * CoolingFlowFactor;

    public double CoolingFlowOut => Math.Max(0, CoolingFlowIn - LeakM3H);

    public double CoolingInletC => _p.CoolingInletC;

    public double CoolingOutletC => _outletC;

    public double[] ShellTemps { get; }

    /// <summary>Steady-state cooling-water temperature rise for a power and a flow.</summary>
    public double CoolingDeltaT(double powerKw, double flowM3H) =>
        flowM3H <= 0 ? 0 : _p.CoolingHeatFraction * powerKw / (WaterKwPerM3HPerK * flowM3H);

    public void Step(DateTimeOffset now, TimeSpan dt)
    {
        var seconds = dt.TotalSeconds;
        for (var i = 0; i < _zoneTemps.Length; i++)
        {
            var zone = _p.Zones[i];
            var sp = zone.SetpointC;
            var error = sp - _zoneTemps[i];
            // Proportional controller around the holding output; the zone follows with its own lag.
            var hold = sp <= 0 ? 0 : _p.HoldFraction * 100;
            _outputs[i] = Phase(now) switch
            {
                "melt" => 100,
                "tap" => 0,
                _ => Math.Clamp(hold + (error * 0.5), 0, 100),
            };
            var target = sp + ((_outputs[i] - hold) * 2);
            _zoneTemps[i] += (target - _zoneTemps[i]) * (1 - Math.Exp(-seconds / zone.TimeConstant.TotalSeconds));
        }

        PowerKw = _p.RatedPowerKw * _outputs.Average() / 100;
        EnergyKwh += PowerKw * dt.TotalHours;
        var outletTarget = _p.CoolingInletC + CoolingDeltaT(PowerKw, CoolingFlowIn);
        _outletC += (outletTarget - _outletC) * (1 - Math.Exp(-seconds / 60));
        var hoursRunning = (now - _start).TotalHours;
        var zoneLoad = _zoneTemps.Average() / Math.Max(1, _p.Zones.Average(z => z.SetpointC));
        for (var s = 0; s < ShellTemps.Length; s++)
        {
            ShellTemps[s] = (_p.ShellBaseC * (0.9 + (0.1 * zoneLoad))) + (s * 6) + (_p.WearDriftCPerHour * hoursRunning);
        }
    }


    /// <summary>Where in the melt cycle the furnace is at <paramref name="now"/>: melting draws full power.</summary>
    public string Phase(DateTimeOffset now)
    {
        if (_p.MeltCycle is not { } c)
        {
            return "continuous";
        }

        var t = (now - _start).TotalSeconds % (c.Melt + c.Hold + c.Tap).TotalSeconds;
        return t < c.Melt.TotalSeconds ? "melt" : t < (c.Melt + c.Hold).TotalSeconds ? "hold" : "tap";
    }
}
