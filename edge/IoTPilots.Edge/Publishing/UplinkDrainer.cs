using System.Collections.Concurrent;
using IoTPilots.Contract;
using IoTPilots.Edge.Queue;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Publishing;

/// <summary>
/// Drains the store-and-forward queue through an <see cref="IUplink"/>, pipelined: up to
/// <see cref="DrainerOptions.Window"/> records are in flight at once, so a 200 ms round trip costs latency, not
/// throughput (one record at a time would cap a gateway at 5 messages/s). Each record leaves the queue only when
/// its own acknowledgement arrives, in whatever order they come.
/// <list type="bullet">
/// <item>Two lanes: live records (appended since the last connect) go first, always; the backlog of an outage goes
/// alongside through a token bucket of <see cref="DrainerOptions.BackfillRate"/> per second, so it never starves
/// live data.</item>
/// <item>A new connection means nothing in flight was delivered: the lanes start again from the queue, which still
/// holds every unacknowledged record (a late acknowledgement from the old connection still counts).</item>
/// <item>"No subscriber" (the broker would throw the record away) holds the queue: the record stays, and after a
/// pause one record at a time probes until the cloud is back, as the one-at-a-time publisher did.</item>
/// <item>On a clean stop, what is queued goes out for <see cref="DrainerOptions.FinalDrainTime"/>; the rest waits on disk.</item>
/// </list>
/// Single-threaded: one loop owns all state; publishes complete on other threads and only post their outcome.
/// </summary>
public sealed class UplinkDrainer(
    IDrainQueue queue,
    IUplink uplink,
    DrainerOptions options,
    Func<string, byte[]> status,
    EdgeMetrics metrics,
    TimeProvider time,
    ILogger logger)
{
    private readonly Dictionary<long, long> _inFlight = []; // seq -> the connection it went out on
    private readonly ConcurrentQueue<Completion> _done = new();
    private readonly CancellationTokenSource _abandon = new();
    private TaskCompletionSource _wake = NewWake();
    private long _connection = -1;
    private long _liveStart = long.MaxValue;
    private long _liveCursor;
    private long _backlogCursor;
    private double _tokens;
    private DateTimeOffset _lastRefill;
    private DateTimeOffset _resumeAt = DateTimeOffset.MinValue;
    private bool _holding;
    private bool _final;
    private bool _stopSending;
    private volatile bool _asleep;

    /// <summary>Records acknowledged so far.</summary>
    public long Acked { get; private set; }

    /// <summary>Publishes awaiting their acknowledgement (read from another thread, for tests and benches).</summary>
    internal int InFlight => _inFlight.Count;

    /// <summary>True while the loop sleeps with its wake-up timer set: a test may move a fake clock now.</summary>
    internal bool Asleep => _asleep;

    /// <summary>Drains until <paramref name="stoppingToken"/> fires, then sends what it can for a few seconds, saves the acks and says offline.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        // A new connection wakes the loop even when nothing else would: answers owed on the old one may never come.
        uplink.Connected += Wake;
        try
        {
            await DrainAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await FinalDrainAsync().ConfigureAwait(false);
            queue.SaveAcks();
            if (uplink.IsConnected)
            {
                await uplink.PublishStatusAsync(status(GatewayStatus.Offline), CancellationToken.None).ConfigureAwait(false);
            }

            uplink.Connected -= Wake;
            _abandon.Dispose();
        }
    }

    private void Wake(object? sender, EventArgs e) => Volatile.Read(ref _wake).TrySetResult();

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        _lastRefill = time.GetUtcNow();
        var lastSave = _lastRefill;
        var lastStatus = _lastRefill;
        var statusSent = Task.CompletedTask;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Volatile.Write(ref _wake, NewWake());
            var now = time.GetUtcNow();
            TakeCompletions(now);
            if (!uplink.IsConnected)
            {
                await uplink.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
                if (!uplink.IsConnected)
                {
                    // The link just dropped and the uplink has not yet noticed: do not spin until it does.
                    await Task.Delay(options.RetryPause, time, cancellationToken).ConfigureAwait(false);
                }

                continue;
            }

            if (uplink.Connection != _connection)
            {
                await OnConnectedAsync(cancellationToken).ConfigureAwait(false);
                lastStatus = now;
                continue;
            }

            Refill(now);
            if (now - lastSave >= options.SaveInterval)
            {
                queue.SaveAcks();
                lastSave = now;
            }

            if (now - lastStatus >= options.StatusInterval && statusSent.IsCompleted)
            {
                // Not awaited: the window keeps moving while the status makes its round trip.
                statusSent = uplink.PublishStatusAsync(status(GatewayStatus.Online), cancellationToken);
                lastStatus = now;
            }

            Fill(now);
            await WaitAsync(NextWake(now), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task OnConnectedAsync(CancellationToken cancellationToken)
    {
        // What was appended until now is backlog; the live lane starts after it. Whatever was in flight on the
        // old connection is unsent: it is still in the queue, and the lanes find it again from the start.
        _connection = uplink.Connection;
        _inFlight.Clear();
        _liveStart = queue.LastSeq + 1;
        _liveCursor = _liveStart;
        _backlogCursor = 0;
        _resumeAt = DateTimeOffset.MinValue;
        var backlog = queue.Count;
        if (backlog > 0)
        {
            logger.LogInformation("Uplink up: {Backlog} queued message(s) to backfill at up to {Rate}/s alongside live data", backlog, options.BackfillRate);
        }

        await uplink.PublishStatusAsync(status(GatewayStatus.Online), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The configured window, or less if the broker accepts fewer unacknowledged publishes.</summary>
    private int Window => Math.Min(options.Window, uplink.MaxInFlight);

    private void Refill(DateTimeOffset now)
    {
        _tokens = Math.Min(options.BackfillRate, _tokens + ((now - _lastRefill).TotalSeconds * options.BackfillRate));
        _lastRefill = now;
    }

    /// <summary>Tops the window up: live records first, then backlog records while the bucket has tokens.</summary>
    private void Fill(DateTimeOffset now)
    {
        if (now < _resumeAt || _stopSending)
        {
            return;
        }

        var window = _holding ? 1 : Window;
        while (_inFlight.Count < window)
        {
            if (Next(ref _liveCursor, long.MaxValue) is { } live)
            {
                Send(live);
            }
            else if (_tokens >= 1 && Next(ref _backlogCursor, _liveStart) is { } old)
            {
                _tokens--;
                Send(old);
            }
            else
            {
                return;
            }
        }
    }

    /// <summary>The next unacknowledged record at or after the cursor that is not already in flight; moves the cursor past it.</summary>
    private long? Next(ref long cursor, long toExclusive)
    {
        while (queue.FirstUnacked(cursor, toExclusive) is { } seq)
        {
            cursor = seq + 1;
            if (!_inFlight.ContainsKey(seq))
            {
                return seq;
            }
        }

        return null;
    }

    private void Send(long seq)
    {
        if (queue.Read(seq) is not { } record)
        {
            return;
        }

        _inFlight[seq] = _connection;
        _ = PublishAsync(record, _connection);
    }

    private async Task PublishAsync(QueuedRecord record, long connection)
    {
        PublishOutcome outcome;
        try
        {
            outcome = await uplink.PublishAsync(record.Topic, record.Payload, _abandon.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Abandoned at the end of a stop, or an adapter that broke its contract: either way the record stays queued.
            logger.LogDebug("Publish of {Seq} ended without an answer ({Error}); it stays queued", record.Seq, ex.Message);
            outcome = PublishOutcome.Failed;
        }

        _done.Enqueue(new Completion(record.Seq, record.Topic, connection, outcome));
        Wake(this, EventArgs.Empty);
    }

    private void TakeCompletions(DateTimeOffset now)
    {
        while (_done.TryDequeue(out var done))
        {
            var current = _inFlight.TryGetValue(done.Seq, out var connection) && connection == done.Connection && done.Connection == _connection;
            if (current)
            {
                _inFlight.Remove(done.Seq);
            }

            if (done.Outcome == PublishOutcome.Acked)
            {
                // Acknowledged, even on a connection since lost: the broker has it.
                queue.Ack(done.Seq);
                metrics.Published.Add(1);
                Acked++;
                if (_holding)
                {
                    logger.LogInformation("Broker has a subscriber again; sending the queue");
                    _holding = false;
                }

                continue;
            }

            if (!current)
            {
                continue;
            }

            Rewind(done.Seq);
            _stopSending |= _final;
            if (done.Outcome == PublishOutcome.NoSubscriber)
            {
                // The broker took it but nobody subscribes (the cloud is not connected, or a restarted broker has
                // not got its subscriptions back yet): it was thrown away, so it stays queued and the queue holds.
                if (!_holding)
                {
                    logger.LogWarning("Broker has no subscriber for {Topic}; holding the queue until the cloud is back", done.Topic);
                    _holding = true;
                }

                _resumeAt = now + options.HoldPause;
            }
            else if (_resumeAt < now + options.RetryPause)
            {
                _resumeAt = now + options.RetryPause;
            }
        }
    }

    /// <summary>Puts a record that was not delivered back in its lane (and its token back in the bucket).</summary>
    private void Rewind(long seq)
    {
        if (seq >= _liveStart)
        {
            _liveCursor = Math.Min(_liveCursor, seq);
            return;
        }

        _backlogCursor = Math.Min(_backlogCursor, seq);
        _tokens = Math.Min(options.BackfillRate, _tokens + 1);
    }

    /// <summary>How long to sleep when nothing completes and nothing is appended: until the pause ends or the next token.</summary>
    private TimeSpan NextWake(DateTimeOffset now)
    {
        var wait = TimeSpan.FromSeconds(1);
        if (_resumeAt > now)
        {
            return _resumeAt - now < wait ? _resumeAt - now : wait;
        }

        if (_inFlight.Count < Window && _tokens < 1 && queue.FirstUnacked(_backlogCursor, _liveStart) is not null)
        {
            var token = TimeSpan.FromSeconds((1 - _tokens) / options.BackfillRate);
            return token < wait ? token : wait;
        }

        return wait;
    }

    private async Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var woken = Task.WhenAny(
            Volatile.Read(ref _wake).Task,
            queue.WaitForAppendAsync(Timeout.InfiniteTimeSpan, stop.Token),
            Task.Delay(wait, time, stop.Token));
        _asleep = true;
        await woken.ConfigureAwait(false);
        _asleep = false;
        await stop.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task FinalDrainAsync()
    {
        var before = Acked;
        if (uplink.IsConnected && uplink.Connection == _connection)
        {
            // Every unsent record is "live" now, in order and without the backfill limit; the first refusal ends it.
            _final = true;
            _holding = false;
            _liveStart = 0;
            _liveCursor = 0;
            var deadline = time.GetUtcNow() + options.FinalDrainTime;
            while (true)
            {
                Volatile.Write(ref _wake, NewWake());
                var now = time.GetUtcNow();
                TakeCompletions(now);
                if (now >= deadline || !uplink.IsConnected || uplink.Connection != _connection)
                {
                    break;
                }

                Fill(now);
                if (_inFlight.Count == 0)
                {
                    break;
                }

                await WaitAsync(deadline - now, CancellationToken.None).ConfigureAwait(false);
            }
        }

        await _abandon.CancelAsync().ConfigureAwait(false);
        logger.LogInformation("Stopping: sent {Sent} queued message(s); {Left} stay on disk for the next start", Acked - before, queue.Count);
    }

    private static TaskCompletionSource NewWake() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly record struct Completion(long Seq, string Topic, long Connection, PublishOutcome Outcome);
}
