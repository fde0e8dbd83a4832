using System.Threading.Channels;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>
/// Messages to InfluxDB, acknowledged only after their lines are stored. Pure pipeline logic over
/// <see cref="InboundMessage"/>, <see cref="IPointWriter"/> and <see cref="TimeProvider"/>:
/// <list type="bullet">
/// <item>Each message becomes line-protocol lines as it arrives (<see cref="AcceptAsync"/>); an invalid one becomes
/// one quarantine point, stored and acknowledged like any other (it can never be stored as telemetry).</item>
/// <item>Writes are group commits: whatever has arrived (up to <see cref="IngestionOptions.MaxBatchLines"/>) goes
/// out as soon as one of <see cref="IngestionOptions.Writers"/> writes is free, so at a trickle a message is
/// stored within one write's time, and under load the batches grow by themselves. No timer decides when to
/// write, so acknowledgements never wait on a clock.</item>
/// <item>Acknowledgements go out in arrival order (MQTT 5, 4.6: PUBACKs in the order the PUBLISHes came), a batch
/// only after every earlier batch is acknowledged.</item>
/// <item>InfluxDB unavailable: the batch is held and retried with backoff (honouring Retry-After), never
/// acknowledged; the queue then fills, <see cref="AcceptAsync"/> waits, and the broker keeps the rest.</item>
/// <item>Stopping: nothing that is not stored is acknowledged; the broker redelivers it to the next worker, and a
/// redelivered message overwrites its own points.</item>
/// </list>
/// </summary>
public sealed class IngestionPipeline
{
    private readonly IngestionOptions _options;
    private readonly IPointWriter _writer;
    private readonly IngestionStats _stats;
    private readonly DeviceRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<Pending> _queue;
    private readonly RejectLog _rejectLog;
    private long _lastQuarantineMs;

