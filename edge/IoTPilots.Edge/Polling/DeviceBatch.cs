using System.Threading.Channels;
using IoTPilots.Contract;
using IoTPilots.Edge.Devices;

namespace IoTPilots.Edge.Polling;

/// <summary>The readings of one poll of one device.</summary>
public sealed record DeviceBatch(DeviceConfig Device, IReadOnlyList<Reading> Readings);

/// <summary>The hand-over between polling and publishing.</summary>
public sealed class ReadingBuffer
{
    /// <summary>Polls held while the uplink is down. The disk-backed queue (issue 5) replaces this bound.</summary>
    public const int Capacity = 20_000;

    private readonly Channel<DeviceBatch> _channel;

    public ReadingBuffer(EdgeMetrics metrics)
    {
        _channel = Channel.CreateBounded<DeviceBatch>(
            new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped => metrics.Dropped.Add(dropped.Readings.Count));
    }

    public ChannelWriter<DeviceBatch> Writer => _channel.Writer;

    public ChannelReader<DeviceBatch> Reader => _channel.Reader;

    public int Count => _channel.Reader.Count;
}
