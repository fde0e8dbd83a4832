using IoTPilots.Cloud.Alerts;

namespace IoTPilots.Cloud.Notifications;

/// <summary>
/// Sends what the outbox holds, one lane per channel so a channel that is down (timeouts, 5xx) delays only its
/// own messages. Each row is claimed (marked sending, attempt counted) before it is sent and its outcome recorded
/// after: sent; retried with exponential backoff; or failed for good with the reason (a 4xx, or too many attempts).
/// Also ticks the planner for escalations, reminders and the end of quiet hours and shelves.
/// </summary>
public sealed class NotificationDispatcher(
    AlertNotifier notifier,
    IEnumerable<INotificationChannel> channels,
    OutboxSignal signal,
    Backoff backoff,
    TimeProvider time,
    ILogger<NotificationDispatcher> logger) : BackgroundService
{
    private const int Batch = 32;
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, INotificationChannel> _channels = channels.ToDictionary(c => c.Name);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var open = notifier.Restore(time.GetUtcNow());
        logger.LogInformation("Notifications: channels {Channels}; {Open} open alert(s) resumed", string.Join(", ", _channels.Keys), open);
        var lanes = _channels.Keys.Select(c => new Lane(this, c)).ToList();
        var running = lanes.Select(l => l.RunAsync(stoppingToken)).ToList();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // The lanes first: a new alert's rows are already in the outbox, and the tick's SQLite work below
                // delayed them by its length (./run bench alert-latency); then again for what the tick enqueued.
                WakeAll(lanes);
                notifier.Store.Enqueue(notifier.Planner.Tick());
                FailUnconfigured();
                WakeAll(lanes);

                await signal.WaitAsync(Poll, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private static void WakeAll(List<Lane> lanes)
    {
        foreach (var lane in lanes)
        {
            lane.Wake();
        }
    }

    /// <summary>Sends every row of <paramref name="channel"/> that is due now; returns how many were attempted. Rows of a channel nobody configured fail with that reason.</summary>
    public async Task<int> SendDueAsync(string channel, CancellationToken cancellationToken)
    {
        var store = notifier.Store;
        var items = store.ClaimDue(channel, time.GetUtcNow(), Batch);
        await Task.WhenAll(items.Select(item => SendOneAsync(item, cancellationToken))).ConfigureAwait(false);
        return items.Count;
    }

    /// <summary>Rows of channels that are not configured (a contact's e-mail with no SMTP server): failed, with the reason.</summary>
    public int FailUnconfigured()
    {
        var failed = 0;
        foreach (var channel in Channels.All.Where(c => !_channels.ContainsKey(c)))
        {
            foreach (var item in notifier.Store.ClaimDue(channel, time.GetUtcNow(), 1000))
            {
                notifier.Store.MarkFailed(item.Id, $"channel {channel} is not configured (see the notifications file's 'channels')", time.GetUtcNow());
                failed++;
            }
        }

        return failed;
    }

    private async Task SendOneAsync(OutboxItem item, CancellationToken cancellationToken)
    {
        var store = notifier.Store;
        SendResult result;
        if (store.Get(item.AlertId) is not { } alert)
        {
            result = new SendResult(SendStatus.Failed, $"alert {item.AlertId} no longer exists");
        }
        else
        {
            try
            {
                result = await _channels[item.Channel].SendAsync(item, alert, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or System.Net.Sockets.SocketException
                                           or MailKit.ServiceNotConnectedException or MailKit.Net.Smtp.SmtpCommandException or MailKit.Net.Smtp.SmtpProtocolException
                                       && !cancellationToken.IsCancellationRequested)
            {
                result = new SendResult(SendStatus.Retry, ex.Message);
            }
        }

        var now = time.GetUtcNow();
        switch (result.Status)
        {
            case SendStatus.Sent:
                store.MarkSent(item.Id, now);
                break;
            case SendStatus.Retry when backoff.After(item.Attempts) is { } wait:
                store.MarkRetry(item.Id, result.Error ?? "unknown error", now + wait);
                logger.LogWarning("Notification {Id} ({Channel} to {Contact}) attempt {Attempt} failed, next in {Wait}: {Error}", item.Id, item.Channel, item.Contact, item.Attempts, wait, result.Error);
                break;
            default:
                store.MarkFailed(item.Id, result.Error ?? "unknown error", now);
                logger.LogError("Notification {Id} ({Channel} to {Contact}) failed after {Attempts} attempt(s): {Error}", item.Id, item.Channel, item.Contact, item.Attempts, result.Error);
                break;
        }
    }

    private sealed class Lane(NotificationDispatcher owner, string channel)
    {
        private readonly OutboxSignal _signal = new();

        public void Wake() => _signal.Wake();

        public async Task RunAsync(CancellationToken stoppingToken)
        {
            try
            {
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (await owner.SendDueAsync(channel, stoppingToken).ConfigureAwait(false) < Batch)
                    {
                        await _signal.WaitAsync(Poll, stoppingToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }
    }
}
