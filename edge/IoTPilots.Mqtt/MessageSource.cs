namespace IoTPilots.Mqtt;

/// <summary>
/// One message from a subscription, as the cloud's consumers see it: no MQTT library types. <see cref="AckAsync"/>
/// tells the broker it may forget the message; a consumer that never calls it gets the message again from the
/// broker after a reconnect. Calling it after the connection the message came on is gone does nothing (the
/// broker redelivers it then, with a packet id that may now name another message).
/// </summary>
public sealed class InboundMessage(string topic, ReadOnlyMemory<byte> payload, Func<CancellationToken, ValueTask> ack)
{
    public string Topic { get; } = topic;

    public ReadOnlyMemory<byte> Payload { get; } = payload;

    public ValueTask AckAsync(CancellationToken cancellationToken) => ack(cancellationToken);
}

/// <summary>What a consumer subscribes to, and how.</summary>
public sealed record MessageSourceOptions(string ClientId, IReadOnlyList<string> Filters)
{
    /// <summary>
    /// A clean session forgets everything at disconnect; a persistent one (the default) keeps its subscriptions
    /// and the broker queues for it while it is away.
    /// </summary>
    public bool CleanStart { get; init; }

    /// <summary>
    /// Messages handed over but not yet acknowledged, at most (MQTT 5 receive maximum, 1..65535). When the consumer
    /// acknowledges on its own (<see cref="AutoAck"/> false) this bounds what it holds in memory.
    /// </summary>
    public int ReceiveMaximum { get; init; } = 65535;

    /// <summary>Acknowledge each message as soon as the handler returns (a consumer that loses nothing by a crash).</summary>
    public bool AutoAck { get; init; }

    /// <summary>
    /// Subscribe at QoS 0: the broker sends and forgets, with no acknowledgement, window or queue per message. For a
    /// clean-session consumer that does not replay what it missed anyway.
    /// </summary>
    public bool AtMostOnce { get; init; }

    /// <summary>Awaited after each connect, before subscribing (the rules engine waits for the ingestion's subscription).</summary>
    public Func<CancellationToken, Task>? BeforeSubscribe { get; init; }

    /// <summary>Called after each successful subscribe.</summary>
    public Action? Subscribed { get; init; }

    /// <summary>Called when the connection drops (the broker may then hold the subscription alone).</summary>
    public Action? Lost { get; init; }

    /// <summary>
    /// Where the broker keeps what it acknowledged in a stream (the NATS mode, docs/scaling.md), some of
    /// <see cref="Filters"/> are read through a durable consumer of their own instead of a subscription, so what
    /// arrives while no consumer reads is handed over on return. A broker without a stream (Mosquitto) ignores this.
    /// </summary>
    public StreamReplay? Replay { get; init; }
}

/// <summary>
/// A durable read of a broker's stream (<see cref="MessageSourceOptions.Replay"/>): <paramref name="Filters"/> through
/// the consumer <paramref name="Durable"/>, which keeps its place while nobody reads; on return, what arrived more than
/// <paramref name="Window"/> ago is acknowledged without being handed over, and the broker forgets the consumer once
/// nobody has read it for longer than the window (so the stream does not keep messages for it for ever).
/// </summary>
public sealed record StreamReplay(string Durable, IReadOnlyList<string> Filters, TimeSpan Window);

/// <summary>A subscription that hands each message, in arrival order, to a handler, reconnecting until cancelled.</summary>
public interface IMessageSource
{
    Task RunAsync(Func<InboundMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken);
}

/// <summary>Opens message sources; the cloud's one way to reach the broker, so tests can hand it fakes.</summary>
public interface IMessageSources
{
    IMessageSource Open(MessageSourceOptions options);
}
