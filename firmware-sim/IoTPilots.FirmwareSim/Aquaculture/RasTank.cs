namespace IoTPilots.FirmwareSim.Aquaculture;

/// <summary>Site-specific parameters of one tank; the [U] values are placeholders to confirm on site.</summary>
public sealed record RasTankParameters
{
    /// <summary>Biomass, kg/m³. RAS runs 50-120 kg/m³ [DOMAIN A16]; 20 is a lightly stocked tank [U].</summary>
    public double StockingKgPerM3 { get; init; } = 20;

    /// <summary>Water-column (bacteria, floc) respiration, mg/L·h; pond phytoplankton is 0.10-0.55 [DOMAIN A17] [U].</summary>
    public double WaterRespirationMgLH { get; init; } = 0.2;

    /// <summary>Mean salinity, ppt; shrimp optimum 15-25 [DOMAIN A9, A19] [U].</summary>
    public double SalinityPpt { get; init; } = 20;

    /// <summary>Mean water temperature, °C; L. vannamei 28-30 [DOMAIN A9] [U].</summary>
    public double MeanTempC { get; init; } = 28.5;

    /// <summary>Half the day-night temperature swing, °C [U].</summary>
    public double TempSwingC { get; init; } = 0.8;

    /// <summary>Mean pH: 7.5-8.0 mornings, 8.0-8.5 afternoons [DOMAIN A9].</summary>
    public double MeanPh { get; init; } = 8.0;

    public double PhSwing { get; init; } = 0.25;

    /// <summary>Dissolved oxygen the aerator holds at the mean temperature, mg/L; &gt;5 desirable [DOMAIN A5] [U].</summary>
    public double TargetDoMgL { get; init; } = 6.5;
}

/// <summary>
/// A recirculating tank's water quality. Dissolved oxygen is an oxygen balance:
/// dDO/dt = aerator transfer KLa·(DOsat − DO) − biomass respiration − water-column respiration, where biomass
/// respiration is ≈200 mg O2/kg·h at 20 °C rising to ≈440 at 32 °C [DOMAIN A17, citing Boyd/SRAC 370],
/// interpolated linearly. KLa is sized so the aerator holds the target DO at the mean temperature.
/// Temperature and pH follow the daily cycle, peaking mid-afternoon [DOMAIN A9, A20]. Pure: no clock, no I/O.
/// </summary>
public sealed class RasTank
{
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
    }

    public double DissolvedOxygen { get; private set; }

    public double Temperature { get; private set; }

    public double Ph { get; private set; }

    public double Salinity => _p.SalinityPpt;

    public bool AeratorOn { get; set; } = true;

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

    public void Step(DateTimeOffset now, TimeSpan dt)
    {
        Temperature = TemperatureAt(now);
        Ph = PhAt(now);
        var hours = dt.TotalHours;
        var transfer = AeratorOn ? _kla * (OxygenSaturation(Temperature, _p.SalinityPpt) - DissolvedOxygen) : 0;
        DissolvedOxygen = Math.Max(0, DissolvedOxygen + ((transfer - OxygenDemand(Temperature)) * hours));
    }

    private double SteadyState(double tempC) =>
        OxygenSaturation(tempC, _p.SalinityPpt) - (OxygenDemand(tempC) / _kla);

    private double TemperatureAt(DateTimeOffset t) => _p.MeanTempC + (_p.TempSwingC * Diurnal(t));

    private double PhAt(DateTimeOffset t) => _p.MeanPh + (_p.PhSwing * Diurnal(t));

    /// <summary>−1 at 03:00, +1 at 15:00 local time (UTC+7, Hai Phong).</summary>
    private static double Diurnal(DateTimeOffset t)
    {
        var localHour = (t.ToUniversalTime().TimeOfDay.TotalHours + 7) % 24;
        return Math.Sin(2 * Math.PI * (localHour - 9) / 24);
    }
}
