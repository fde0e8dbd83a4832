namespace IoTPilots.FirmwareSim.Factory;

/// <summary>
/// A rolling-mill stand drive: a bar enters every <see cref="PassPeriod"/> and is rolled for
/// <see cref="PassDuration"/>, during which motor current and vibration rise with the rolling load. Motor
/// temperature follows I² with a thermal time constant. Vibration sits in ISO 10816-3 group 1 (>300 kW),
/// rigid foundation, zone A/B (below 2.3 mm/s) when healthy [docs/domain.md V1]. Pure.
/// </summary>
public sealed class RollingMill(DateTimeOffset start)
{
    public static readonly TimeSpan PassPeriod = TimeSpan.FromSeconds(40);
    public static readonly TimeSpan PassDuration = TimeSpan.FromSeconds(15);

    /// <summary>No-load and rolling currents, A [U].</summary>
    public double IdleCurrentA { get; init; } = 80;

    public double RollingCurrentA { get; init; } = 900;

    public double MotorCurrent { get; private set; } = 80;

    public double MotorSpeedRpm { get; private set; } = 750;

    public double Vibration { get; private set; } = 1.2;

    public double MotorTemp { get; private set; } = 55;

    public bool BarInMill { get; private set; }

    public void Step(DateTimeOffset now, TimeSpan dt)
    {
        var intoCycle = (now - start).TotalSeconds % PassPeriod.TotalSeconds;
        BarInMill = intoCycle < PassDuration.TotalSeconds;
        MotorCurrent = BarInMill ? RollingCurrentA : IdleCurrentA;
        // The bar's bite slows the stand slightly (speed droop).
        MotorSpeedRpm = BarInMill ? 735 : 750;
        Vibration = BarInMill ? 1.9 : 1.1;
        // Thermal: 55 °C at idle, about 95 °C with continuous rolling; 20-minute time constant [U].
        var target = 50 + (45 * Math.Pow(MotorCurrent / RollingCurrentA, 2) * 2.5);
        MotorTemp += (target - MotorTemp) * (1 - Math.Exp(-dt.TotalSeconds / 1200));
    }
}
