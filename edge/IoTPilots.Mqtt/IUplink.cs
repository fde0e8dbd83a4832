namespace IoTPilots.Mqtt;

/// <summary>What became of one published record.</summary>
public enum PublishOutcome
{
    /// <summary>The far end acknowledged it (MQTT PUBACK): it may leave the queue.</summary>
    Acked,

    /// <summary>The broker took it but nobody subscribes, so it was thrown away: it stays queued and the sender holds.</summary>
    NoSubscriber,

    /// <summary>Refused, timed out or cut off with the link: it stays queued and goes out again.</summary>
    Failed,
}

/// <summary>
/// The gateway's link to the cloud, as the store-and-forward drainer needs it, with no MQTT type in sight:
/// publish one queued record at least once and say what became of it, publish the gateway status, and count
/// connections so the drainer knows that whatever it had in flight before a reconnect is unsent. Many
/// publishes may be outstanding at once; each completes on its own acknowledgement, in any order.
/// </summary>
public interface IUplink : IAsyncDisposable
{
    /// <summary>Counts successful connects; a new value means a new connection, and nothing in flight before it counts as sent.</summary>
    long Connection { get; }

    /// <summary>Raised (on any thread) after each successful connect, once <see cref="Connection"/> has its new value.</summary>
    event EventHandler? Connected;

    bool IsConnected { get; }

    /// <summary>
    /// Unacknowledged publishes the far end accepts at once on this connection: an MQTT 5 server's Receive
    /// Maximum ("The Client MUST NOT send more than Receive Maximum QoS 1 and QoS 2 PUBLISH packets for which it
    /// has not received PUBACK", MQTT 5.0 §4.9); 65535, the packet-id space, when it sets none.
    /// </summary>
    int MaxInFlight { get; }

    /// <summary>Completes once connected (at once if connected now).</summary>
    Task WaitConnectedAsync(CancellationToken cancellationToken);

    /// <summary>Connects, and reconnects whenever the link drops, until cancelled.</summary>
    Task RunAsync(CancellationToken cancellationToken);

    /// <summary>Publishes one record at QoS 1; completes when the far end acknowledged it, or with why not. Throws only when cancelled.</summary>
    Task<PublishOutcome> PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    /// <summary>Publishes the gateway's status where the far end keeps it (a retained topic); a no-op where it cannot.</summary>
    Task PublishStatusAsync(ReadOnlyMemory<byte> status, CancellationToken cancellationToken);

    /// <summary>
    /// Subscribes to <paramref name="topic"/> (a topic name, no wildcards) at QoS 1 on this and every later connection,
    /// handing each message's payload to <paramref name="handler"/>; the broker has the message acknowledged when the
    /// handler returns, so keep it short (queue the work). Call it before <see cref="RunAsync"/>, so messages the broker
    /// kept for this gateway's session while it was away find their handler. False where the far end has no such
    /// topics (the adapter says so in its log).
    /// </summary>
    bool Subscribe(string topic, Func<ReadOnlyMemory<byte>, CancellationToken, Task> handler) => false;
}
