using System.Globalization;
using IoTPilots.Config;

namespace IoTPilots.Rules;

/// <summary>The parser of drift rules' detector settings; same errors as the rest: file, line, field.</summary>
public static partial class RuleSet
{
    private static readonly string[] DriftKeys = ["method", "baseline", "every", "k", "h", "lambda", "L", "direction", "min_sigma"];

    /// <summary>
    /// The detector of a drift rule, or null for another kind (which then may not carry the drift keys). Defaults are
    /// the textbook ones [docs/domain.md section 5]: CUSUM k = 0.5, h = 5; EWMA λ = 0.2, L = 3; every 1 min.
    /// </summary>
    private static Drift? ParseDrift(ConfigNode n, RuleKind kind)
    {
        if (kind != RuleKind.Drift)
        {
            return DriftKeys.FirstOrDefault(n.Has) is { } key ? throw n.Required(key).Error($"'{key}' is for drift rules (kind: drift)") : null;
        }

        foreach (var key in new[] { "below", "above", "clear", "hold", "window", "after" })
        {
            if (n.Optional(key) is { } extra)
            {
                throw extra.Error($"a drift rule takes no '{key}': it judges the signal against its own baseline ('baseline'), and its decision interval (h or L) is its hold");
            }
        }

        var cusum = (n.Optional("method")?.OneOf(["cusum", "ewma"], "drift method") ?? "cusum") == "cusum";
        foreach (var key in cusum ? new[] { "lambda", "L" } : ["k", "h"])
        {
            if (n.Optional(key) is { } other)
            {
                throw other.Error($"'{key}' is for the {(cusum ? "ewma" : "cusum")} method; this rule's method is {(cusum ? "cusum" : "ewma")}");
            }
        }

        var baseline = Positive(n.Required("baseline"), "baseline");
        var every = n.Optional("every") is { } e ? Positive(e, "every") : TimeSpan.FromMinutes(1);
        if (baseline < every * Drift.MinGroups)
        {
            throw n.Required("baseline").Error($"a baseline of {MessageTemplate.Duration(baseline, false)} holds fewer than {Drift.MinGroups} subgroups of {MessageTemplate.Duration(every, false)} ('every'): too few to learn a standard deviation from");
        }

        var direction = (n.Optional("direction")?.OneOf(["up", "down", "both"], "drift direction") ?? "both") switch
        {
            "up" => DriftDirection.Up,
            "down" => DriftDirection.Down,
            _ => DriftDirection.Both,
        };
        return new Drift(
            cusum ? DriftMethod.Cusum : DriftMethod.Ewma,
            baseline,
            every,
            Within(n, "k", 0.5, 0, 3),
            Within(n, "h", 5, 0.5, 50),
            Within(n, "lambda", 0.2, 0.01, 1),
            Within(n, "L", 3, 0.5, 10),
            direction,
            Within(n, "min_sigma", 0, 0, double.MaxValue));
    }

    /// <summary>An optional number within a range: outside it a detector is either blind or alarms on every reading.</summary>
    private static double Within(ConfigNode n, string key, double fallback, double min, double max)
    {
        var value = n.Double(key, fallback);
        return value >= min && value <= max
            ? value
            : throw n.Required(key).Error($"{key} must be from {min.ToString(CultureInfo.InvariantCulture)}{(max < double.MaxValue ? $" to {max.ToString(CultureInfo.InvariantCulture)}" : " up")}, not {value.ToString(CultureInfo.InvariantCulture)}");
    }
}
