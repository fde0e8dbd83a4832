using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Queue;
using IoTPilots.Mqtt;
using IoTPilots.Mqtt.AzureIotHub;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.Edge.Publishing;

/// <summary>
/// Drains the store-and-forward queue to the broker at QoS 1, acknowledging each record in the queue only
/// when the broker has acknowledged it. Two lanes: live records (appended since the last connect) go first,
/// always; the backlog of an outage drains alongside at a bounded rate, so it never starves live data.
/// A retained status topic says online/offline with the queue depth and the oldest unsent reading.
/// </summary>
public sealed class MqttTelemetryPublisher(
    Inventory inventory,
    Uplink uplink,
    EdgeQueue queue,
    EdgeMetrics metrics,
    TimeProvider time,
    ILogger<MqttTelemetryPublisher> logger) : BackgroundService
{
    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(30);
    private long _liveStart = long.MaxValue;
    private long _liveCursor;
    private long _backlogCursor;
    private int _connectGeneration;
    private IotHubSasCredentials? _hubCredentials;
    private bool _holdingForSubscriber;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var statusTopic = Topics.Status(inventory.Site, inventory.Gateway);
        await using var session = new MqttSession(
            uplink.Broker,
            $"edge-{inventory.Gateway}",
            logger,
            b =>
            {
                if (uplink.Hub is { } hub)
                {
                    // IoT Hub: its client id, username and a SAS token renewed on every connect; no retained status.
                    _hubCredentials = IotHubMqtt.ConfigureClient(b, hub, time, IotHubMqtt.DefaultTokenTtl);
                    return;
                }

                b.WithWillTopic(statusTopic)
                    .WithWillPayload(Status(GatewayStatus.Offline).Encode())
                    .WithWillRetain()
                    .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
                if (ClientCertificate.Apply(b, Environment.GetEnvironmentVariable) is { } certificate)
                {
                    logger.LogInformation("MQTT client certificate {Subject}", certificate.Subject);
                }
            });
        session.OnConnected = async (client, ct) =>
        {
            Interlocked.Increment(ref _connectGeneration);
            if (uplink.Hub is null)
            {
                await PublishStatusAsync(client, statusTopic, GatewayStatus.Online, ct).ConfigureAwait(false);
            }
        };
        var connection = session.RunAsync(stoppingToken);
        try
        {
            await DrainAsync(session, statusTopic, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await FinalDrainAsync(session).ConfigureAwait(false);
            queue.SaveAcks();
            if (session.IsConnected && uplink.Hub is null)
            {
                await PublishStatusAsync(session.Client, statusTopic, GatewayStatus.Offline, CancellationToken.None).ConfigureAwait(false);
            }

            await connection.ConfigureAwait(false);
        }
    }

    private async Task DrainAsync(MqttSession session, string statusTopic, CancellationToken cancellationToken)
    {
        var generation = -1;
        var tokens = 0.0;
        var lastRefill = time.GetUtcNow();
        var lastSave = lastRefill;
        var lastStatus = lastRefill;
        var rate = inventory.Queue.BackfillRate;
        while (!cancellationToken.IsCancellationRequested)
        {
            await session.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
            if (generation != Volatile.Read(ref _connectGeneration))
            {
                // A (re)connect: what was appended until now is backlog; the live lane starts after it.
                generation = Volatile.Read(ref _connectGeneration);
                _liveStart = queue.LastSeq + 1;
                _liveCursor = _liveStart;
                _backlogCursor = 0;
                var backlog = queue.Count;
                if (backlog > 0)
                {
                    logger.LogInformation("Uplink up: {Backlog} queued message(s) to backfill at up to {Rate}/s alongside live data", backlog, rate);
                }
            }

            var now = time.GetUtcNow();
            tokens = Math.Min(rate, tokens + ((now - lastRefill).TotalSeconds * rate));
            lastRefill = now;
            if (now - lastSave > TimeSpan.FromSeconds(1))
            {
                queue.SaveAcks();
                lastSave = now;
            }

            if (_hubCredentials is { } credentials && credentials.MustRenew(now))
            {
                // MQTT 3.1.1 cannot refresh a token in place: reconnect, and the session signs a new one.
                logger.LogInformation("IoT Hub SAS token expires at {Expiry:O}; reconnecting to renew it", credentials.ExpiresAt);
                await session.Client.DisconnectAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (uplink.Hub is null && now - lastStatus > StatusInterval)
            {
                await PublishStatusAsync(session.Client, statusTopic, GatewayStatus.Online, cancellationToken).ConfigureAwait(false);
                lastStatus = now;
            }

            if (queue.FirstUnacked(_liveCursor) is { } live)
            {
                if (await PublishAsync(session, live, cancellationToken).ConfigureAwait(false))
                {
                    _liveCursor = live + 1;
                }

                continue;
            }

            if (tokens >= 1 && queue.FirstUnacked(_backlogCursor, _liveStart) is { } old)
            {
                if (await PublishAsync(session, old, cancellationToken).ConfigureAwait(false))
                {
                    _backlogCursor = old + 1;
                    tokens--;
                }

                continue;
            }

            var backlogLeft = queue.FirstUnacked(_backlogCursor, _liveStart) is not null;
            await queue.WaitForAppendAsync(backlogLeft ? TimeSpan.FromMilliseconds(20) : TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>On a clean stop, sends what is still queued for up to <see cref="FinalDrainTime"/>; the rest waits on disk.</summary>
    private async Task FinalDrainAsync(MqttSession session)
    {
        using var budget = new CancellationTokenSource(FinalDrainTime);
        var sent = 0;
        try
        {
            while (session.IsConnected && queue.FirstUnacked(0) is { } seq && await PublishAsync(session, seq, budget.Token).ConfigureAwait(false))
            {
                sent++;
            }
        }
        catch (OperationCanceledException)
        {
        }

        logger.LogInformation("Stopping: sent {Sent} queued message(s); {Left} stay on disk for the next start", sent, queue.Count);
    }

    private static readonly TimeSpan FinalDrainTime = TimeSpan.FromSeconds(5);

    /// <summary>Publishes one queued record; acks it in the queue once the broker has. False when it must be retried.</summary>
    private async Task<bool> PublishAsync(MqttSession session, long seq, CancellationToken cancellationToken)
    {
        if (queue.Read(seq) is not { } record)
        {
            return true;
        }

        var topic = uplink.Hub is { } hub
            ? IotHubMqtt.TelemetryTopic(hub, [.. IotHubMqtt.JsonUtf8Properties, new("pilots-topic", record.Topic)])
            : record.Topic;
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(record.Payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build();
        try
        {
            var result = await session.Client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
            if (result.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers && uplink.Hub is null)
            {
                // The broker took it but nobody subscribes (the cloud is not connected, or a restarted broker has
                // not got its subscriptions back yet): it would be thrown away, so it stays queued.
                if (!_holdingForSubscriber)
                {
                    logger.LogWarning("Broker has no subscriber for {Topic}; holding the queue until the cloud is back", record.Topic);
                    _holdingForSubscriber = true;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken).ConfigureAwait(false);
                return false;
            }

            if (result.IsSuccess)
            {
                if (_holdingForSubscriber)
                {
                    logger.LogInformation("Broker has a subscriber again; sending the queue");
                    _holdingForSubscriber = false;
                }

                queue.Ack(seq);
                metrics.Published.Add(1);
                return true;
            }

            logger.LogWarning("Broker refused message {Seq} on {Topic}: {Reason}", seq, record.Topic, result.ReasonCode);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // The link dropped mid-publish: the record stays queued and goes out after the reconnect.
            logger.LogDebug("Publish of {Seq} failed ({Error}); it stays queued", seq, ex.Message);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken).ConfigureAwait(false);
        return false;
    }

    private GatewayStatus Status(string state) =>
        new(inventory.Site, inventory.Gateway, state, time.GetUtcNow(), queue.Count, queue.OldestUnsent);

    private async Task PublishStatusAsync(IMqttClient client, string topic, string state, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(Status(state).Encode())
            .WithRetainFlag()
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        try
        {
            await client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Could not publish gateway status {State}: {Error}", state, ex.Message);
        }
    }
}
