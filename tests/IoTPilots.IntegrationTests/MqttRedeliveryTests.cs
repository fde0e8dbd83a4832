using System.Collections.Concurrent;
using System.Text;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// A persistent session's redelivery after a reconnect is acknowledged on the new connection, so the session owes the
/// broker nothing afterwards. Mosquitto sends the messages a session left unacknowledged right after its CONNACK,
/// before the client has subscribed again; a message taken for one of the old connection would never be acknowledged
/// and would come again at every reconnect (the fleet bench's redelivery storm: docs/scaling.md, bench fleet).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class MqttRedeliveryTests(Servers servers)
{
    private const int Messages = 300;

    [Fact]
    public async Task Messages_redelivered_after_a_reconnect_are_acknowledged_and_not_sent_again()
    {
        var clientId = $"it-redeliver-{Guid.NewGuid():N}"[..30];
        var topic = $"it/redeliver/{Guid.NewGuid():N}";
        var held = new ConcurrentQueue<InboundMessage>();
        var redelivered = 0;
        var acked = 0;
        var phase = 1;
        ValueTask Handle(InboundMessage message, CancellationToken ct)
        {
            if (Volatile.Read(ref phase) == 1)
            {
                // First connection: hold everything unacknowledged, as a worker that falls behind does.
                held.Enqueue(message);
                return ValueTask.CompletedTask;
            }

            Interlocked.Increment(ref redelivered);
            return AckAsync(message, ct);
        }

        async ValueTask AckAsync(InboundMessage message, CancellationToken ct)
        {
            await message.AckAsync(ct);
            Interlocked.Increment(ref acked);
        }

        using var stop = new CancellationTokenSource();
        var source = new MqttMessageSources(servers.Mqtt, NullLoggerFactory.Instance).Open(new MessageSourceOptions(clientId, [topic]) { ReceiveMaximum = 1000 });
        var running = source.RunAsync(Handle, stop.Token);
        var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        try
        {
            // The source subscribes a moment after it connects: publish once the subscription takes messages.
            await Eventually.TrueAsync(async () =>
            {
                await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("probe"));
                return !held.IsEmpty;
            }, TimeSpan.FromSeconds(30), "the source's first message");
            for (var i = 0; i < Messages; i++)
            {
                await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes($"m{i}"));
            }

            // In order on one connection: with the last one here, every probe and message is.
            var last = $"m{Messages - 1}";
            await Eventually.TrueAsync(() => Task.FromResult(held.Any(m => Encoding.UTF8.GetString(m.Payload.Span) == last)), TimeSpan.FromSeconds(30), $"{Messages} messages held unacknowledged");
            var owed = held.Count;

            // A session takeover drops the source's connection; it reconnects and gets everything it held again.
            Volatile.Write(ref phase, 2);
            using (var thief = await TakeOverAsync(clientId, new ConcurrentQueue<string>()))
            {
                await thief.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build());
            }

            await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref acked) >= owed), TimeSpan.FromSeconds(60),
                () => $"the redelivered messages acknowledged on the new connection ({Volatile.Read(ref redelivered)} redelivered, {Volatile.Read(ref acked)} acknowledged)");
        }
        finally
        {
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
            await publisher.DisposeAsync();
        }

        // The session now owes nothing: a new connection gets no redelivery, only what is published after it.
        var received = new ConcurrentQueue<string>();
        using var check = await TakeOverAsync(clientId, received);
        var again = await TestPublisher.ConnectAsync(servers.Mqtt);
        await using (again)
        {
            await again.PublishAsync(topic, Encoding.UTF8.GetBytes("marker"));
        }

        // The broker sends a session's unacknowledged messages before anything new, so by the marker all would be here.
        await Eventually.TrueAsync(() => Task.FromResult(received.Contains("marker")), TimeSpan.FromSeconds(30), "the marker");
        Assert.Equal(["marker"], received.ToArray());
    }

    /// <summary>Connects with the source's client id and persistent session, recording (never acknowledging) what it gets.</summary>
    private async Task<IMqttClient> TakeOverAsync(string clientId, ConcurrentQueue<string> received)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            e.AutoAcknowledge = false;
            received.Enqueue(Encoding.UTF8.GetString(e.ApplicationMessage.Payload));
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder().WithTcpServer(servers.Mqtt.Host, servers.Mqtt.Port).WithClientId(clientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithCleanStart(false).WithSessionExpiryInterval(3600).Build();
        await client.ConnectAsync(options);
        return client;
    }
}
