namespace IoTPilots.Edge.Serial.Ezo;

/// <summary>The Atlas Scientific EZO circuits this driver reads [docs/domain.md S1, S2].</summary>
public enum EzoKind
{
    Ph,
    Do,
    Orp,
    Ec,
    Rtd,
}

/// <summary>One value of a reading: the storage field name (snake_case with a unit suffix) and its unit.</summary>
public sealed record EzoField(string Name, string Unit);

/// <summary>Field names and units as our storage keeps them, and what each circuit sends, in the order it sends it.</summary>
public static class EzoFields
{
    public static readonly EzoField Ph = new("ph", "pH");
    public static readonly EzoField DoMgL = new("do_mg_l", "mg/L");
    public static readonly EzoField DoSatPct = new("do_sat_pct", "%");
    public static readonly EzoField OrpMv = new("orp_mv", "mV");
    public static readonly EzoField EcUsCm = new("ec_us_cm", "uS/cm");
    public static readonly EzoField TdsPpm = new("tds_ppm", "ppm");

    /// <summary>The EZO-EC reports practical salinity (PSU), which is numerically parts per thousand.</summary>
    public static readonly EzoField SalinityPpt = new("salinity_ppt", "ppt");

    /// <summary>Specific gravity of sea water, dimensionless.</summary>
    public static readonly EzoField Sg = new("sg", "");

    /// <summary>EZO-RTD in its factory scale, Celsius.</summary>
    public static readonly EzoField TempC = new("temp_c", "degC");

    private static readonly EzoField[] PhOutputs = [Ph];
    private static readonly EzoField[] DoOutputs = [DoMgL, DoSatPct];
    private static readonly EzoField[] OrpOutputs = [OrpMv];
    private static readonly EzoField[] EcOutputs = [EcUsCm, TdsPpm, SalinityPpt, Sg];
    private static readonly EzoField[] RtdOutputs = [TempC];

    /// <summary>
    /// Every value the circuit can put on a reading line, in the order it puts them. EZO-DO sends mg/L then
    /// % saturation when both are enabled with command O (EnviroDIY ModularSensors, AtlasScientificDO.h, reads
    /// them in that order); EZO-EC sends EC,TDS,SAL,SG, and from firmware 2.10 only EC unless the others are
    /// enabled with O (EZO-EC datasheet V6.2, cover note).
    /// </summary>
    public static IReadOnlyList<EzoField> Outputs(this EzoKind kind) => kind switch
    {
        EzoKind.Ph => PhOutputs,
        EzoKind.Do => DoOutputs,
        EzoKind.Orp => OrpOutputs,
        EzoKind.Ec => EcOutputs,
        EzoKind.Rtd => RtdOutputs,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The type the circuit names in its device-information reply (<c>?I,pH,2.10</c>).</summary>
    public static string DeviceType(this EzoKind kind) => kind switch
    {
        EzoKind.Ph => "pH",
        EzoKind.Do => "DO",
        EzoKind.Orp => "ORP",
        EzoKind.Ec => "EC",
        EzoKind.Rtd => "RTD",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Finds a field of a kind by storage name, e.g. <c>"tds_ppm"</c> for EC.</summary>
    public static EzoField Output(this EzoKind kind, string name) =>
        kind.Outputs().FirstOrDefault(f => f.Name == name)
        ?? throw new ArgumentException($"EZO {kind.DeviceType()} has no output '{name}'; it has {string.Join(", ", kind.Outputs().Select(f => f.Name))}", nameof(name));
}
