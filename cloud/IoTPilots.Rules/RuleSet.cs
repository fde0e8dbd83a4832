using System.Text.RegularExpressions;
using IoTPilots.Config;
using IoTPilots.Contract;

namespace IoTPilots.Rules;

/// <summary>
/// Loads alert rules from YAML files. Every mistake is a <see cref="ConfigException"/> naming file, line and
/// field (<c>rules[3].below</c>), at start-up, never a rule that silently does nothing.
/// </summary>
public static partial class RuleSet
{
    private static readonly string[] Kinds = ["threshold", "rate", "missing", "forecast", "composite", "drift"];
    private static readonly string[] Severities = ["info", "warning", "critical"];

    /// <summary>The rules shipped with the cloud service, from docs/domain.md (copied next to the binaries).</summary>
    public static string DefaultFile => Path.Combine(AppContext.BaseDirectory, "rules", "default.yaml");

    /// <summary>Loads one file, or every <c>*.yaml</c> of a folder in name order; rule ids and derived names must be unique across them.</summary>
    public static RuleBook Load(string path)
    {
        var files = Directory.Exists(path) ? Directory.GetFiles(path, "*.yaml").Order(StringComparer.Ordinal).ToArray() : [path];
        var book = new RuleBook([], []);
        foreach (var file in files)
        {
            book = Read(ConfigNode.Load(file), book);
        }

        return book;
    }

    public static RuleBook Parse(string yaml, string file) => Read(ConfigNode.Parse(yaml, file), new RuleBook([], []));

    /// <summary>Adds one file's rules and derived signals to those of the files read before it.</summary>
    private static RuleBook Read(ConfigNode root, RuleBook before)
    {
        root.AllowOnly("rules", "derived");
        var derived = before.Derived.ToList();
        if (root.Optional("derived") is { } derivedNode)
        {
            foreach (var node in derivedNode.Items())
            {
                var signal = ParseDerived(node);
                if (derived.Any(d => d.Name == signal.Name))
                {
                    throw node.Required("name").Error($"a derived signal '{signal.Name}' is already declared");
                }

                if (signal.Expression.Fields.FirstOrDefault(f => derived.Any(d => d.Name == f)) is { } chained)
                {
                    throw node.Required("expr").Error($"'{chained}' is itself derived; write its expression out instead (derived signals are computed from measured fields only)");
                }

                derived.Add(signal);
            }
        }

        var rules = before.Rules.ToList();
        foreach (var node in root.Required("rules").Items())
        {
            var rule = Parse(node) with { Location = $"{node.File}:{node.Line}" };
            if (rules.FirstOrDefault(r => r.Id == rule.Id) is { } twin)
            {
                throw node.Required("id").Error($"rule id '{rule.Id}' is already used at {twin.Location}");
            }

            rules.Add(rule);
        }

        return new RuleBook(rules, derived);
    }

