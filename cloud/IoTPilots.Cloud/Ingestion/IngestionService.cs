using System.Buffers;
using System.Threading.Channels;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;
using IoTPilots.Mqtt;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>
/// MQTT to InfluxDB. Each valid message becomes line-protocol lines; batches are written at most every
/// second or 5000 lines, and a message is acknowledged to the broker only after its lines are stored, so a
/// crash means redelivery, never loss. Redelivered points have the same identity (measurement, tags,
/// timestamp), so a replay overwrites instead of double counting. When InfluxDB is down the batch is retried
/// with backoff; the bounded queue then fills, the MQTT handler blocks, and the broker holds the rest.
/// Invalid messages are counted, logged (rate-limited) and acknowledged: they can never be stored.
/// </summary>
public sealed class IngestionService(
    IngestionOptions options,
    IPointWriter writer,
    IngestionStats stats,
    IngestionSubscription subscription,
    DeviceRegistry registry,
    TimeProvider time,
    ILogger<IngestionService> logger) : BackgroundService
{
    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(options.MaxInFlight) { SingleReader = true });
    private readonly RejectLog _rejectLog = new(time);
    private long _lastQuarantineMs;

    private sealed record Pending(List<string> Lines, MqttApplicationMessageReceivedEventArgs Message);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var session = new MqttSession(
            options.Broker,
            $"cloud-{options.Group}-{options.Worker}",
            logger,
            b => b.WithReceiveMaximum((ushort)options.MaxInFlight));
        session.OnConnected = async (client, ct) =>
        {
            var subscribe = new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(options.Filter, MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter(options.GapFilter, MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            await client.SubscribeAsync(subscribe, ct).ConfigureAwait(false);
            subscription.Subscribed();
            logger.LogInformation("Subscribed to {Filter} and {GapFilter}; device registry {Registry}", options.Filter, options.GapFilter, registry.Source);
        };
        session.Client.DisconnectedAsync += _ =>
        {
            subscription.Lost();
            return Task.CompletedTask;
        };
        session.Client.ApplicationMessageReceivedAsync += e => OnMessageAsync(e, stoppingToken);
        var connection = session.RunAsync(stoppingToken);
        try
        {
            await WriteLoopAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await connection.ConfigureAwait(false);
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e, CancellationToken cancellationToken)
    {
        e.AutoAcknowledge = false;
        var topic = e.ApplicationMessage.Topic;
        var payload = e.ApplicationMessage.Payload;
        var lines = topic.EndsWith("/gap", StringComparison.Ordinal) ? GapLines(topic, payload) : TelemetryLines(topic, payload);
        try
        {
            await _queue.Writer.WriteAsync(new Pending(lines, e), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: not acknowledged, so the broker redelivers it to the next worker.
            stats.Dropped(lines.Count);
        }
    }

    private List<string> TelemetryLines(string topic, System.Buffers.ReadOnlySequence<byte> payload)
    {
        var result = payload.Length > TelemetryMessage.MaxBytes
            ? DecodeResult.Fail(RejectReason.Oversized, $"payload is {payload.Length} bytes; the limit is {TelemetryMessage.MaxBytes}")
            : TelemetryCodec.Decode(payload.ToArray(), topic, time.GetUtcNow());
        if (result.Ok && !registry.IsKnown(result.Message!.Gateway, result.Message.Device))
        {
            result = DecodeResult.Fail(RejectReason.UnknownDevice, $"device {result.Message.Device} of gateway {result.Message.Gateway} is not in the device registry {registry.Source}");
        }

        if (!result.Ok)
        {
            return Quarantine(result.Reason, topic, result.Error, payload.Length);
        }

        var message = result.Message!;
        var lines = LineProtocol.FromMessage(message);
        lines.Add(LineProtocol.Ledger(message.Gateway, message.Epoch, message.Seq, "telemetry"));
        stats.Received(message.Readings.Count, lines.Count);
        return lines;
    }

    private List<string> GapLines(string topic, System.Buffers.ReadOnlySequence<byte> payload)
    {
        var gap = payload.Length > TelemetryMessage.MaxBytes ? null : GapReport.TryDecode(payload.ToArray(), out var error);
        if (gap is null || !Identifiers.IsValid(gap.Gateway) || !Identifiers.IsValid(gap.Site) || topic != GapReport.Topic(gap.Site, gap.Gateway))
        {
            return Quarantine(RejectReason.InvalidField, topic, gap is null ? "malformed or oversized gap report" : "gap report does not match its topic", (int)payload.Length);
        }

        logger.LogWarning("Gateway {Gateway} reports it dropped {Messages} message(s) ({Readings} readings) from {From:O} to {To:O}: {Reason}", gap.Gateway, gap.Messages, gap.Readings, gap.From, gap.To, gap.Reason);
        var lines = new List<string> { LineProtocol.Gap(gap), LineProtocol.Ledger(gap.Gateway, gap.Epoch, gap.Seq, "gap") };
        stats.Received(0, lines.Count);
        return lines;
    }

    /// <summary>A refused message becomes one quarantine point (reason, topic, error) and is counted; its content is never stored.</summary>
    private List<string> Quarantine(RejectReason reason, string topic, string error, long bytes)
    {
        stats.Reject(reason);
        if (_rejectLog.ShouldLog(reason))
        {
            logger.LogWarning("Rejected message on {Topic}: {Reason}: {Error}", topic, reason, error);
        }

        // Distinct timestamps, so a burst of rejects within one millisecond is not collapsed into one point.
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        long ts;
        long last;
        do
        {
            last = Interlocked.Read(ref _lastQuarantineMs);
            ts = Math.Max(now, last + 1);
        }
        while (Interlocked.CompareExchange(ref _lastQuarantineMs, ts, last) != last);
        var line = LineProtocol.Quarantine(reason, topic, error, (int)Math.Min(bytes, int.MaxValue), ts);
        stats.Received(0, 1);
        return [line];
    }

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        var batch = new List<Pending>();
        var maxMessages = Math.Max(1, options.MaxInFlight / 2);
        while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var deadline = time.GetUtcNow() + options.MaxBatchDelay;
            var lineCount = 0;
            while (lineCount < options.MaxBatchLines && batch.Count < maxMessages)
            {
                if (_queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                    lineCount += item.Lines.Count;
                    continue;
                }

                var wait = deadline - time.GetUtcNow();
                if (wait <= TimeSpan.Zero)
                {
                    break;
                }

                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(wait);
                try
                {
                    await _queue.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    break;
                }
            }

            await WriteUntilStoredAsync(batch, lineCount, cancellationToken).ConfigureAwait(false);
            foreach (var p in batch)
            {
                try
                {
                    await p.Message.AcknowledgeAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The connection it came on is gone; the broker will redeliver it, and the rewrite is idempotent.
                    logger.LogDebug("Ack failed ({Error}); the broker will redeliver", ex.Message);
                }
            }

            batch.Clear();
        }
    }

    private async Task WriteUntilStoredAsync(List<Pending> batch, int lineCount, CancellationToken cancellationToken)
    {
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
                await writer.WriteAsync(lines, cancellationToken).ConfigureAwait(false);
                stats.Written(lines.Count);
                if (attempt > 0)
                {
                    logger.LogInformation("InfluxDB write succeeded after {Attempts} attempts", attempt + 1);
                }

                return;
            }
            catch (InfluxRejectedException ex)
            {
                // Retrying cannot help; acknowledging is the only way forward. Log loudly with the cause.
                stats.WriteError();
                stats.Dropped(lines.Count);
                logger.LogError("{Error}", ex.Message);
                return;
            }
            catch (InfluxUnavailableException ex)
            {
                stats.WriteError();
                attempt++;
                var delay = ex.RetryAfter is { } ra && ra > TimeSpan.Zero ? ra : backoff;
                if (attempt == 1 || attempt % 10 == 0)
                {
                    logger.LogWarning("{Error}; {Lines} lines held, attempt {Attempt}, next in {Delay:0.0} s", ex.Message, lines.Count, attempt, delay.TotalSeconds);
                }

                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
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
            lock (_seen)
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
}
