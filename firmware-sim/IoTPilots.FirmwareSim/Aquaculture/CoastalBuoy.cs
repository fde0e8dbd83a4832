namespace IoTPilots.FirmwareSim.Aquaculture;

/// <summary>
/// A coastal seawater buoy near Cat Ba: DO, temperature, salinity, turbidity and pH. The tide (M2, 12.42 h)
/// moves salinity and turbidity; DO and pH follow the day. Values sit inside the 2015 limits for aquaculture
/// zones (pH 6.5-8.5, DO ≥5 mg/L, TSS 50 mg/L) [docs/domain.md A18]. Pure.
/// </summary>
public sealed class CoastalBuoy(DateTimeOffset start)
{
    private const double TideHours = 12.42;

    public double DissolvedOxygen { get; private set; } = 6.6;

    public double Temperature { get; private set; } = 27;

    public double Salinity { get; private set; } = 30;

    public double TurbidityNtu { get; private set; } = 8;

    public double Ph { get; private set; } = 8.1;

    public void Step(DateTimeOffset now)
    {
        var tide = Math.Sin(2 * Math.PI * (now - start).TotalHours / TideHours);
        var day = RasTank.Diurnal(now);
        Temperature = 27 + (0.6 * day);
        Salinity = 30 + (2.5 * tide);
        TurbidityNtu = 8 + (5 * Math.Abs(tide));
        DissolvedOxygen = 6.6 + (0.5 * day) - (0.02 * (Salinity - 30));
        Ph = 8.1 + (0.1 * day);
    }
}
