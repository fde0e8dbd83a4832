namespace IoTPilots.FirmwareSim.Aquaculture;

/// <summary>Site-specific parameters of one tank; the [U] values are placeholders to confirm on site.</summary>
public sealed record RasTankParameters
{
    /// <summary>Biomass, kg/m³. RAS runs 50-120 kg/m³ [docs/domain.md A16]; 20 is a lightly stocked tank [U].</summary>
    public double StockingKgPerM3 { get; init; } = 20;

    /// <summary>Water-column (bacteria, floc) respiration, mg/L·h; pond phytoplankton is 0.10-0.55 [docs/domain.md A17] [U].</summary>
    public double WaterRespirationMgLH { get; init; } = 0.2;

    /// <summary>Mean salinity, ppt; shrimp optimum 15-25 [docs/domain.md A9, A19] [U].</summary>
    public double SalinityPpt { get; init; } = 20;

    /// <summary>Mean water temperature, °C; L. vannamei 28-30 [docs/domain.md A9] [U].</summary>
    public double MeanTempC { get; init; } = 28.5;

    /// <summary>Half the day-night temperature swing, °C [U].</summary>
    public double TempSwingC { get; init; } = 0.8;

    /// <summary>Mean pH: 7.5-8.0 mornings, 8.0-8.5 afternoons [docs/domain.md A9].</summary>
    public double MeanPh { get; init; } = 8.0;

    public double PhSwing { get; init; } = 0.25;

    /// <summary>Dissolved oxygen the aerator holds at the mean temperature, mg/L; &gt;5 desirable [docs/domain.md A5] [U].</summary>
    public double TargetDoMgL { get; init; } = 6.5;

    /// <summary>Feed per day as a fraction of biomass [U]; 2 % is typical for grow-out shrimp.</summary>
    public double FeedFractionPerDay { get; init; } = 0.02;

    /// <summary>Feed protein fraction [U].</summary>
    public double FeedProtein { get; init; } = 0.35;

    /// <summary>Biofilter first-order TAN removal, 1/h [U]; sized so TAN settles well under the safe level [docs/domain.md A1].</summary>
    public double BiofilterTanPerHour { get; init; } = 3.0;

    /// <summary>Nitrite oxidation (second nitrification step), 1/h [U].</summary>
    public double BiofilterNitritePerHour { get; init; } = 6.0;

    /// <summary>Aerator motor current when running, A [U] (a 2.2 kW blower at 400 V three-phase).</summary>
    public double AeratorCurrentA { get; init; } = 4.6;

    /// <summary>
    /// The backup aerator's oxygen transfer as a fraction of the main aerator's [U]: a farm's standby blower is usually
    /// the same size, so 1 holds the same target DO on its own.
    /// </summary>
    public double BackupAeratorTransfer { get; init; } = 1.0;

    /// <summary>Recirculation pump current when running, A [U].</summary>
    public double PumpCurrentA { get; init; } = 7.5;
}

/// <summary>
/// A recirculating tank's water quality. Dissolved oxygen is an oxygen balance:
/// dDO/dt = aerator transfer KLa·(DOsat − DO) − biomass respiration − water-column respiration, where biomass
/// respiration is ≈200 mg O2/kg·h at 20 °C rising to ≈440 at 32 °C [docs/domain.md A17, citing Boyd/SRAC 370],
/// interpolated linearly. KLa is sized so the aerator holds the target DO at the mean temperature; the backup aerator
/// (a coil the gateway can start) adds its own KLa, so with it alone DO recovers towards the same steady state,
/// DO(t) = DO∞ − (DO∞ − DO0)·e^(−KLa·t) while the demand holds still.
/// Temperature and pH follow the daily cycle, peaking mid-afternoon [docs/domain.md A9, A20].
/// Total ammonia nitrogen comes from feeding (TAN ≈ feed × protein × 0.092, the usual aquaculture rule) at
/// four meals a day, and the biofilter oxidises it to nitrite and then nitrate, each step first-order.
/// Pure: no clock, no I/O.
/// </summary>
public sealed class RasTank
{
    private static readonly int[] FeedingHours = [7, 11, 15, 19];
    private readonly RasTankParameters _p;
    private readonly double _kla;

    public RasTank(RasTankParameters parameters, DateTimeOffset start)
    {
        _p = parameters;
        Temperature = TemperatureAt(start);
        var saturation = OxygenSaturation(_p.MeanTempC, _p.SalinityPpt);
        _kla = OxygenDemand(_p.MeanTempC) / (saturation - _p.TargetDoMgL);
        DissolvedOxygen = SteadyState(Temperature);
        Ph = PhAt(start);

        // Start at the nitrogen steady state of the average feeding rate.
        var tanPerHour = DailyTanLoad() / 24;
        Tan = tanPerHour / _p.BiofilterTanPerHour;
        Nitrite = Tan * _p.BiofilterTanPerHour / _p.BiofilterNitritePerHour;
    }

    public double DissolvedOxygen { get; private set; }

    public double Temperature { get; private set; }

    public double Ph { get; private set; }

    public double Salinity => _p.SalinityPpt;

