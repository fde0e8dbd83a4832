namespace IoTPilots.FirmwareSim.Port;

public enum CraneKind
{
    /// <summary>Ship-to-shore quay crane.</summary>
    Sts,

    /// <summary>Rubber-tyred gantry crane in the yard.</summary>
    Rtg,
}

public sealed record CraneParameters
{
    public required string Id { get; init; }

    public CraneKind Kind { get; init; } = CraneKind.Sts;

    /// <summary>Rated load under spreader, t: the RTG example is 41 t [docs/domain.md C3]; an STS twin-lift 65 t [U].</summary>
    public double RatedLoadT => Kind == CraneKind.Rtg ? 41 : 65;

    /// <summary>Gantry speeds, m/min: RTG 90 loaded, 130 empty [docs/domain.md C3].</summary>
    public double GantryLoadedMMin { get; init; } = 90;

    public double GantryEmptyMMin { get; init; } = 130;

    /// <summary>Hoist speeds, m/min [U]: typical STS 90 with load, 180 empty.</summary>
    public double HoistLoadedMMin { get; init; } = 90;

    public double HoistEmptyMMin { get; init; } = 180;

    public double TrolleyMMin { get; init; } = 180;

    /// <summary>Hoist gearbox vibration RMS at no load while running, mm/s; healthy is zone A (ISO 10816-3) [docs/domain.md V1] [U].</summary>
    public double GearboxBaseVibMmS { get; init; } = 1.2;
}

/// <summary>
/// A container crane's PLC signals through lift cycles: lower, lock twistlocks, hoist, travel, lower, unlock,
/// return. Hoist load is the container's weight while locked; speeds follow the phase; motor currents rise with
/// load and speed and heat the motors (first-order, 15-minute time constant); the hoist gearbox vibrates with
/// load while running, and a worn bearing multiplies it (<see cref="BearingWearFactor"/>). Twistlock and lift
/// counters count cycles [docs/domain.md C6]. The crane blocks itself when the 3-s gust exceeds 20.8 m/s (75 km/h)
/// [docs/domain.md C1]. Seeded; pure.
/// </summary>
public sealed class Crane
{
    private readonly CraneParameters _p;
    private readonly Random _random;
    private readonly List<(string Phase, double Seconds)> _cycle;
    private int _phase;
    private double _phaseLeft;
    private double _containerT;

    public Crane(CraneParameters parameters, Random random, Wind wind)
    {
        _p = parameters;
        _random = random;
        Wind = wind;
        _cycle = parameters.Kind == CraneKind.Sts
            ? [("lower-empty", 12), ("lock", 4), ("hoist-loaded", 15), ("trolley-loaded", 20), ("lower-loaded", 12), ("unlock", 4), ("hoist-empty", 8), ("trolley-empty", 18), ("idle", 10)]
            : [("lower-empty", 10), ("lock", 4), ("hoist-loaded", 10), ("gantry-loaded", 25), ("lower-loaded", 10), ("unlock", 4), ("hoist-empty", 6), ("gantry-empty", 18), ("idle", 15)];
        _phase = random.Next(_cycle.Count);
        _phaseLeft = _cycle[_phase].Seconds * random.NextDouble();
        if (Phase is "hoist-loaded" or "trolley-loaded" or "gantry-loaded" or "lower-loaded")
        {
            TwistlocksLocked = true;
            _containerT = 20;
        }
    }

    public CraneParameters Parameters => _p;

    public Wind Wind { get; }

    public string Phase => _cycle[_phase].Phase;

    public double HoistLoadT => TwistlocksLocked ? _containerT : 0;

    public double HoistSpeed { get; private set; }

    public double TrolleySpeed { get; private set; }

    public double GantrySpeed { get; private set; }

    public double HoistCurrent { get; private set; } = 20;

    public double TrolleyCurrent { get; private set; } = 15;

    public double HoistMotorTemp { get; private set; } = 45;

    public double TrolleyMotorTemp { get; private set; } = 40;

    public double GearboxVibration { get; private set; }

