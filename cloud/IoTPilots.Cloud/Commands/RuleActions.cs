using IoTPilots.Rules;

namespace IoTPilots.Cloud.Commands;

/// <summary>
/// At most one automatic action per asset (gateway, device, point) per its rule's <c>every</c>: the cloud's
/// interlock against a flapping alert toggling a relay. The gateway adds its own (the point's minimum interval, its
/// maximum run time, the site's manual lock, the read-back). Pure.
/// </summary>
public sealed class ActionPacer(TimeProvider time)
{
    private readonly Dictionary<(string Gateway, string Device, string Point), DateTimeOffset> _last = [];
    private readonly Lock _gate = new();

    /// <summary>True, and the asset's clock restarted, when no action on it was taken within <paramref name="every"/>.</summary>
    public bool TryTake(string gateway, string device, string point, TimeSpan every)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_last.TryGetValue((gateway, device, point), out var last) && now - last < every)
            {
                return false;
            }

            _last[(gateway, device, point)] = now;
            return true;
        }
    }
}

/// <summary>
/// Carries out rules' actions (rules README, "Actions"): when an alert of a rule with an <c>action</c> is raised,
/// plans the command for the alert's device (or the action's device on the same gateway), signs it, sends it and
/// records it against the alert, issued by <c>rule:ID</c>. Without commands configured (no <c>PILOTS_COMMAND_KEYS</c>)
/// it says so once per rule, and the alert still goes to people as ever.
/// </summary>
public sealed class RuleActions(IServiceProvider services, ActionPacer pacer, ILogger<RuleActions> logger)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);
    private readonly HashSet<string> _warned = [];

    public async Task RunAsync(Rule rule, AlertEvent raised, long alertId, CancellationToken cancellationToken)
    {
        if (rule.Action is not { } action)
        {
            return;
        }

        if (services.GetService<CommandPlanner>() is not { } planner || services.GetService<CommandService>() is not { } commands)
        {
            lock (_warned)
            {
                if (_warned.Add(rule.Id))
                {
                    logger.LogWarning("Rule {Rule} has an action, but commands are off here (no PILOTS_COMMAND_KEYS): alert {Alert} goes to people only", rule.Id, alertId);
                }
            }

            return;
        }

        var device = action.Device ?? raised.Series.Device;
        if (!pacer.TryTake(raised.Series.Gateway, device, action.Point, action.Every))
        {
            logger.LogWarning("Rule {Rule}: no action on {Gateway}/{Device}.{Point} for alert {Alert}: one was taken less than {Every} ago", rule.Id, raised.Series.Gateway, device, action.Point, alertId, action.Every);
            return;
        }

        var (command, error, _) = planner.Plan(new CommandRequest(raised.Series.Gateway, device, action.Point, action.Value, Lifetime), $"rule:{rule.Id}");
        if (command is null)
        {
            logger.LogError("Rule {Rule}: its action for alert {Alert} cannot be sent: {Error}", rule.Id, alertId, error);
            return;
        }

        var state = await commands.IssueAsync(command, cancellationToken, alertId).ConfigureAwait(false);
        logger.LogWarning("Alert {Alert}: rule {Rule} set {Gateway}/{Device}.{Point} = {Value} by itself (command {Id}: {State})", alertId, rule.Id, command.Gateway, device, action.Point, action.Value, command.Id, state);
    }
}
