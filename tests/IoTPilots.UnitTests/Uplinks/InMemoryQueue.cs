using System.Text;
using IoTPilots.Edge.Publishing;
using IoTPilots.Edge.Queue;

namespace IoTPilots.UnitTests.Uplinks;

/// <summary>The drainer's view of the queue, in memory: records numbered from 1, each with topic <c>t/{seq}</c>.</summary>
public sealed class InMemoryQueue : IDrainQueue
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, QueuedRecord> _unacked = [];
    private readonly AppendSignal _appended = new();
    private long _lastSeq;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _unacked.Count;
            }
        }
    }

    public long LastSeq
    {
        get
        {
            lock (_gate)
            {
                return _lastSeq;
            }
        }
    }

    public int Saves { get; private set; }

    public void Append(int count)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                var seq = ++_lastSeq;
                _unacked[seq] = new QueuedRecord(seq, RecordKind.Telemetry, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 1, $"t/{seq}", Encoding.UTF8.GetBytes($"{{\"seq\":{seq}}}"));
            }

            _appended.Set();
        }
    }

    public QueuedRecord? Read(long seq)
    {
        lock (_gate)
        {
            return _unacked.GetValueOrDefault(seq);
        }
    }

    public long? FirstUnacked(long from, long toExclusive = long.MaxValue)
    {
        lock (_gate)
        {
            foreach (var seq in _unacked.Keys)
            {
                if (seq >= toExclusive)
                {
                    return null;
                }

                if (seq >= from)
                {
                    return seq;
                }
            }

            return null;
        }
    }

    public void Ack(long seq)
    {
        lock (_gate)
        {
            _unacked.Remove(seq);
        }
    }

    public void SaveAcks() => Saves++;

    public Task WaitForAppendAsync(TimeSpan timeout, CancellationToken cancellationToken) => _appended.WaitAsync(timeout, cancellationToken);
}