    public IngestionPipeline(IngestionOptions options, IPointWriter writer, IngestionStats stats, DeviceRegistry registry, TimeProvider time, ILogger logger)
    {
        _options = options;
        _writer = writer;
        _stats = stats;
        _registry = registry;
        _time = time;
        _logger = logger;
        _rejectLog = new RejectLog(time);
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(Math.Max(1, options.MaxInFlight)) { SingleWriter = true });
    }

    private sealed record Pending(List<string> Lines, InboundMessage Message);

    private sealed record Batch(List<Pending> Messages, Task Stored);

    /// <summary>Decodes one message and queues its lines; waits while the queue is full. Cancelled: not acknowledged.</summary>
    public async ValueTask AcceptAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        var lines = message.Topic.EndsWith("/gap", StringComparison.Ordinal) ? GapLines(message.Topic, message.Payload) : TelemetryLines(message.Topic, message.Payload);
        try
        {
            await _queue.Writer.WriteAsync(new Pending(lines, message), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: not acknowledged, so the broker redelivers it to the next worker.
            _stats.Dropped(lines.Count);
        }
    }

    /// <summary>Writes and acknowledges until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var writes = new Queue<Batch>();
        var writers = Math.Max(1, _options.Writers);
        try
        {
            while (true)
            {
                // Acknowledge, in order, every batch at the head that is stored.
                while (writes.TryPeek(out var head) && head.Stored.IsCompleted)
                {
                    await AckAsync(writes.Dequeue(), cancellationToken).ConfigureAwait(false);
                }

                if (writes.Count >= writers)
                {
                    await writes.Peek().Stored.ConfigureAwait(false);
                    continue;
                }

                var batch = Take();
                if (batch.Count > 0)
                {
                    var lines = batch.Sum(p => p.Lines.Count);
                    writes.Enqueue(new Batch(batch, WriteUntilStoredAsync(batch, lines, cancellationToken)));
                    continue;
                }

                // Nothing queued: wait for a message or for the oldest write, whichever comes first.
                var arrived = _queue.Reader.WaitToReadAsync(cancellationToken).AsTask();
                if (writes.TryPeek(out var oldest))
                {
                    await Task.WhenAny(arrived, oldest.Stored).ConfigureAwait(false);
                }
                else if (!await arrived.ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: whatever is not stored is not acknowledged.
        }
    }

    private List<Pending> Take()
    {
        var batch = new List<Pending>();
        var lines = 0;
        while (lines < _options.MaxBatchLines && _queue.Reader.TryRead(out var item))
        {
            batch.Add(item);
            lines += item.Lines.Count;
        }

        return batch;
    }

    private async Task AckAsync(Batch batch, CancellationToken cancellationToken)
    {
        await batch.Stored.ConfigureAwait(false);
        foreach (var p in batch.Messages)
        {
            await p.Message.AckAsync(cancellationToken).ConfigureAwait(false);
        }

        _stats.Stored(batch.Messages.Count);
    }

    private List<string> TelemetryLines(string topic, ReadOnlyMemory<byte> payload)
    {
        var result = payload.Length > TelemetryMessage.MaxBytes
            ? DecodeResult.Fail(RejectReason.Oversized, $"payload is {payload.Length} bytes; the limit is {TelemetryMessage.MaxBytes}")
            : TelemetryCodec.Decode(payload.Span, topic, _time.GetUtcNow());
        if (result.Ok && !_registry.IsKnown(result.Message!.Gateway, result.Message.Device))
        {
            result = DecodeResult.Fail(RejectReason.UnknownDevice, $"device {result.Message.Device} of gateway {result.Message.Gateway} is not in the device registry {_registry.Source}");
        }

        if (!result.Ok)
        {
            return Quarantine(result.Reason, topic, result.Error, payload.Length);
        }

        var message = result.Message!;
        var lines = LineProtocol.FromMessage(message);
        lines.Add(LineProtocol.Ledger(message.Gateway, message.Epoch, message.Seq, "telemetry"));
        _stats.Received(message.Readings.Count, lines.Count);
        return lines;
    }

    private List<string> GapLines(string topic, ReadOnlyMemory<byte> payload)
    {
        var gap = payload.Length > TelemetryMessage.MaxBytes ? null : GapReport.TryDecode(payload.Span, out var error);
        if (gap is null || !Identifiers.IsValid(gap.Gateway) || !Identifiers.IsValid(gap.Site) || topic != GapReport.Topic(gap.Site, gap.Gateway))
        {
            return Quarantine(RejectReason.InvalidField, topic, gap is null ? "malformed or oversized gap report" : "gap report does not match its topic", payload.Length);
        }

        _logger.LogWarning("Gateway {Gateway} reports it dropped {Messages} message(s) ({Readings} readings) from {From:O} to {To:O}: {Reason}", gap.Gateway, gap.Messages, gap.Readings, gap.From, gap.To, gap.Reason);
        var lines = new List<string> { LineProtocol.Gap(gap), LineProtocol.Ledger(gap.Gateway, gap.Epoch, gap.Seq, "gap") };
        _stats.Received(0, lines.Count);
        return lines;
    }

    /// <summary>A refused message becomes one quarantine point (reason, topic, error) and is counted; its content is never stored.</summary>
    private List<string> Quarantine(RejectReason reason, string topic, string error, long bytes)
    {
        _stats.Reject(reason);
        if (_rejectLog.ShouldLog(reason))
        {
            _logger.LogWarning("Rejected message on {Topic}: {Reason}: {Error}", topic, reason, error);
        }

        // Distinct timestamps, so a burst of rejects within one millisecond is not collapsed into one point.
        var ts = Math.Max(_time.GetUtcNow().ToUnixTimeMilliseconds(), _lastQuarantineMs + 1);
        _lastQuarantineMs = ts;
        var line = LineProtocol.Quarantine(reason, topic, error, (int)Math.Min(bytes, int.MaxValue), ts);
        _stats.Received(0, 1);
        return [line];
    }

    private async Task WriteUntilStoredAsync(List<Pending> batch, int lineCount, CancellationToken cancellationToken)
    {
        // Off the loop's thread: the caller goes on filling the next batch while this one is written.
        await Task.Yield();
        var lines = new List<string>(lineCount);
        foreach (var p in batch)
        {
            lines.AddRange(p.Lines);
        }

        var backoff = TimeSpan.FromMilliseconds(250);
        var attempt = 0;
        while (true)
        {
            try
            {
                await _writer.WriteAsync(lines, cancellationToken).ConfigureAwait(false);
                _stats.Written(lines.Count);
                if (attempt > 0)
                {
                    _logger.LogInformation("InfluxDB write succeeded after {Attempts} attempts", attempt + 1);
                }

                return;
            }
            catch (InfluxRejectedException ex)
            {
                // Retrying cannot help; acknowledging is the only way forward. Log loudly with the cause.
                _stats.WriteError();
                _stats.Dropped(lines.Count);
                _logger.LogError("{Error}", ex.Message);
                return;
            }
            catch (InfluxUnavailableException ex)
            {
                _stats.WriteError();
                attempt++;
                var delay = ex.RetryAfter is { } ra && ra > TimeSpan.Zero ? ra : backoff;
                if (attempt == 1 || attempt % 10 == 0)
                {
                    _logger.LogWarning("{Error}; {Lines} lines held, attempt {Attempt}, next in {Delay:0.0} s", ex.Message, lines.Count, attempt, delay.TotalSeconds);
                }

                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    /// <summary>Logs the first few rejects of each reason per minute, so a flood of garbage cannot flood the log.</summary>
    private sealed class RejectLog(TimeProvider time)
    {
        private readonly Dictionary<RejectReason, (DateTimeOffset Window, int Count)> _seen = [];

        public bool ShouldLog(RejectReason reason)
        {
            var now = time.GetUtcNow();
            var (window, count) = _seen.GetValueOrDefault(reason);
            if (now - window > TimeSpan.FromMinutes(1))
            {
                (window, count) = (now, 0);
            }

            _seen[reason] = (window, count + 1);
            return count < 5;
        }
    }
}
