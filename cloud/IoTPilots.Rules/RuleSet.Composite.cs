using IoTPilots.Config;
using IoTPilots.Contract;

namespace IoTPilots.Rules;

/// <summary>The parsers of composite rules and derived signals; same errors as the rest: file, line, field.</summary>
public static partial class RuleSet
{
    /// <summary>How old an input may be, by default, next to the reading that triggers a judgement: two minutes,
    /// the shipped DO missing-data limit, so a composite or derived signal never outlives the data it stands on.</summary>
    public static readonly TimeSpan DefaultMaxAge = TimeSpan.FromMinutes(2);

    private static Composite ParseComposite(ConfigNode n)
    {
        var all = n.Optional("all");
        var any = n.Optional("any");
        if ((all is null) == (any is null))
        {
            throw n.Error("a composite rule takes exactly one of 'all' or 'any', a list of conditions");
        }

        foreach (var key in new[] { "field", "below", "above", "clear", "hold", "window", "when" })
        {
            if (n.Optional(key) is { } extra)
            {
                throw extra.Error($"a composite rule takes no '{key}'; put it on each condition of its '{(all is not null ? "all" : "any")}' list");
            }
        }

        var perSite = (n.Optional("per")?.OneOf(["device", "site"], "scope") ?? "device") == "site";
        var maxAge = n.Optional("max_age") is { } m ? Positive(m, "max_age") : DefaultMaxAge;
        var list = (all ?? any)!;
        var parts = list.Items().Select(p => ParsePart(p, perSite)).ToList();
        if (parts.Count < 2)
        {
            throw list.Error("a composite needs at least two conditions; one is a threshold or rate rule");
        }

        return new Composite(all is not null, parts, maxAge, perSite);
    }

    private static Part ParsePart(ConfigNode p, bool perSite)
    {
        p.AllowOnly("field", "below", "above", "clear", "hold", "window", "device", "devices");
        var field = p.String("field");
        if (!FieldPattern().IsMatch(field) || field.Contains('*', StringComparison.Ordinal))
        {
            throw p.Required("field").Error($"'{field}' is not a field name (snake_case, no pattern)");
        }

        double? below = p.Optional("below")?.AsDouble();
        double? above = p.Optional("above")?.AsDouble();
        if ((below is null) == (above is null))
        {
            throw p.Error("give exactly one of 'below' or 'above'");
        }

        double? clear = p.Optional("clear")?.AsDouble();
        if (clear is { } c && (below is { } b ? c < b : c > above!.Value))
        {
            throw p.Required("clear").Error($"clear level {c} is on the wrong side of the limit {below ?? above}");
        }

        var hold = NotNegative(p, "hold");
        var window = TimeSpan.Zero;
        if (p.Optional("window") is { } w)
        {
            window = Positive(w, "window");
            if (window < TimeSpan.FromSeconds(30))
            {
                throw w.Error("a slope window under 30 s fits noise, not a trend");
            }
        }

        string? device = null;
        var allDevices = false;
        if (!perSite)
        {
            foreach (var key in new[] { "device", "devices" })
            {
                if (p.Optional(key) is { } extra)
                {
                    throw extra.Error($"'{key}' is for a composite judged per site ('per: site'); this one is judged per device");
                }
            }
        }
        else
        {
            device = p.Optional("device")?.AsString();
            allDevices = (p.Optional("devices")?.OneOf(["all", "any"], "device quantifier") ?? "any") == "all";
        }

        return new Part(field, below, above, clear, hold, window, device, allDevices);
    }

    private static DerivedSignal ParseDerived(ConfigNode n)
    {
        n.AllowOnly("name", "unit", "expr", "max_age", "pilot", "site", "device", "source");
        var name = n.String("name");
        if (!FieldPattern().IsMatch(name) || name.Contains('*', StringComparison.Ordinal))
        {
            throw n.Required("name").Error($"'{name}' is not a field name (snake_case, no pattern)");
        }

        var exprNode = n.Required("expr");
        Expression expression;
        try
        {
            expression = Expression.Parse(exprNode.AsString());
        }
        catch (FormatException ex)
        {
            throw exprNode.Error(ex.Message);
        }

        if (expression.Fields.Count == 0)
        {
            throw exprNode.Error("the expression reads no field; a constant is not a signal");
        }

        if (expression.Fields.All(f => f.Contains('@', StringComparison.Ordinal)))
        {
            throw exprNode.Error("the expression reads only sibling devices' fields; it is computed at the device's own reading times, so it needs one of its own");
        }

        if (expression.Fields.Contains(name))
        {
            throw exprNode.Error($"'{name}' cannot be computed from itself");
        }

        string? pilot = null;
        if (n.Optional("pilot") is { } p)
        {
            pilot = p.OneOf(Pilots.All.ToArray(), "pilot");
        }

        var maxAge = n.Optional("max_age") is { } m ? Positive(m, "max_age") : DefaultMaxAge;
        return new DerivedSignal(name, n.String("unit"), expression, maxAge, pilot, n.Optional("site")?.AsString(), n.Optional("device")?.AsString(), n.String("source"));
    }
}