    /// <summary>Total ammonia nitrogen, mg/L.</summary>
    public double Tan { get; private set; }

    /// <summary>Nitrite nitrogen, mg/L.</summary>
    public double Nitrite { get; private set; }

    /// <summary>Oxidation-reduction potential, mV. No authoritative limit [docs/domain.md ORP: U]; it tracks DO here.</summary>
    public double Orp => 180 + (22 * DissolvedOxygen);

    public bool AeratorOn { get; set; } = true;

    public bool PumpOn { get; set; } = true;

    /// <summary>The standby aerator, started and stopped through its coil (by the gateway, on a command).</summary>
    public bool BackupAeratorOn { get; set; }

    /// <summary>The panel's hand/auto switch: on, the site runs the aerators by hand and the gateway may not write.</summary>
    public bool ManualMode { get; set; }

    /// <summary>The oxygen transfer coefficient of the main aerator, 1/h.</summary>
    public double Kla => _kla;

    public double AeratorCurrent => AeratorOn ? _p.AeratorCurrentA : 0;

    public double PumpCurrent => PumpOn ? _p.PumpCurrentA : 0;

    /// <summary>Oxygen taken up by biomass and water column, mg/L·h, at temperature <paramref name="tempC"/>.</summary>
    public double OxygenDemand(double tempC)
    {
        var perKg = 200 + ((440 - 200) * (tempC - 20) / (32 - 20));
        return (_p.StockingKgPerM3 * perKg / 1000) + _p.WaterRespirationMgLH;
    }

    /// <summary>
    /// Oxygen solubility, mg/L: the APHA freshwater polynomial in °C, reduced by about 0.53 % per ppt of
    /// salinity (which gives ≈7.0 mg/L at 28 °C and 20 ppt, matching seawater tables to a tenth).
    /// </summary>
    public static double OxygenSaturation(double tempC, double salinityPpt) =>
        (14.652 - (0.41022 * tempC) + (0.007991 * tempC * tempC) - (0.000077774 * tempC * tempC * tempC)) * (1 - (0.0053 * salinityPpt));

    /// <summary>
    /// Fraction of TAN present as toxic un-ionized NH3: 1/(1+10^(pKa−pH)), pKa = 0.09018 + 2729.92/T(K)
    /// (Emerson 1975) [docs/domain.md A12]: 0.0654 at 28 °C and pH 8.0.
    /// </summary>
    public static double UnionizedAmmoniaFraction(double tempC, double ph) =>
        1 / (1 + Math.Pow(10, 0.09018 + (2729.92 / (tempC + 273.15)) - ph));

    public void Step(DateTimeOffset now, TimeSpan dt)
    {
        Temperature = TemperatureAt(now);
        Ph = PhAt(now);
        var hours = dt.TotalHours;
        var kla = (AeratorOn ? _kla : 0) + (BackupAeratorOn ? _kla * _p.BackupAeratorTransfer : 0);
        var transfer = kla * (OxygenSaturation(Temperature, _p.SalinityPpt) - DissolvedOxygen);
        DissolvedOxygen = Math.Max(0, DissolvedOxygen + ((transfer - OxygenDemand(Temperature)) * hours));

        // Without the recirculation pump nothing reaches the biofilter.
        var nitrification = PumpOn ? _p.BiofilterTanPerHour * Tan : 0;
        var nitriteOxidation = PumpOn ? _p.BiofilterNitritePerHour * Nitrite : 0;
        Tan = Math.Max(0, Tan + ((TanInput(now) - nitrification) * hours));
        Nitrite = Math.Max(0, Nitrite + ((nitrification - nitriteOxidation) * hours));
    }

    /// <summary>TAN excreted from the day's feed, mg/L per day: feed (mg/L) × protein × 0.092.</summary>
    private double DailyTanLoad() => _p.StockingKgPerM3 * _p.FeedFractionPerDay * 1000 * _p.FeedProtein * 0.092;

    /// <summary>TAN input rate, mg/L·h: excretion comes in the three hours after each meal.</summary>
    private double TanInput(DateTimeOffset t)
    {
        var localHour = LocalHour(t);
        var afterMeal = FeedingHours.Any(h => localHour >= h && localHour < h + ExcretionHours);
        return afterMeal ? DailyTanLoad() / (FeedingHours.Length * ExcretionHours) : 0;
    }

    private const int ExcretionHours = 3;

    private double SteadyState(double tempC) =>
        OxygenSaturation(tempC, _p.SalinityPpt) - (OxygenDemand(tempC) / _kla);

    private double TemperatureAt(DateTimeOffset t) => _p.MeanTempC + (_p.TempSwingC * Diurnal(t));

    private double PhAt(DateTimeOffset t) => _p.MeanPh + (_p.PhSwing * Diurnal(t));

    /// <summary>Hai Phong local time (UTC+7), hours.</summary>
    internal static double LocalHour(DateTimeOffset t) => (t.ToUniversalTime().TimeOfDay.TotalHours + 7) % 24;

    /// <summary>−1 at 03:00, +1 at 15:00 local time.</summary>
    internal static double Diurnal(DateTimeOffset t) => Math.Sin(2 * Math.PI * (LocalHour(t) - 9) / 24);
}
