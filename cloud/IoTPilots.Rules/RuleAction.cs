namespace IoTPilots.Rules;

/// <summary>How a rule's action is taken (issue 15, item 3).</summary>
public enum ActionMode
{
    /// <summary>Act, then notify: the cloud sends the command as the alert is raised.</summary>
    Auto,

    /// <summary>Notify with a one-tap link to the action; a logged-in operator's tap sends the command.</summary>
    Confirm,
}

/// <summary>
/// What a rule does besides telling people (issue 15): when its alert is raised, set <see cref="Point"/> of the
/// alert's device (or of <see cref="Device"/> on the same gateway) to <see cref="Value"/>, through a signed command the
/// gateway checks against its inventory, lock and pace. <see cref="Every"/> bounds actions per asset: a flapping alert
/// cannot toggle a relay. <see cref="Mode"/> says whether the cloud acts by itself or offers the action in the message.
/// </summary>
public sealed record RuleAction(string Point, double Value, string? Device, TimeSpan Every, ActionMode Mode = ActionMode.Auto)
{
    public static readonly TimeSpan DefaultEvery = TimeSpan.FromMinutes(10);
}
