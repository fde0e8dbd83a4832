using IoTPilots.Edge.Queue;

namespace IoTPilots.Edge.Publishing;

/// <summary>What the <see cref="UplinkDrainer"/> needs of the store-and-forward queue (<see cref="EdgeQueue"/>).</summary>
public interface IDrainQueue
{
    /// <summary>Unsent records.</summary>
    int Count { get; }

    /// <summary>The highest sequence number appended so far.</summary>
    long LastSeq { get; }

    /// <summary>The record, or null when it was acknowledged or dropped meanwhile.</summary>
    QueuedRecord? Read(long seq);

    /// <summary>The first unacknowledged seq in [<paramref name="from"/>, <paramref name="toExclusive"/>), if any.</summary>
    long? FirstUnacked(long from, long toExclusive = long.MaxValue);

    /// <summary>Marks one record sent; in any order.</summary>
    void Ack(long seq);

    /// <summary>Makes the acknowledgements durable.</summary>
    void SaveAcks();

    /// <summary>Completes when something is appended after the call (at once if something was since the last wait), or after <paramref name="timeout"/>.</summary>
    Task WaitForAppendAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