    private static Rule Parse(ConfigNode n)
    {
        n.AllowOnly(["id", "kind", "field", "pilot", "site", "device", "below", "above", "clear", "hold", "clear_hold", "window", "after", "within", "when", "all", "any", "per", "max_age", "severity", "source", "message", "action", .. DriftKeys]);
        var idNode = n.Required("id");
        var id = idNode.AsString();
        if (!IdPattern().IsMatch(id))
        {
            throw idNode.Error($"'{id}' is not a rule id (lowercase letters, digits, '-', '_' and '.', at most 64)");
        }

        var kind = n.Required("kind").OneOf(Kinds, "rule kind") switch
        {
            "threshold" => RuleKind.Threshold,
            "rate" => RuleKind.Rate,
            "forecast" => RuleKind.Forecast,
            "composite" => RuleKind.Composite,
            "drift" => RuleKind.Drift,
            _ => RuleKind.Missing,
        };
        Composite? composite = null;
        var drift = ParseDrift(n, kind);
        if (kind == RuleKind.Composite)
        {
            composite = ParseComposite(n);
        }
        else
        {
            foreach (var key in new[] { "all", "any", "per", "max_age" })
            {
                if (n.Optional(key) is { } extra)
                {
                    throw extra.Error($"'{key}' is for composite rules (kind: composite)");
                }
            }
        }

        var field = composite?.Parts[0].Field ?? n.String("field");
        if (!FieldPattern().IsMatch(field))
        {
            throw n.Required("field").Error($"'{field}' is not a field name or pattern (snake_case, '*' for any part)");
        }

        string? pilot = null;
        if (n.Optional("pilot") is { } p)
        {
            pilot = p.OneOf(Pilots.All.ToArray(), "pilot");
        }

        double? below = n.Optional("below")?.AsDouble();
        double? above = n.Optional("above")?.AsDouble();
        double? clear = n.Optional("clear")?.AsDouble();
        TimeSpan window;
        if (kind is RuleKind.Composite or RuleKind.Drift)
        {
            window = TimeSpan.Zero;
        }
        else if (kind == RuleKind.Missing)
        {
            foreach (var key in new[] { "below", "above", "clear", "hold", "window" })
            {
                if (n.Optional(key) is { } extra)
                {
                    throw extra.Error($"a missing-data rule takes no '{key}'; it raises after 'after' without a good reading");
                }
            }

            window = Positive(n.Required("after"), "after");
        }
        else
        {
            if ((below is null) == (above is null))
            {
                throw n.Error("give exactly one of 'below' or 'above'");
            }

            if (clear is { } c && (below is { } b ? c < b : c > above!.Value))
            {
                throw n.Required("clear").Error($"clear level {c} is on the wrong side of the limit {(below ?? above)}: it must be {(below is null ? "at or below" : "at or above")} it");
            }

            if (n.Optional("after") is { } after)
            {
                throw after.Error("'after' is for missing-data rules; use 'hold' for how long the condition must last");
            }

            if (kind is RuleKind.Rate or RuleKind.Forecast)
            {
                window = Positive(n.Required("window"), "window");
                if (window < TimeSpan.FromSeconds(30))
                {
                    throw n.Required("window").Error($"a {(kind == RuleKind.Rate ? "rate" : "forecast")} window under 30 s fits noise, not a trend");
                }
            }
            else
            {
                window = TimeSpan.Zero;
                if (n.Optional("window") is { } w)
                {
                    throw w.Error("'window' is for rate rules");
                }
            }
        }

        var horizon = TimeSpan.Zero;
        if (kind == RuleKind.Forecast)
        {
            horizon = Positive(n.Required("within"), "within");
            if (clear is not null)
            {
                throw n.Required("clear").Error("a forecast rule clears by itself once the crossing is more than 1.5 × 'within' away or the trend turns");
            }
        }
        else if (n.Optional("within") is { } within)
        {
            throw within.Error("'within' is for forecast rules");
        }

        Condition? when = null;
        if (n.Optional("when") is { } whenNode)
        {
            whenNode.AllowOnly("field", "below", "above");
            var whenField = whenNode.String("field");
            if (!FieldPattern().IsMatch(whenField) || whenField.Contains('*', StringComparison.Ordinal))
            {
                throw whenNode.Required("field").Error($"'{whenField}' is not a field name (snake_case, no pattern)");
            }

            when = new Condition(whenField, whenNode.Optional("below")?.AsDouble(), whenNode.Optional("above")?.AsDouble());
            if (when.Below is null && when.Above is null)
            {
                throw whenNode.Error("give 'below', 'above' or both");
            }

            if (kind == RuleKind.Missing)
            {
                throw whenNode.Error("a missing-data rule watches silence, whatever the other signals say; it takes no 'when'");
            }
        }

        var hold = NotNegative(n, "hold");
        var clearHold = NotNegative(n, "clear_hold");
        if (kind is RuleKind.Missing or RuleKind.Forecast && n.Optional("clear_hold") is { } ch)
        {
            throw ch.Error(kind == RuleKind.Missing
                ? "a missing-data rule resolves on the next good reading; it takes no 'clear_hold'"
                : "a forecast rule clears only after a whole window of forecasts says so; it takes no 'clear_hold'");
        }

        var severity = n.Required("severity").OneOf(Severities, "severity") switch
        {
            "info" => Severity.Info,
            "warning" => Severity.Warning,
            _ => Severity.Critical,
        };
        var message = composite is not null ? MessageTemplate.DefaultComposite(composite.All) : MessageTemplate.Default(kind, below is not null);
        if (n.Optional("message") is { } m)
        {
            m.AllowOnly("en", "vi");
            message = new LocalizedText(Template(m.Required("en")), Template(m.Required("vi")));
        }

        return new Rule(id, kind, field, severity, below, above, clear, hold, window, horizon, pilot, n.Optional("site")?.AsString(), n.Optional("device")?.AsString(), when, n.String("source"), message, clearHold, composite, drift)
        {
            Action = ParseAction(n, kind),
        };
    }

    private static TimeSpan NotNegative(ConfigNode n, string key)
    {
        var value = n.Optional(key)?.AsDuration() ?? TimeSpan.Zero;
        return value >= TimeSpan.Zero ? value : throw n.Required(key).Error($"{key} cannot be negative");
    }

    private static TimeSpan Positive(ConfigNode node, string key)
    {
        var value = node.AsDuration();
        return value > TimeSpan.Zero ? value : throw node.Error($"{key} must be longer than 0");
    }

    private static string Template(ConfigNode node)
    {
        var text = node.AsString();
        if (text.Trim().Length == 0)
        {
            throw node.Error("the message is empty");
        }

        return MessageTemplate.UnknownPlaceholder(text) is { } unknown
            ? throw node.Error($"unknown placeholder {{{unknown}}} (known: {string.Join(", ", MessageTemplate.Placeholders.Select(p => "{" + p + "}"))})")
            : text;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z0-9_*]+$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldPattern();
}
