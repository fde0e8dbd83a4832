using IoTPilots.Contract;
using IoTPilots.Edge.Devices;
using IoTPilots.Edge.Polling;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.Edge.Publishing;

/// <summary>
/// Publishes each poll as one telemetry message at QoS 1, numbering messages with the gateway's sequence so
/// the cloud can count gaps. A message that the broker has not acknowledged is retried after the reconnect,
/// never skipped, so ordering per gateway is kept.
/// </summary>
public sealed class MqttTelemetryPublisher(
    Inventory inventory,
    MqttEndpoint broker,
    ReadingBuffer buffer,
    EdgeMetrics metrics,
    TimeProvider time,
    ILogger<MqttTelemetryPublisher> logger) : BackgroundService
{
    private long _seq;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var statusTopic = Topics.Status(inventory.Site, inventory.Gateway);
        await using var session = new MqttSession(
            broker,
            $"edge-{inventory.Gateway}",
            logger,
            b => b.WithWillTopic(statusTopic)
                .WithWillPayload(Status(GatewayStatus.Offline).Encode())
                .WithWillRetain()
                .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        session.OnConnected = (client, ct) => PublishStatusAsync(client, statusTopic, GatewayStatus.Online, ct);
        var connection = session.RunAsync(stoppingToken);
        try
        {
            await foreach (var batch in buffer.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                foreach (var message in Split(batch))
                {
                    await PublishUntilAckedAsync(session, message, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (session.IsConnected)
            {
                await PublishStatusAsync(session.Client, statusTopic, GatewayStatus.Offline, CancellationToken.None).ConfigureAwait(false);
            }

            await connection.ConfigureAwait(false);
        }
    }

    private IEnumerable<TelemetryMessage> Split(DeviceBatch batch)
    {
        for (var i = 0; i < batch.Readings.Count; i += TelemetryMessage.MaxReadings)
        {
            var part = batch.Readings.Skip(i).Take(TelemetryMessage.MaxReadings).ToList();
            yield return new TelemetryMessage(batch.Device.Pilot, batch.Device.Site, inventory.Gateway, batch.Device.Id, ++_seq, part);
        }
    }

    private async Task PublishUntilAckedAsync(MqttSession session, TelemetryMessage message, CancellationToken cancellationToken)
    {
        var mqttMessage = new MqttApplicationMessageBuilder()
            .WithTopic(message.Topic)
            .WithPayload(TelemetryCodec.Encode(message))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build();
        while (true)
        {
            await session.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var result = await session.Client.PublishAsync(mqttMessage, cancellationToken).ConfigureAwait(false);
                if (result.IsSuccess)
                {
                    metrics.Published.Add(1);
                    return;
                }

                logger.LogWarning("Broker refused message {Seq} on {Topic}: {Reason}", message.Seq, message.Topic, result.ReasonCode);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                logger.LogDebug("Publish of {Seq} failed ({Error}); retrying after reconnect", message.Seq, ex.Message);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken).ConfigureAwait(false);
        }
    }

    private GatewayStatus Status(string state) =>
        new(inventory.Site, inventory.Gateway, state, time.GetUtcNow(), buffer.Count, null);

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
