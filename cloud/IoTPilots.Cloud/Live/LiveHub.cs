namespace IoTPilots.Cloud.Live;

/// <summary>One server-sent event, serialized once and shared by every viewer that may see its site.</summary>
/// <param name="Key">What it updates (a tile or a gateway): a newer event with the same key replaces an unsent one.</param>
/// <param name="Site">Whose site it is; null for events every viewer gets (the clock's heartbeat).</param>
public sealed record LiveEvent(string Kind, string Key, string? Site, string Data);

/// <summary>
/// One viewer's pending events, bounded: an update to a tile that is still waiting replaces it (only the latest
/// state matters), so a slow viewer's queue holds at most one event per tile. Past <see cref="Capacity"/> distinct
/// keys it is <see cref="Overflowed"/> and the connection is closed: the page reconnects by itself and starts again
/// from a snapshot, instead of the server holding a backlog for it. Pure.
/// </summary>
public sealed class LiveSubscriber(Func<string, bool> canSee, int capacity)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LiveEvent> _pending = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly Dictionary<string, bool> _sites = new(StringComparer.Ordinal);
    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Capacity { get; } = capacity;

    /// <summary>Events replaced by a newer one before they were sent.</summary>
    public long Coalesced { get; private set; }

    public bool Overflowed { get; private set; }

    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Queues <paramref name="e"/> if this viewer may see its site; false when it had to be refused (overflow).</summary>
    public bool Offer(LiveEvent e)
    {
        lock (_gate)
        {
            if (Overflowed)
            {
                return false;
            }

            // A viewer's sites do not change while it is connected (a new login is a new connection), so ask once per site.
            if (e.Site is { } site && !(_sites.TryGetValue(site, out var visible) ? visible : _sites[site] = canSee(site)))
            {
                return true;
            }

            if (_pending.ContainsKey(e.Key))
            {
                _pending[e.Key] = e;
                Coalesced++;
            }
            else if (_pending.Count >= Capacity)
            {
                Overflowed = true;
                _pending.Clear();
                _order.Clear();
            }
            else
            {
                _pending[e.Key] = e;
                _order.Enqueue(e.Key);
            }

            _ready.TrySetResult();
            return !Overflowed;
        }
    }

    /// <summary>Completes when something is pending (or the viewer overflowed), or at <paramref name="cancellationToken"/>.</summary>
    public Task WaitAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _ready.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Everything pending, oldest first.</summary>
    public List<LiveEvent> Take()
    {
        lock (_gate)
        {
            var events = new List<LiveEvent>(_order.Count);
            while (_order.TryDequeue(out var key))
            {
                events.Add(_pending[key]);
            }

            _pending.Clear();
            if (!Overflowed)
            {
                _ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return events;
        }
    }
}

/// <summary>The viewers connected to <c>/live/events</c>, and the fan-out of each update to those who may see it.</summary>
public sealed class LiveHub
{
    /// <summary>Distinct tiles a viewer may have waiting; the whole fleet's tiles and gateways fit many times over.</summary>
    public const int DefaultCapacity = 4096;

    private readonly Lock _gate = new();
    private LiveSubscriber[] _subscribers = [];

    public int Count => Volatile.Read(ref _subscribers).Length;

    public LiveSubscriber Subscribe(Func<string, bool> canSee, int capacity = DefaultCapacity)
    {
        var subscriber = new LiveSubscriber(canSee, capacity);
        lock (_gate)
        {
            _subscribers = [.. _subscribers, subscriber];
        }

        return subscriber;
    }

    public void Unsubscribe(LiveSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers = [.. _subscribers.Where(s => s != subscriber)];
        }
    }

    public void Publish(LiveEvent e)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.Offer(e);
        }
    }
}
