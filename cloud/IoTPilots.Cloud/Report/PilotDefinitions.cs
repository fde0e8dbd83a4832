using IoTPilots.Config;

namespace IoTPilots.Cloud.Report;

/// <summary>Whether a KPI is better high (met when value ≥ target) or low (met when value ≤ target).</summary>
public enum Direction
{
    Higher,
    Lower,
}

/// <summary>One KPI of a pilot: how it is computed (<see cref="Kind"/> and its parameters), its target and direction.</summary>
public sealed record KpiDefinition(
    string Id,
    string Kind,
    double Target,
    Direction Direction,
    string Unit,
    bool Uncertain,
    string? Source,
    string? Field = null,
    double? Limit = null,
    string? SetpointField = null,
    double? Tolerance = null,
    string? Severity = null,
    bool PerHour = false)
{
    /// <summary>Met at the target itself; a KPI with no value (no data) is not met.</summary>
    public bool? Met(double? value) => value is not { } v ? null : Direction == Direction.Higher ? v >= Target : v <= Target;
}

/// <summary>A value that turns events into money: a tank's stock, an hour of a furnace or crane stopped. Marked [U] when uncertain.</summary>
public sealed record ValueDefinition(string Id, string Kind, double Amount, string Currency, bool Uncertain, string Source, string? Field, double HoursPerPrediction);

/// <summary>The pilot's key signal and its limits, for the report's chart.</summary>
public sealed record SignalDefinition(string Field, string LabelEn, string LabelVi, double? Low, double? TargetLow, string? SetpointField, double? Tolerance, IReadOnlyList<double> Zones);

public sealed record PilotDefinition(
    string Id,
    string RoadmapEn,
    string RoadmapVi,
    string Source,
    IReadOnlyList<string> Sites,
    SignalDefinition Signal,
    IReadOnlyList<KpiDefinition> Kpis,
    IReadOnlyList<ValueDefinition> Values);

/// <summary>
/// Loads and validates the pilot definitions (Report/pilots.yaml, or the file PILOTS_PILOTS names). Every error
/// names the file, line and field (<see cref="ConfigException"/>).
/// </summary>
public static class PilotDefinitions
{
    public static readonly string[] KpiKinds = ["availability", "ack-median", "lead-time", "time-below", "time-above", "outside-band", "counter-increase"];

    public static readonly string[] ValueKinds = ["stock-at-risk", "downtime-avoided"];

    public static string DefaultFile => Path.Combine(AppContext.BaseDirectory, "Report", "pilots.yaml");

    public static IReadOnlyList<PilotDefinition> Load(string file) => Parse(ConfigNode.Load(file));

    public static IReadOnlyList<PilotDefinition> Parse(string text, string file) => Parse(ConfigNode.Parse(text, file));

    private static IReadOnlyList<PilotDefinition> Parse(ConfigNode root)
    {
        root.AllowOnly("pilots");
        var pilots = new List<PilotDefinition>();
        foreach (var p in root.Required("pilots").Items())
        {
            p.AllowOnly("id", "roadmap", "source", "sites", "signal", "kpis", "values");
            var id = p.String("id");
            if (pilots.Any(x => x.Id == id))
            {
                throw p.Required("id").Error($"pilot '{id}' is defined twice");
            }

            var roadmap = p.Required("roadmap");
            roadmap.AllowOnly("en", "vi");
            var sites = p.Required("sites").Items().Select(s => s.AsString()).ToList();
            if (sites.Count == 0)
            {
                throw p.Required("sites").Error("a pilot needs at least one site");
            }

            var s = p.Required("signal");
            s.AllowOnly("field", "en", "vi", "low", "target_low", "setpoint_field", "tolerance", "zones");
            var signal = new SignalDefinition(
                s.String("field"), s.String("en"), s.String("vi"), s.Optional("low")?.AsDouble(), s.Optional("target_low")?.AsDouble(),
                s.Optional("setpoint_field")?.AsString(), Positive(s.Optional("tolerance")),
                s.Optional("zones")?.Items().Select(z => z.AsDouble()).ToList() ?? []);

            var kpis = new List<KpiDefinition>();
            foreach (var k in p.Required("kpis").Items())
            {
                kpis.Add(Kpi(k, kpis));
            }

            var values = new List<ValueDefinition>();
            foreach (var v in p.Optional("values")?.Items() ?? [])
            {
                v.AllowOnly("id", "kind", "amount", "currency", "uncertain", "source", "field", "hours_per_prediction");
                var kind = v.Required("kind").OneOf(ValueKinds, "value kind");
                var amount = v.Required("amount").AsDouble();
                if (amount < 0)
                {
                    throw v.Required("amount").Error("must not be negative");
                }

                values.Add(new ValueDefinition(
                    v.String("id"), kind, amount, v.String("currency"), v.Bool("uncertain", false), v.String("source"),
                    kind == "stock-at-risk" ? v.String("field") : v.Optional("field")?.AsString(),
                    kind == "downtime-avoided" ? Positive(v.Required("hours_per_prediction"))!.Value : 0));
            }

            pilots.Add(new PilotDefinition(id, roadmap.String("en"), roadmap.String("vi"), p.String("source"), sites, signal, kpis, values));
        }

        return pilots;
    }

    private static KpiDefinition Kpi(ConfigNode k, List<KpiDefinition> before)
    {
        k.AllowOnly("id", "kind", "target", "direction", "unit", "uncertain", "source", "field", "limit", "setpoint_field", "tolerance", "severity", "per_hour");
        var id = k.String("id");
        if (before.Any(x => x.Id == id))
        {
            throw k.Required("id").Error($"KPI '{id}' is defined twice in this pilot");
        }

        var kind = k.Required("kind").OneOf(KpiKinds, "KPI kind");
        var direction = k.Required("direction").OneOf(["higher", "lower"], "direction") == "higher" ? Direction.Higher : Direction.Lower;
        var needsField = kind is "time-below" or "time-above" or "outside-band" or "counter-increase";
        return new KpiDefinition(
            id, kind, k.Required("target").AsDouble(), direction, k.String("unit"), k.Bool("uncertain", false), k.Optional("source")?.AsString(),
            needsField ? k.String("field") : null,
            kind is "time-below" or "time-above" ? k.Required("limit").AsDouble() : null,
            kind == "outside-band" ? k.String("setpoint_field") : null,
            kind == "outside-band" ? Positive(k.Required("tolerance")) : null,
            kind == "ack-median" ? k.Required("severity").OneOf(["critical", "warning", "info"], "severity") : null,
            k.Bool("per_hour", false));
    }

    private static double? Positive(ConfigNode? node)
    {
        if (node is null)
        {
            return null;
        }

        var value = node.AsDouble();
        return value > 0 ? value : throw node.Error($"must be greater than 0, got {value}");
    }
}
