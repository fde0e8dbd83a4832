using IoTPilots.Mqtt;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace IoTPilots.Cloud.Nats;

/// <summary>
/// The message sources of the NATS mode. A shared subscription (<c>$share/{group}/{filter}</c>: the ingestion's)
/// becomes the durable JetStream consumer <c>{group}</c> on NATS's MQTT message stream (<see cref="MqttStream"/>),
/// which every worker of the group pulls from: JetStream hands each message to one of them and redelivers it to
/// another when it is not acknowledged within <see cref="NatsOptions.AckWait"/>. Everything else (the rules engine,
/// the live view, gateway status, command results) stays an MQTT subscription, made on the same cluster's MQTT
/// gateway through <paramref name="mqtt"/> (3.1.1).
/// </summary>
public sealed class JetStreamMessageSources(NatsOptions nats, IMessageSources mqtt, MqttEndpoint broker, ILoggerFactory loggers) : IMessageSources, IAsyncDisposable
{
    private readonly Lazy<NatsConnection> _connection = new(() => new NatsConnection(nats.ClientOptions("pilots-cloud", loggers)));

    public IMessageSource Open(MessageSourceOptions options)
    {
        var shared = options.Filters.Select(MqttStream.Shared).ToList();
        if (shared.Count > 0 && shared.All(s => s is not null) && shared.Select(s => s!.Value.Group).Distinct().Count() == 1)
        {
            return new JetStreamConsumerSource(_connection.Value, nats, broker, shared[0]!.Value.Group, [.. shared.Select(s => s!.Value.Filter)], options, loggers.CreateLogger<JetStreamConsumerSource>());
        }

        return mqtt.Open(options);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            await _connection.Value.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// One worker's pull from the durable consumer <c>{group}</c> on <see cref="MqttStream.Name"/>, filtered to the
/// given MQTT filters, with an explicit acknowledgement per message (the pipeline sends it after the InfluxDB
/// write). Messages under the consumer's subject prefix that no filter matches (a gateway's status, a command)
/// are acknowledged at once: this consumer's interest would otherwise keep them in the stream for ever.
/// </summary>
public sealed class JetStreamConsumerSource(
    NatsConnection connection,
    NatsOptions nats,
    MqttEndpoint broker,
    string group,
    IReadOnlyList<string> filters,
    MessageSourceOptions options,
    ILogger logger) : IMessageSource
{
    /// <summary>A JetStream consumer name may not hold '.', '*', '>' or white space (ADR-6, NATS naming rules).</summary>
    public string Durable { get; } = new(group.Select(c => c is '.' or '*' or '>' || char.IsWhiteSpace(c) ? '_' : c).ToArray());

    public async Task RunAsync(Func<InboundMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken)
    {
        var js = new NatsJSContext(connection);
        var backoff = TimeSpan.FromMilliseconds(500);
        var consuming = false;
        connection.ConnectionDisconnected += (_, _) =>
        {
            options.Lost?.Invoke();
            return ValueTask.CompletedTask;
        };
        connection.ConnectionOpened += (_, _) =>
        {
            if (Volatile.Read(ref consuming))
            {
                options.Subscribed?.Invoke();
            }

            return ValueTask.CompletedTask;
        };
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await EnsureStreamAsync(js, cancellationToken).ConfigureAwait(false);
                var consumer = await js.CreateOrUpdateConsumerAsync(MqttStream.Name, new ConsumerConfig(Durable)
                {
                    FilterSubject = MqttStream.ConsumerFilter(filters),
                    AckPolicy = ConsumerConfigAckPolicy.Explicit,
                    DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                    AckWait = nats.AckWait,
                    MaxAckPending = Math.Clamp(options.ReceiveMaximum, 1, 65535),
                    MaxDeliver = -1,
                }, cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref consuming, true);
                options.Subscribed?.Invoke();
                backoff = TimeSpan.FromMilliseconds(500);
                var consume = new NatsJSConsumeOpts { MaxMsgs = 1000, MaxConsecutive503Errors = -1 };
                await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: consume, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    var topic = MqttStream.TopicOf(msg.Subject);
                    if (topic is null || !filters.Any(f => MqttStream.Matches(f, topic)))
                    {
                        await msg.AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    var message = new InboundMessage(topic, msg.Data ?? [], ct => msg.AckAsync(cancellationToken: ct));
                    await handler(message, cancellationToken).ConfigureAwait(false);
                    if (options.AutoAck)
                    {
                        await message.AckAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
            {
                // A node went away, the stream is electing a leader, or the consumer was deleted: what was handed
                // over and not acknowledged comes back after AckWait, so start again from the durable consumer.
                Volatile.Write(ref consuming, false);
                options.Lost?.Invoke();
                logger.LogWarning("JetStream consumer {Durable} on {Stream} interrupted ({Error}); again in {Delay:0.0} s", Durable, MqttStream.Name, ex.Message, backoff.TotalSeconds);
                try
                {
                    await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    /// <summary>
    /// The MQTT gateway creates its streams on an account's first MQTT connection, with the replicas its
    /// configuration names (<c>mqtt.stream_replicas</c>). Rather than guess those, this connects once over MQTT when
    /// the stream is missing, and waits for it.
    /// </summary>
    private async Task EnsureStreamAsync(NatsJSContext js, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await js.GetStreamAsync(MqttStream.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (NatsJSApiException ex) when (ex.Error.Code == 404)
            {
                if (attempt % 10 == 0)
                {
                    logger.LogInformation("Stream {Stream} missing; connecting once to the MQTT gateway {Broker} so that it creates it", MqttStream.Name, broker);
                    await TouchMqttGatewayAsync(cancellationToken).ConfigureAwait(false);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task TouchMqttGatewayAsync(CancellationToken cancellationToken)
    {
        await using var session = new MqttSession(broker, $"pilots-stream-{Durable}-{Guid.NewGuid():N}"[..40], logger, cleanStart: true);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var running = session.RunAsync(timeout.Token);
        try
        {
            await session.WaitConnectedAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("MQTT gateway {Broker} did not answer within 10 s", broker);
        }

        await timeout.CancelAsync().ConfigureAwait(false);
        await running.ConfigureAwait(false);
    }
}
