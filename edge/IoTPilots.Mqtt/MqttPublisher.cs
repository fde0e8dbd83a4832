using System.Buffers;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.Mqtt;

/// <summary>
/// A plain MQTT publisher for the cloud side (commands to gateways): one clean session that reconnects by itself,
/// QoS 1 publishes that say whether the broker took them and whether anybody subscribes (<see cref="PublishOutcome"/>).
/// No last will and no status: it speaks for no gateway.
/// </summary>
public sealed class MqttPublisher(MqttEndpoint endpoint, string clientId, ILogger logger) : IAsyncDisposable
{
    private readonly MqttSession _session = new(endpoint, clientId, logger, cleanStart: true);

    public bool IsConnected => _session.IsConnected;

    /// <summary>Connects, and reconnects whenever the link drops, until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => _session.RunAsync(cancellationToken);

    public Task WaitConnectedAsync(CancellationToken cancellationToken) => _session.WaitConnectedAsync(cancellationToken);

    public Task<PublishOutcome> PublishAsync(string topic, ReadOnlyMemory<byte> payload, TimeSpan ackTimeout, CancellationToken cancellationToken) =>
        _session.PublishAsync(JsonAtLeastOnce(topic, payload), ackTimeout, cancellationToken);

    /// <summary>A JSON payload at QoS 1, as gateways and the cloud publish their records.</summary>
    internal static MqttApplicationMessage JsonAtLeastOnce(string topic, ReadOnlyMemory<byte> payload) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(new ReadOnlySequence<byte>(payload))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build();

    public ValueTask DisposeAsync() => _session.DisposeAsync();
}
