using IoTPilots.Cloud.Alerts;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Notifications;

/// <summary>
/// The alert store with notifications: each change of an alert and the notifications it causes are written in one
/// transaction, then the dispatcher is woken. Never waits for a channel, so a channel that is down cannot slow the
/// rules engine or the ingestion.
/// </summary>
public sealed class AlertNotifier(AlertStore store, NotificationPlanner planner, OutboxSignal signal)
{
    public AlertStore Store => store;

    public NotificationPlanner Planner => planner;

    public Alert? Apply(AlertEvent e)
    {
        var alert = store.Apply(e, planner.OnEvent);
        signal.Wake();
        return alert;
    }

    public Alert Acknowledge(long id, string by, string? note, DateTimeOffset at, string via)
    {
        var alert = store.Acknowledge(id, by, note, at, via, planner.OnAcknowledged);
        signal.Wake();
        return alert;
    }

    /// <summary>Tells those who heard of alert <paramref name="alertId"/> how its automatic action went (<see cref="NotificationPlanner.OnActionAnswered"/>).</summary>
    public void ActionAnswered(long alertId, string commandId, bool done, double? readBack)
    {
        if (store.Get(alertId) is not { } alert)
        {
            return;
        }

        store.Enqueue(planner.OnActionAnswered(alert, commandId, done, readBack));
        signal.Wake();
    }

    public Alert Shelve(long id, string by, string reason, DateTimeOffset until)
    {
        var alert = store.Shelve(id, by, reason, until, a => planner.OnShelved(a, until));
        signal.Wake();
        return alert;
    }

    /// <summary>After a restart: open alerts resume their escalation, and shelves still in force hold.</summary>
    public int Restore(DateTimeOffset now)
    {
        var open = store.Unresolved();
        foreach (var alert in open)
        {
            if (store.History(alert.Id) is { } history)
            {
                planner.Restore(alert, history);
            }

            if (store.ShelfOf(alert.Id) is { } shelf && shelf.Until > now)
            {
                planner.RestoreShelf(alert, shelf.Until);
            }
        }

        return open.Count;
    }
}

/// <summary>Wakes the dispatcher when the outbox has something new, so a notification leaves within milliseconds, not at the next poll.</summary>
public sealed class OutboxSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Wake()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken; one wake-up drains everything that is due.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
