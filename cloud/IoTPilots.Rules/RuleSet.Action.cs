using IoTPilots.Config;
using IoTPilots.Contract;

namespace IoTPilots.Rules;

public static partial class RuleSet
{
    /// <summary>A rule's <c>action</c>, or null; every mistake names file, line and field.</summary>
    private static RuleAction? ParseAction(ConfigNode rule, RuleKind kind)
    {
        if (rule.Optional("action") is not { } a)
        {
            return null;
        }

        a.AllowOnly("point", "value", "device", "mode", "every");
        if (kind is RuleKind.Missing)
        {
            throw a.Error("a missing-data rule's device is silent: a command to it could not be checked or confirmed");
        }

        var point = a.String("point");
        if (!Identifiers.IsValidField(point))
        {
            throw a.Required("point").Error($"'{point}' is not a field name: {Identifiers.FieldRule}");
        }

        var device = a.Optional("device")?.AsString();
        if (device is not null && !Identifiers.IsValid(device))
        {
            throw a.Required("device").Error($"'{device}' is not a device id: {Identifiers.Rule}");
        }

        // auto: act, then notify; confirm: notify with a one-tap link, act when an operator taps it.
        var mode = a.Optional("mode")?.OneOf(["auto", "confirm"], "mode") == "confirm" ? ActionMode.Confirm : ActionMode.Auto;

        var every = a.Duration("every", RuleAction.DefaultEvery);
        if (every < TimeSpan.FromMinutes(1))
        {
            throw a.Required("every").Error("every: at least 1m between actions on one asset");
        }

        return new RuleAction(point, a.Required("value").AsDouble(), device, every, mode);
    }
}
