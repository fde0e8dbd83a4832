using System.Buffers;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.Mqtt.Uplinks;

/// <summary>How the gateway meets an MQTT broker.</summary>
/// <param name="StatusTopic">Where the retained online/offline status goes; the broker publishes <paramref name="Will"/> there if the gateway vanishes.</param>
/// <param name="Will">The retained "offline" status the broker publishes for the gateway when it drops off without a clean disconnect.</param>
public sealed record BrokerUplinkOptions(MqttEndpoint Broker, string ClientId, string StatusTopic, byte[] Will)
{
    /// <summary>Client certificate for mutual TLS (see <see cref="Mqtt.ClientCertificate"/>), or none.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    public TimeSpan AckTimeout { get; init; } = SessionUplink.DefaultAckTimeout;
}

/// <summary>
/// The uplink to an MQTT 5 broker (Mosquitto): records at QoS 1; a retained status with a last will, so the
/// status topic says "offline" even when the gateway dies; and a PUBACK reason code "no matching subscribers"
/// (0x10, MQTT 5.0 §3.4.2.1) reported as <see cref="PublishOutcome.NoSubscriber"/>, since the broker threw that
/// message away.
/// </summary>
public sealed class BrokerUplink(BrokerUplinkOptions options, ILogger logger)
    : SessionUplink(new MqttSession(options.Broker with { ClientCertificate = options.ClientCertificate ?? options.Broker.ClientCertificate }, options.ClientId, logger, b => Configure(b, options)))
{
    private static void Configure(MqttClientOptionsBuilder builder, BrokerUplinkOptions options)
    {
        builder.WithWillTopic(options.StatusTopic)
            .WithWillPayload(options.Will)
            .WithWillRetain()
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
    }

    public override Task<PublishOutcome> PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        Session.PublishAsync(MqttPublisher.JsonAtLeastOnce(topic, payload), options.AckTimeout, cancellationToken);

    public override async Task PublishStatusAsync(ReadOnlyMemory<byte> status, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(options.StatusTopic)
            .WithPayload(new ReadOnlySequence<byte>(status))
            .WithRetainFlag()
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        if (await Session.PublishAsync(message, options.AckTimeout, cancellationToken).ConfigureAwait(false) == PublishOutcome.Failed)
        {
            logger.LogWarning("Could not publish the gateway status on {Topic}", options.StatusTopic);
        }
    }
}
