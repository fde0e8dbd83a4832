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

/// <summary>How a tap on a confirm link went (<see cref="RuleActions.ConfirmAsync"/>).</summary>
public enum ConfirmStatus
{
    /// <summary>The command went to the gateway (<see cref="ConfirmOutcome.Record"/>); its answer may follow.</summary>
    Sent,

    /// <summary>This cloud issues no commands (no <c>PILOTS_COMMAND_KEYS</c>).</summary>
    CommandsOff,

    /// <summary>An action was taken for this alert already (<see cref="ConfirmOutcome.Record"/>): a link works once.</summary>
    Taken,

    /// <summary>An action on this asset was taken less than the rule's <c>every</c> ago.</summary>
    Paced,

    /// <summary>The cloud's planner refused it (not writable, out of range, no key...): the reason says which.</summary>
    Refused,

    /// <summary>The broker did not take the command: nothing was sent, and the link still works.</summary>
    NotSent,
}

public sealed record ConfirmOutcome(ConfirmStatus Status, string? Reason = null, CommandRecord? Record = null);

/// <summary>
/// Carries out rules' actions (rules README, "Actions"). <c>mode: auto</c>: when an alert of a rule with an
/// <c>action</c> is raised, plans the command for the alert's device (or the action's device on the same gateway),
/// signs it, sends it and records it against the alert, issued by <c>rule:ID</c>. <c>mode: confirm</c>: nothing is
/// sent on the raise; the message carries a signed link (<see cref="Notifications.ConfirmOffers"/>), and an operator's
/// tap sends the same command through <see cref="ConfirmAsync"/>, issued by that operator. Without commands configured
/// (no <c>PILOTS_COMMAND_KEYS</c>) it says so once per rule, and the alert still goes to people as ever.
/// </summary>
public sealed class RuleActions(IServiceProvider services, ActionPacer pacer, ILogger<RuleActions> logger)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan AnswerPoll = TimeSpan.FromMilliseconds(200);
    private readonly HashSet<string> _warned = [];

    // One tap at a time: two people tapping the same link at once must not both pass the "taken" check.
    private readonly SemaphoreSlim _confirming = new(1, 1);

    /// <summary>Whether this cloud can issue commands (<c>PILOTS_COMMAND_KEYS</c> and a device registry).</summary>
    public bool CommandsOn => services.GetService<CommandPlanner>() is not null && services.GetService<CommandService>() is not null;

    /// <summary>
    /// Whether an action was taken for <paramref name="alertId"/>: a command recorded against it that reached the
    /// broker for its gateway. One the broker did not take (<c>not-sent</c>) or had no subscriber for
    /// (<c>undelivered</c>) never reached the gateway, so the link may be tapped again.
    /// </summary>
    public bool Taken(long alertId) => TakenFor(alertId) is not null;

    public async Task RunAsync(Rule rule, AlertEvent raised, long alertId, CancellationToken cancellationToken)
    {
        if (rule.Action is not { } action)
        {
            return;
        }

        if (!CommandsOn)
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
        if (action.Mode == ActionMode.Confirm)
        {
            logger.LogInformation("Alert {Alert}: rule {Rule} offers {Gateway}/{Device}.{Point} = {Value} in its notifications; nothing is sent until an operator confirms", alertId, rule.Id, raised.Series.Gateway, device, action.Point, action.Value);
            return;
        }

        if (!pacer.TryTake(raised.Series.Gateway, device, action.Point, action.Every))
        {
            logger.LogWarning("Rule {Rule}: no action on {Gateway}/{Device}.{Point} for alert {Alert}: one was taken less than {Every} ago", rule.Id, raised.Series.Gateway, device, action.Point, alertId, action.Every);
            return;
        }

        var planner = services.GetRequiredService<CommandPlanner>();
        var (command, error, _) = planner.Plan(new CommandRequest(raised.Series.Gateway, device, action.Point, action.Value, Lifetime), $"rule:{rule.Id}");
        if (command is null)
        {
            logger.LogError("Rule {Rule}: its action for alert {Alert} cannot be sent: {Error}", rule.Id, alertId, error);
            return;
        }

        var state = await services.GetRequiredService<CommandService>().IssueAsync(command, cancellationToken, alertId).ConfigureAwait(false);
        logger.LogWarning("Alert {Alert}: rule {Rule} set {Gateway}/{Device}.{Point} = {Value} by itself (command {Id}: {State})", alertId, rule.Id, command.Gateway, device, action.Point, action.Value, command.Id, state);

        // Act, then notify (issue 15): those told of the alert hear whether the action worked, once the gateway has
        // answered or the command has expired unanswered. A command the broker did not take is a failure too.
        var answer = await AnswerAsync(command.Id, Lifetime + AnswerPoll, cancellationToken).ConfigureAwait(false);
        services.GetService<Notifications.AlertNotifier>()?.ActionAnswered(alertId, command.Id, answer is { State: "done" }, answer?.ReadBack);
    }

    /// <summary>
    /// An operator confirmed a rule's action for an open alert: sends it (on the alert's gateway, recorded against the
    /// alert, issued by <paramref name="user"/>) unless commands are off, an action was taken for the alert already,
    /// one was taken on the asset within <paramref name="every"/>, or the planner refuses it. The caller has checked
    /// the link, the alert and the operator.
    /// </summary>
    public async Task<ConfirmOutcome> ConfirmAsync(Alert alert, Notifications.ConfirmTarget target, TimeSpan every, string user, CancellationToken cancellationToken)
    {
        if (!CommandsOn)
        {
            return new ConfirmOutcome(ConfirmStatus.CommandsOff, "commands are off on this cloud (no PILOTS_COMMAND_KEYS)");
        }

        await _confirming.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (TakenFor(alert.Id) is { } taken)
            {
                return new ConfirmOutcome(ConfirmStatus.Taken, $"{taken.IssuedBy} at {taken.IssuedAt:u}: {taken.State}", taken);
            }

            var (command, error, _) = services.GetRequiredService<CommandPlanner>().Plan(new CommandRequest(alert.Series.Gateway, target.Device, target.Point, target.Value, Lifetime), user);
            if (command is null)
            {
                return new ConfirmOutcome(ConfirmStatus.Refused, error);
            }

            if (!pacer.TryTake(alert.Series.Gateway, target.Device, target.Point, every))
            {
                return new ConfirmOutcome(ConfirmStatus.Paced, $"an action on {target.Device}.{target.Point} was taken less than {every.TotalMinutes:0} min ago");
            }

            var state = await services.GetRequiredService<CommandService>().IssueAsync(command, cancellationToken, alert.Id).ConfigureAwait(false);
            logger.LogWarning("Alert {Alert}: {User} confirmed {Gateway}/{Device}.{Point} = {Value} (command {Id}: {State})", alert.Id, user, command.Gateway, target.Device, target.Point, target.Value, command.Id, state);
            var record = services.GetRequiredService<CommandStore>().Get(command.Id);
            return state == CommandStates.NotSent
                ? new ConfirmOutcome(ConfirmStatus.NotSent, "the broker did not take the command; nothing was sent", record)
                : new ConfirmOutcome(ConfirmStatus.Sent, null, record);
        }
        finally
        {
            _confirming.Release();
        }
    }

    /// <summary>The command's record once the gateway has answered, or as it stands after <paramref name="bound"/>.</summary>
    public async Task<CommandRecord?> AnswerAsync(string commandId, TimeSpan bound, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<CommandStore>();
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            var record = store.Get(commandId);
            if (record is null or { AnsweredAt: not null } || DateTime.UtcNow >= deadline)
            {
                return record;
            }

            // Polls the record the result subscription writes: the answer arrives on another connection.
            await Task.Delay(AnswerPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    private CommandRecord? TakenFor(long alertId) =>
        services.GetService<CommandStore>()?.ForAlert(alertId).FirstOrDefault(r => r.State is not (CommandStates.NotSent or CommandStates.Undelivered));
}