    /// <summary>1 for a healthy bearing; the bearing-wear scenario grows it.</summary>
    public double BearingWearFactor { get; set; } = 1;

    /// <summary>Health indicator: gearbox vibration running at a reference 25 t load, mm/s (trend only at comparable load [docs/domain.md C4]).</summary>
    public double ReferenceVibration => VibrationAt(25, running: true);

    public long TwistlockCycles { get; private set; } = 120_000;

    public long LiftCount { get; private set; } = 60_000;

    public bool TwistlocksLocked { get; private set; }

    public bool SpreaderLanded => Phase is "lock" or "unlock";

    public bool WindBlock { get; private set; }

    /// <summary>Steps the crane and its wind.</summary>
    public void Step(TimeSpan dt)
    {
        Wind.Step(dt);
        StepWithoutWind(dt);
    }

    /// <summary>Steps the crane when another crane on the same quay has already stepped the shared wind.</summary>
    public void StepWithoutWind(TimeSpan dt)
    {
        if (Wind.Gust3s > 20.8)
        {
            WindBlock = true;
        }
        else if (WindBlock && Wind.Mean < 15)
        {
            WindBlock = false;
        }

        if (!WindBlock)
        {
            Advance(dt.TotalSeconds);
        }

        var moving = !WindBlock;
        var phase = Phase;
        HoistSpeed = !moving ? 0 : phase switch
        {
            "hoist-loaded" => _p.HoistLoadedMMin,
            "lower-loaded" => -_p.HoistLoadedMMin,
            "hoist-empty" => _p.HoistEmptyMMin,
            "lower-empty" => -_p.HoistEmptyMMin,
            _ => 0,
        };
        TrolleySpeed = !moving ? 0 : phase switch
        {
            "trolley-loaded" => _p.TrolleyMMin * 0.8,
            "trolley-empty" => -_p.TrolleyMMin,
            _ => 0,
        };
        GantrySpeed = !moving ? 0 : phase switch
        {
            "gantry-loaded" => _p.GantryLoadedMMin,
            "gantry-empty" => -_p.GantryEmptyMMin,
            _ => 0,
        };

        // Currents: 10 t of spreader always hangs on the hoist; lowering regenerates, so draws less.
        var hanging = HoistLoadT + 10;
        HoistCurrent = 20 + (HoistSpeed > 0 ? 12 * hanging * HoistSpeed / _p.HoistLoadedMMin : HoistSpeed < 0 ? 3 * hanging : 0);
        TrolleyCurrent = 15 + (2 * hanging * Math.Abs(TrolleySpeed + GantrySpeed) / _p.TrolleyMMin);
        HoistMotorTemp += ((40 + (HoistCurrent * HoistCurrent / 6000)) - HoistMotorTemp) * (1 - Math.Exp(-dt.TotalSeconds / 900));
        TrolleyMotorTemp += ((38 + (TrolleyCurrent * TrolleyCurrent / 1500)) - TrolleyMotorTemp) * (1 - Math.Exp(-dt.TotalSeconds / 900));
        GearboxVibration = VibrationAt(HoistLoadT, HoistSpeed != 0);
    }

    private double VibrationAt(double loadT, bool running) =>
        running ? (_p.GearboxBaseVibMmS + (0.02 * loadT)) * BearingWearFactor : 0.3 * BearingWearFactor;

    private void Advance(double seconds)
    {
        _phaseLeft -= seconds;
        while (_phaseLeft <= 0)
        {
            _phase = (_phase + 1) % _cycle.Count;
            _phaseLeft += _cycle[_phase].Seconds * (Phase == "idle" ? 0.5 + _random.NextDouble() : 1);
            switch (Phase)
            {
                case "lock":
                    TwistlocksLocked = true;
                    TwistlockCycles++;
                    // Container gross weight, t [U]: empty boxes ~4 t to full 40-footers ~30 t, within rating.
                    _containerT = Math.Min(_p.RatedLoadT, 4 + (_random.NextDouble() * 28));
                    break;
                case "unlock":
                    TwistlocksLocked = false;
                    LiftCount++;
                    break;
            }
        }
    }
}
