using System.Collections.Concurrent;
using System.Text;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPilots.IntegrationTests;

/// <summary>The uplink's subscriptions (the gateway's command topic) on the real broker, across reconnects.</summary>
[Collection(ServersCollection.Name)]
public sealed class UplinkSubscribeTests(Servers servers)
{
    [Fact]
    public async Task A_subscription_is_renewed_after_a_reconnect_even_on_a_clean_session()
    {
        // A clean session forgets its subscriptions at every disconnect (MQTT 5.0 §3.1.2.4), so only a renewal keeps it.
        var topic = $"pilots/v1/sub-site/gw-{Guid.NewGuid():N}"[..40] + "/command";
        var received = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        await using var session = new MqttSession(servers.Mqtt, $"it-sub-{Guid.NewGuid():N}", NullLogger.Instance, cleanStart: true);
        session.Subscribe(topic, (payload, _) =>
        {
            received.Enqueue(Encoding.UTF8.GetString(payload.Span));
            return Task.CompletedTask;
        });
        var running = session.RunAsync(stop.Token);
        await session.WaitConnectedAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        await using var cloud = await TestPublisher.ConnectAsync(servers.Mqtt);
        await cloud.PublishAsync(topic, "first"u8.ToArray());
        await Eventually.TrueAsync(() => Task.FromResult(received.Contains("first")), TimeSpan.FromSeconds(30), "the first message");

        await session.ReconnectAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => Task.FromResult(session.Connections >= 2 && session.IsConnected), TimeSpan.FromSeconds(60), "the session to reconnect");
        await cloud.PublishAsync(topic, "second"u8.ToArray());

        await Eventually.TrueAsync(() => Task.FromResult(received.Contains("second")), TimeSpan.FromSeconds(30), "the message after the reconnect");
        await stop.CancelAsync();
        await running;
    }
}
