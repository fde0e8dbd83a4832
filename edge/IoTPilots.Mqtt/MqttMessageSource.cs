using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.Mqtt;

/// <summary>Opens <see cref="MqttMessageSource"/>s on one broker.</summary>
public sealed class MqttMessageSources(MqttEndpoint broker, ILoggerFactory loggers) : IMessageSources
{
    public IMessageSource Open(MessageSourceOptions options) => new MqttMessageSource(broker, options, loggers.CreateLogger<MqttMessageSource>());
}

/// <summary>
/// A subscription on the broker through <see cref="MqttSession"/> (MQTT 5, QoS 1), handing messages on as
/// <see cref="InboundMessage"/>s. Acknowledgements are manual unless <see cref="MessageSourceOptions.AutoAck"/>.
/// <para>
/// It does not rely on the broker's flow control of a connected session. Once the consumer holds a whole receive
/// window unacknowledged, the broker queues further messages for this session and releases them one window
/// quota at a time. Mosquitto 2.0.11 (Debian's) gets that accounting wrong (fixed in 2.0.13, "Various fixes
/// around inflight quota management", eclipse/mosquitto#2306): the window it grants shrinks as the backlog
/// passes through its queue, until a few dozen messages per acknowledgement round trickle through with every
/// CPU idle (cloud README, "Overload"). What it always gets right is a reconnect: it resets the session's quota
/// and sends the queued backlog at full speed. So when the window has been full and then runs down to a
/// sixteenth of itself (the broker is no longer refilling it as fast as the consumer acknowledges), this source
/// reconnects: the broker starts its backlog afresh, and redelivers the few messages still unacknowledged (their
/// late acknowledgements are dropped, see <see cref="InboundMessage"/>), which the consumer stores again
/// (a redelivered message overwrites its own points).
/// </para>
/// </summary>
public sealed class MqttMessageSource(MqttEndpoint broker, MessageSourceOptions options, ILogger logger) : IMessageSource
{
    private readonly Lock _gate = new();
    private long _generation;
    private int _unacked;
    private bool _windowFilled;
    private int _refreshing;
    private int _lowWater;
    private long _arrived;
    private long _received;
    private bool _sawTraffic;

    /// <summary>Reconnects made because the receive window had filled (for logs and tests).</summary>
    public long Refreshes { get; private set; }

