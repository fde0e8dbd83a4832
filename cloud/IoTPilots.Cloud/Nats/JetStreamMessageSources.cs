using IoTPilots.Mqtt;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace IoTPilots.Cloud.Nats;

/// <summary>
/// The message sources of the NATS mode. A shared subscription (<c>$share/{group}/{filter}</c>: the ingestion's)
/// becomes the durable JetStream consumer <c>{group}</c> on NATS's MQTT message stream (<see cref="MqttStream"/>),
/// which every worker of the group pulls from: JetStream hands each message to one of them and redelivers it to
/// another when it is not acknowledged within <see cref="NatsOptions.AckWait"/>. A source that asks for a
/// <see cref="StreamReplay"/> (the rules engine's telemetry) gets a durable consumer of its own for those filters, so
/// a rules engine that was down, or a standby taking over, judges what arrived meanwhile. Everything else (gateway
/// statuses, which are retained, the live view, command results) stays an MQTT subscription, made on the same
/// cluster's MQTT gateway through <paramref name="mqtt"/> (3.1.1).
/// </summary>
public sealed class JetStreamMessageSources(NatsOptions nats, IMessageSources mqtt, MqttEndpoint broker, ILoggerFactory loggers) : IMessageSources, IAsyncDisposable
{
    private readonly Lazy<NatsConnection> _connection = new(() => new NatsConnection(nats.ClientOptions("pilots-cloud", loggers)));

    public IMessageSource Open(MessageSourceOptions options)
    {
        var shared = options.Filters.Select(MqttStream.Shared).ToList();
        if (shared.Count > 0 && shared.All(s => s is not null) && shared.Select(s => s!.Value.Group).Distinct().Count() == 1)
        {
            return Consumer(ConsumerPlan.Shared(shared[0]!.Value.Group), [.. shared.Select(s => s!.Value.Filter)], options);
        }

        if (options.Replay is { } replay && replay.Filters.Count > 0)
        {
            var streamed = Consumer(ConsumerPlan.Replayed(replay), replay.Filters, options);
            var rest = options.Filters.Except(replay.Filters).ToList();
            return rest.Count == 0 ? streamed : new CombinedSource([streamed, mqtt.Open(options with { Filters = rest, Replay = null })]);
        }

        return mqtt.Open(options);
    }

    private JetStreamConsumerSource Consumer(ConsumerPlan plan, IReadOnlyList<string> filters, MessageSourceOptions options) =>
        new(_connection.Value, nats, broker, plan, filters, options, loggers.CreateLogger<JetStreamConsumerSource>());

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            await _connection.Value.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>
/// Several sources as one: each runs on its own, all hand their messages to the same handler (which must take them
/// from several threads).
/// </summary>
internal sealed class CombinedSource(IReadOnlyList<IMessageSource> sources) : IMessageSource
{
    public Task RunAsync(Func<InboundMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken) =>
        Task.WhenAll(sources.Select(s => s.RunAsync(handler, cancellationToken)));
}

/// <summary>
/// How a durable consumer on <see cref="MqttStream.Name"/> reads: its name, where a new one starts, when the server
/// forgets it, and which messages it skips. Pure, so the configuration sent to the server is unit-tested.
/// </summary>
/// <param name="Durable">The consumer's name; a JetStream consumer name may not hold '.', '*', '&gt;' or white space (ADR-6, NATS naming rules).</param>
/// <param name="Start">Where a consumer created now starts: the ingestion's takes everything the stream holds, the rules engine's only what arrives from now on.</param>
/// <param name="Window">Messages stored longer ago than this are acknowledged without being handed over; the server deletes the consumer after this long without a reader (plus a minute's slack).</param>
public sealed record ConsumerPlan(string Durable, ConsumerConfigDeliverPolicy Start, TimeSpan? Window = null)
{
    /// <summary>The consumer of a shared subscription's group (the ingestion workers): every message, kept for as long as the group is away.</summary>
    public static ConsumerPlan Shared(string group) => new(Name(group), ConsumerConfigDeliverPolicy.All);

    /// <summary>A reader's own consumer (the rules engine): from its first start on, back to the window after an absence.</summary>
    public static ConsumerPlan Replayed(StreamReplay replay) => new(Name(replay.Durable), ConsumerConfigDeliverPolicy.New, replay.Window);

    public static string Name(string name) => new(name.Select(c => c is '.' or '*' or '>' || char.IsWhiteSpace(c) ? '_' : c).ToArray());

    /// <summary>The consumer's configuration: explicit acknowledgement, redelivered without limit after <paramref name="ackWait"/>.</summary>
    public ConsumerConfig Config(IReadOnlyList<string> filters, TimeSpan ackWait, int maxAckPending) => new(Durable)
    {
        FilterSubject = MqttStream.ConsumerFilter(filters),
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
        DeliverPolicy = Start,
        AckWait = ackWait,
        MaxAckPending = Math.Clamp(maxAckPending, 1, 65535),
        MaxDeliver = -1,
        // A durable consumer with interest retention keeps every message it has not acknowledged: one nobody reads
        // must go (nats-server 2.9 deletes a durable after inactive_threshold without a pull, consumer.go).
        InactiveThreshold = Window is { } window ? window + TimeSpan.FromMinutes(1) : default,
    };

    /// <summary>Whether a message stored at <paramref name="storedAt"/> (null: not known) is handed over at <paramref name="now"/>.</summary>
    public bool Hands(DateTimeOffset? storedAt, DateTimeOffset now) => Window is not { } window || storedAt is not { } at || now - at <= window;
}

/// <summary>
/// One reader's pull from a durable consumer on <see cref="MqttStream.Name"/> (<see cref="ConsumerPlan"/>), filtered
/// to the given MQTT filters, with an explicit acknowledgement per message (the ingestion sends it after the
/// InfluxDB write). Messages under the consumer's subject prefix that no filter matches (a gateway's status, a
/// command) are acknowledged at once: this consumer's interest would otherwise keep them in the stream for ever.
/// </summary>
public sealed class JetStreamConsumerSource(
    NatsConnection connection,
    NatsOptions nats,
    MqttEndpoint broker,
    ConsumerPlan plan,
    IReadOnlyList<string> filters,
    MessageSourceOptions options,
    ILogger logger) : IMessageSource
{
    public string Durable => plan.Durable;

    public async Task RunAsync(Func<InboundMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken)
    {
        var js = new NatsJSContext(connection);
        var backoff = TimeSpan.FromMilliseconds(500);
        var consuming = false;
        var skipped = 0L;
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
                var consumer = await js.CreateOrUpdateConsumerAsync(MqttStream.Name, plan.Config(filters, nats.AckWait, options.ReceiveMaximum), cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref consuming, true);
                logger.LogInformation("JetStream consumer {Durable} on {Stream} ready ({Filter})", Durable, MqttStream.Name, consumer.Info.Config.FilterSubject);
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

                    if (!plan.Hands(msg.Metadata?.Timestamp, DateTimeOffset.UtcNow))
                    {
                        skipped++;
                        await msg.AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    if (skipped > 0)
                    {
                        logger.LogWarning("Consumer {Durable}: {Count} message(s) stored more than {Window} ago were not handed over (its catch-up window)", Durable, skipped, plan.Window);
                        skipped = 0;
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
