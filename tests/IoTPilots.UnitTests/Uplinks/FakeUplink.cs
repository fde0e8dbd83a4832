using System.Text;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Uplinks;

/// <summary>
/// An uplink in memory. Each publish waits for the test to answer it (<see cref="Answer"/>), or, with
/// <see cref="RoundTrip"/> set, answers itself that long later on the fake clock, with <see cref="Outcome"/>.
/// <see cref="Drop"/> cuts the link and loses every answer still owed; <see cref="Connect"/> opens a new connection.
/// </summary>
public sealed class FakeUplink(FakeTimeProvider time) : IUplink
{
    private readonly Lock _gate = new();
    private readonly List<Pending> _pending = [];
    private readonly List<ITimer> _timers = [];
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _connection;

    public TimeSpan? RoundTrip { get; set; }

    public Func<long, PublishOutcome> Outcome { get; set; } = _ => PublishOutcome.Acked;

    /// <summary>Every publish, in the order sent: (seq, connection).</summary>
    public List<(long Seq, long Connection)> Sent { get; } = [];

    public List<string> Statuses { get; } = [];

    public int MaxInFlight { get; set; }

    /// <summary>The broker's Receive Maximum.</summary>
    int IUplink.MaxInFlight => ReceiveMaximum;

    public int ReceiveMaximum { get; set; } = ushort.MaxValue;

    public long Connection => Interlocked.Read(ref _connection);

    public bool IsConnected => _connected.Task.IsCompleted;

    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    public IReadOnlyList<long> PendingSeqs
    {
        get
        {
            lock (_gate)
            {
                return [.. _pending.Select(p => p.Seq)];
            }
        }
    }

    public int SentCount
    {
        get
        {
            lock (_gate)
            {
                return Sent.Count;
            }
        }
    }

    public event EventHandler? Connected;

    public void Connect()
    {
        Interlocked.Increment(ref _connection);
        _connected.TrySetResult();
        Connected?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>The link drops: answers still owed never come (lost PUBACKs); the adapter would fail them, the drainer must not wait for them.</summary>
    public void Drop(bool failPending = false)
    {
        List<Pending> lost;
        lock (_gate)
        {
            _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lost = [.. _pending];
            _pending.Clear();
        }

        foreach (var p in lost.Where(_ => failPending))
        {
            p.Answer.TrySetResult(PublishOutcome.Failed);
        }
    }

    /// <summary>Answers the owed publishes of <paramref name="seqs"/>, in that order.</summary>
    public void Answer(IEnumerable<long> seqs, PublishOutcome outcome = PublishOutcome.Acked)
    {
        foreach (var seq in seqs)
        {
            Pending? p;
            lock (_gate)
            {
                p = _pending.FirstOrDefault(x => x.Seq == seq);
                if (p is not null)
                {
                    _pending.Remove(p);
                }
            }

            p?.Answer.TrySetResult(outcome);
        }
    }

    public Task WaitConnectedAsync(CancellationToken cancellationToken) => _connected.Task.WaitAsync(cancellationToken);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public Task<PublishOutcome> PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var seq = long.Parse(topic.AsSpan(2), provider: null);
        var pending = new Pending(seq, new TaskCompletionSource<PublishOutcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_gate)
        {
            Sent.Add((seq, Connection));
            _pending.Add(pending);
            MaxInFlight = Math.Max(MaxInFlight, _pending.Count);
        }

        if (RoundTrip == TimeSpan.Zero)
        {
            Answer([seq], Outcome(seq));
        }
        else if (RoundTrip is { } rtt)
        {
            // The answer arrives one round trip later on the fake clock, inside FakeTimeProvider.Advance.
            var connection = Connection;
            var timer = time.CreateTimer(
                _ =>
                {
                    if (connection == Connection && IsConnected)
                    {
                        Answer([seq], Outcome(seq));
                    }
                },
                null,
                rtt,
                Timeout.InfiniteTimeSpan);
            lock (_gate)
            {
                _timers.Add(timer);
            }
        }

        return pending.Answer.Task.WaitAsync(cancellationToken);
    }

    public Task PublishStatusAsync(ReadOnlyMemory<byte> status, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Statuses.Add(Encoding.UTF8.GetString(status.Span));
        }

        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var timer in _timers)
        {
            await timer.DisposeAsync();
        }
    }

    private sealed record Pending(long Seq, TaskCompletionSource<PublishOutcome> Answer);
}