    public async Task RunAsync(Func<InboundMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken)
    {
        var receiveMaximum = (ushort)Math.Clamp(options.ReceiveMaximum, 1, ushort.MaxValue);
        _lowWater = receiveMaximum / 16;
        // MQTTnet sets SO_RCVBUF to its BufferSize, 8 KiB by default, before connecting (MqttTcpChannel.ConnectAsync):
        // no TCP window scaling, and on loopback (MSS 64 KiB) a window that can never open by one MSS, so Linux sends
        // no window update once a consumer that fell behind has let it fill. The broker then only learns of free
        // space from zero-window probes, whose interval backs off to two minutes: a few dozen messages per probe,
        // every CPU idle (cloud README, "Overload"). 1 MiB keeps the window open and scaled.
        // BatchingSocketStream (fewer system calls per message; cloud README, "Ingest cost") is not plugged in here
        // yet: with it, the overload and shared-subscription tests missed messages in full runs (session 4 note).
        await using var session = new MqttSession(broker, options.ClientId, logger, b => b.WithReceiveMaximum(receiveMaximum).WithTcpServer(o => o.BufferSize = 1 << 20), options.CleanStart);
        // A new connection: what was handed over before can no longer be acknowledged (the broker redelivers it).
        // Counted when the connect starts, not once it is done: the broker sends a persistent session's unacknowledged
        // messages right after its CONNACK, and MQTTnet hands them over as soon as it has read the CONNACK, before
        // ConnectAsync returns (MqttClient.ConnectInternal starts its publish task there). Counted afterwards, those
        // took the old connection's number, were never acknowledged, and the broker sent them again at every
        // reconnect: the fleet bench's workers stored each message about six times and Mosquitto held half a million
        // (deploy/local/bench-fleet.sh). MQTTnet raises ConnectingAsync only once the previous connection's publish
        // task has ended (DisconnectCore waits for it), so no message of an old connection is handed over after it.
        session.Client.ConnectingAsync += _ =>
        {
            lock (_gate)
            {
                _generation++;
                _unacked = 0;
                _windowFilled = false;
            }

            return Task.CompletedTask;
        };
        session.OnConnected = async (client, ct) =>
        {
            if (options.BeforeSubscribe is { } wait)
            {
                await wait(ct).ConfigureAwait(false);
            }

            var subscribe = new MqttClientSubscribeOptionsBuilder();
            foreach (var filter in options.Filters)
            {
                subscribe.WithTopicFilter(filter, options.AtMostOnce ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce);
            }

            await client.SubscribeAsync(subscribe.Build(), ct).ConfigureAwait(false);
            options.Subscribed?.Invoke();
        };
        session.Client.DisconnectedAsync += _ =>
        {
            options.Lost?.Invoke();
            return Task.CompletedTask;
        };
        session.Client.ApplicationMessageReceivedAsync += async e =>
        {
            e.AutoAcknowledge = false;
            long generation;
            lock (_gate)
            {
                generation = _generation;
                _arrived++;
                _received++;
                if (e.ApplicationMessage.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce && ++_unacked >= receiveMaximum)
                {
                    _windowFilled = true;
                }
            }

            var message = new InboundMessage(
                e.ApplicationMessage.Topic,
                System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload),
                ct => AckAsync(session, e, generation, ct));
            if (options.AutoAck)
            {
                await handler(message, cancellationToken).ConfigureAwait(false);
                await message.AckAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await handler(message, cancellationToken).ConfigureAwait(false);
            }
        };
        var watching = WatchSilenceAsync(session, cancellationToken);
        await session.RunAsync(cancellationToken).ConfigureAwait(false);
        await watching.ConfigureAwait(false);
    }

    private async ValueTask AckAsync(MqttSession session, MqttApplicationMessageReceivedEventArgs e, long generation, CancellationToken cancellationToken)
    {
        bool refresh;
        lock (_gate)
        {
            if (e.ApplicationMessage.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtMostOnce)
            {
                // Nothing to acknowledge, nothing in the window.
                return;
            }

            if (generation != _generation)
            {
                // Its connection is gone: the broker redelivers it on this one, maybe under the same packet id as
                // another message, so acknowledging it here could release a message nobody has stored.
                return;
            }

            _unacked--;
            // A broker that refills the window as it should keeps it nearly full while it holds a backlog; one that
            // lets it run down to a sixteenth is starving us. Only a persistent session: a clean one would lose at
            // the reconnect what the broker queued for it.
            refresh = _windowFilled && _unacked <= _lowWater && !options.CleanStart;
            if (refresh)
            {
                _windowFilled = false;
            }
        }

        try
        {
            await e.AcknowledgeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The connection dropped under it; the broker redelivers the message and the consumer stores it again.
            logger.LogDebug("Ack failed ({Error}); the broker will redeliver", ex.Message);
            return;
        }

        if (refresh)
        {
            // Judged again once the broker has read our acknowledgements: one that only reads them late refills then.
            Refresh(session, "The receive window was full and the broker is not refilling it: reconnecting so it sends its queued backlog at full speed", _ =>
            {
                lock (_gate)
                {
                    return _unacked <= _lowWater;
                }
            });
        }
    }

    private long Received
    {
        get
        {
            lock (_gate)
            {
                return _received;
            }
        }
    }

    /// <summary>How long the broker may take to answer the ping before a refresh; slower, it is busy, not stalled.</summary>
    public static readonly TimeSpan PingBound = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Reconnects, but first pings the broker and reconnects only if <paramref name="stillNeeded"/> (given the count of
    /// messages received before the ping) says so after the answer. A broker answers a PINGREQ only once it has read
    /// everything sent before it on the connection (MQTT 5.0, 4.6: packets are processed in order), our acknowledgements
    /// included. A broker short of CPU reads them late: on the fleet bench Mosquitto had 600 KB of a worker's PUBACKs
    /// unread in its socket while the worker, with nothing unacknowledged and nothing arriving, reconnected. The new
    /// connection took the session over, the old socket was closed with those PUBACKs unread, and the broker sent every
    /// one of those messages again (MQTT 5.0, 4.4): workers stored each message up to 75 times and the broker fell
    /// to a few hundred messages per second (deploy/local/bench-fleet.sh). A broker that does not answer within
    /// <see cref="PingBound"/> is busy, not stalled: no reconnect then.
    /// </summary>
    private void Refresh(MqttSession session, string why, Func<long, bool> stillNeeded)
    {
        if (Interlocked.Exchange(ref _refreshing, 1) != 0)
        {
            return;
        }

        var before = Received;
        _ = Task.Run(async () =>
        {
            try
            {
                using (var bound = new CancellationTokenSource(PingBound))
                {
                    await session.Client.PingAsync(bound.Token).ConfigureAwait(false);
                }

                if (!stillNeeded(before))
                {
                    return;
                }

                Refreshes++;
                logger.LogInformation("{Why}", why);
                await session.Client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // No answer in time (busy), or the link went (the session reconnects by itself): nothing to refresh.
                logger.LogDebug("No refresh: {Error}", ex.Message);
            }
            finally
            {
                Volatile.Write(ref _refreshing, 0);
            }
        }, CancellationToken.None);
    }

    /// <summary>
    /// The other face of the same broker defect: with nothing unacknowledged here, the broker may stop sending
    /// altogether (its quota for this session gone) while it still holds a backlog. A stream that stops dead with
    /// nothing in flight gets one reconnect after 3 s of silence, then 6, 12... up to 5 min while it stays silent:
    /// with nothing in flight a reconnect costs a round trip and redelivers nothing, and a fleet that really went
    /// quiet costs a handful of them.
    /// </summary>
    private async Task WatchSilenceAsync(MqttSession session, CancellationToken cancellationToken)
    {
        var quiet = TimeSpan.FromSeconds(3);
        var next = quiet;
        var silentSince = Environment.TickCount64;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
                bool idle;
                lock (_gate)
                {
                    if (_arrived > 0)
                    {
                        _arrived = 0;
                        _sawTraffic = true;
                        silentSince = Environment.TickCount64;
                        next = quiet;
                        continue;
                    }

                    idle = _unacked == 0 && _sawTraffic && session.IsConnected && !options.CleanStart;
                }

                if (idle && TimeSpan.FromMilliseconds(Environment.TickCount64 - silentSince) >= next)
                {
                    silentSince = Environment.TickCount64;
                    next = TimeSpan.FromTicks(Math.Min(next.Ticks * 2, TimeSpan.FromMinutes(5).Ticks));
                    Refresh(session, "Messages stopped with nothing in flight: reconnecting in case the broker holds a backlog it no longer sends", before => Received == before);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
