using System.Collections.Concurrent;
using IoTPilots.Contract;

namespace IoTPilots.Edge.Polling;

/// <summary>
/// The latest good value of each device's fields as the pollers read them, for the command gate's manual lock (a
/// hand/auto switch read like any other signal). A field whose reading is not good is forgotten until it reads
/// good again: a stale value must not stand in for the switch's present state.
/// </summary>
public sealed class LatestValues
{
    private readonly ConcurrentDictionary<(string Device, string Field), (double Value, DateTimeOffset At)> _values = new();

    /// <summary>When the newest good reading of any device was sampled: the inventory's probation asks whether a device answered.</summary>
    public DateTimeOffset? LastGood { get; private set; }

    public double? Get(string device, string field) => _values.TryGetValue((device, field), out var v) ? v.Value : null;

    /// <summary>The latest good value with the time it was sampled.</summary>
    public (double Value, DateTimeOffset At)? Read(string device, string field) => _values.TryGetValue((device, field), out var v) ? v : null;

    public void Update(string device, IEnumerable<Reading> readings)
    {
        foreach (var r in readings)
        {
            if (r.Quality == Quality.Good && r.Value is { } v)
            {
                _values[(device, r.Field)] = (v, r.Timestamp);
                LastGood = LastGood > r.Timestamp ? LastGood : r.Timestamp;
            }
            else
            {
                _values.TryRemove((device, r.Field), out _);
            }
        }
    }
}
