using IoTPilots.Cloud.Alerts;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Notifications;

/// <summary>What a confirm link asks for: set <see cref="Point"/> of <see cref="Device"/> (on the alert's gateway) to <see cref="Value"/>, for alert <see cref="AlertId"/>.</summary>
public sealed record ConfirmTarget(long AlertId, string Device, string Point, double Value);

/// <summary>A one-tap action in a message: its text in both languages and its signed link.</summary>
public sealed record ConfirmOffer(LocalizedText Label, Uri Link);

/// <summary>
/// Decides whether a message carries a one-tap action (a rule's <c>mode: confirm</c>, rules README "Actions"), and
/// makes its signed link. Only where the tap can work: a message that asks people to act (raised, escalated, a
/// reminder; not a flapping notice, whose alert opens and clears by itself), an alert still open, a rule whose action
/// is confirm-mode, links on (<c>PILOTS_PUBLIC_URL</c>, <c>PILOTS_LINK_SECRET</c>), commands on
/// (<c>PILOTS_COMMAND_KEYS</c>), and no action taken for the alert yet (a reminder after someone tapped carries none).
/// Pure: what it needs to know comes in as functions.
/// </summary>
/// <param name="actionOf">The action of a rule in force, by rule id; null for none.</param>
/// <param name="commandsOn">Whether this cloud can issue commands.</param>
/// <param name="taken">Whether an action was already taken for an alert.</param>
public sealed class ConfirmOffers(NotificationLinks links, Func<string, RuleAction?> actionOf, Func<bool> commandsOn, Func<long, bool> taken)
{
    /// <summary>The action of a rule in force; null when the rule has none or this process does not run the rules.</summary>
    public RuleAction? ActionOf(string ruleId) => actionOf(ruleId);

    /// <summary>What a rule's action for <paramref name="alert"/> does, in both languages ("Bật máy sục khí dự phòng (tank-03)"); null without one.</summary>
    public LocalizedText? ActionLabel(Alert alert) =>
        actionOf(alert.RuleId) is { } action ? RuleActionText.Label(action, action.Device ?? alert.Series.Device) : null;

    public ConfirmOffer? For(Alert alert, OutboxItem item)
    {
        if (!links.Enabled
            || item.State is not (NoticeStates.Raised or NoticeStates.Escalated or NoticeStates.Reminder)
            || alert.ResolvedAt is not null
            || actionOf(alert.RuleId) is not { Mode: ActionMode.Confirm } action
            || !commandsOn()
            || taken(alert.Id))
        {
            return null;
        }

        var device = action.Device ?? alert.Series.Device;
        var link = links.ForAction(new ConfirmTarget(alert.Id, device, action.Point, action.Value));
        return link is null ? null : new ConfirmOffer(RuleActionText.Label(action, device), link);
    }
}
