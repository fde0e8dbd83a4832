using IoTPilots.Mqtt;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>A plain MQTT client for tests that publish raw payloads (good and bad) at QoS 1.</summary>
public static class TestPublisher
{
    public static async Task<MqttSession> ConnectAsync(MqttEndpoint broker)
    {
        var session = new MqttSession(broker, $"it-pub-{Guid.NewGuid():N}", NullLogger.Instance, cleanStart: true);
        _ = session.RunAsync(CancellationToken.None);
        await session.WaitConnectedAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        return session;
    }

    public static Task PublishAsync(this MqttSession session, string topic, byte[] payload) =>
        session.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
}
