namespace IoTPilots.Rules;

/// <summary>
/// What a rule does besides telling people (issue 15): when its alert is raised, set <see cref="Point"/> of the
/// alert's device (or of <see cref="Device"/> on the same gateway) to <see cref="Value"/>, through a signed command the
/// gateway checks against its inventory, lock and pace. <see cref="Every"/> bounds automatic actions per asset: a
/// flapping alert cannot toggle a relay. Only <c>mode: auto</c> (act, then notify) is built so far.
/// </summary>
public sealed record RuleAction(string Point, double Value, string? Device, TimeSpan Every)
{
    public static readonly TimeSpan DefaultEvery = TimeSpan.FromMinutes(10);
}
