using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Publishing;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Queue;

/// <summary>
/// The gateway's store-and-forward queue: polls go in as encoded telemetry messages numbered with the gateway
/// sequence, the publisher takes them out and acknowledges each once the broker has. Serializes the polling
/// writers and the publisher around one <see cref="DiskQueue"/>.
/// </summary>
public sealed class EdgeQueue : IDrainQueue, IDisposable
{
    private readonly Lock _gate = new();
    private readonly DiskQueue _queue;
    private readonly Inventory _inventory;
    private readonly EdgeMetrics _metrics;
    private readonly AppendSignal _appended = new();
    private readonly ITimer? _syncTimer;

    public EdgeQueue(Inventory inventory, EdgeMetrics metrics, TimeProvider time, ILogger<EdgeQueue> logger, EdgeSettings? edge = null)
    {
        _inventory = inventory;
        _metrics = metrics;
        var settings = inventory.Queue;
        var dir = settings.Directory ?? Path.Combine(edge?.StateDir ?? EdgeSettings.DefaultStateDir, inventory.Gateway);
        _queue = DiskQueue.Open(
            new DiskQueueOptions
            {
                Directory = dir,
                MaxBytes = settings.MaxBytes,
                OnFull = settings.OnFull == "drop-newest" ? FullPolicy.DropNewest : FullPolicy.DropOldest,
                MaxAge = settings.MaxAge,
                OnExpired = settings.OnExpired == "keep" ? AgePolicy.Keep : AgePolicy.Drop,
                FsyncEachAppend = settings.Fsync,
                FsyncBatch = settings.FsyncBatch,
                GapRecord = (gap, seq, epoch) => (
                    GapReport.Topic(inventory.Site, inventory.Gateway),
                    new GapReport(inventory.Site, inventory.Gateway, seq, gap.FirstSeq, gap.LastSeq, gap.Messages, gap.Readings, gap.From, gap.To, gap.Reason) { Epoch = epoch, Unnumbered = gap.Unnumbered }.Encode()),
            },
            time,
            logger);
        Directory = dir;
        if (settings.Fsync && settings.FsyncBatch > TimeSpan.Zero)
        {
            // Group commit (DiskQueueOptions.FsyncBatch): the records appended since the last fsync, forced to disk at the interval's end.
            _syncTimer = time.CreateTimer(_ => SyncDue(logger), null, settings.FsyncBatch, settings.FsyncBatch);
        }

        logger.LogInformation("Queue {Directory}: {Count} unsent record(s), epoch {Epoch}, last seq {Seq}", dir, _queue.Count, _queue.Epoch.Length > 0 ? _queue.Epoch : "(none)", _queue.LastSeq);
    }

    public string Directory { get; }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    public long LastSeq
    {
        get
        {
            lock (_gate)
            {
                return _queue.LastSeq;
            }
        }
    }

    public DateTimeOffset? OldestUnsent
    {
        get
        {
            lock (_gate)
            {
                return _queue.OldestUnsent;
            }
        }
    }

    /// <summary>Stores one poll durably (fsync'd) as one or more messages, each with the next sequence number.</summary>
    public void Enqueue(DeviceBatch batch)
    {
        lock (_gate)
        {
            for (var i = 0; i < batch.Readings.Count; i += TelemetryMessage.MaxReadings)
            {
                var part = batch.Readings.Skip(i).Take(TelemetryMessage.MaxReadings).ToList();
                var record = _queue.Append(
                    RecordKind.Telemetry,
                    part.Count,
                    part.Min(r => r.Timestamp),
                    Topics.Telemetry(batch.Device.Site, _inventory.Gateway, batch.Device.Id),
                    seq => TelemetryCodec.Encode(new TelemetryMessage(batch.Device.Pilot, batch.Device.Site, _inventory.Gateway, batch.Device.Id, seq, part) { Epoch = _queue.Epoch }));
                if (record is null)
                {
                    _metrics.Dropped.Add(part.Count);
                }
            }

            _appended.Set();
        }
    }

    public QueuedRecord? Read(long seq)
    {
        lock (_gate)
        {
            return _queue.Read(seq);
        }
    }

    public long? FirstUnacked(long from, long toExclusive = long.MaxValue)
    {
        lock (_gate)
        {
            return _queue.FirstUnacked(from, toExclusive);
        }
    }

    public void Ack(long seq)
    {
        lock (_gate)
        {
            _queue.Ack(seq);
        }
    }

    public void SaveAcks()
    {
        lock (_gate)
        {
            _queue.SaveAcks();
        }
    }

    /// <summary>Completes when something is appended after the call (or at once if something was since the last wait).</summary>
    public Task WaitForAppendAsync(TimeSpan timeout, CancellationToken cancellationToken) => _appended.WaitAsync(timeout, cancellationToken);

    private void SyncDue(ILogger logger)
    {
        try
        {
            lock (_gate)
            {
                _queue.SyncIfDue();
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The next append or tick tries again; the records are with the OS meanwhile.
            logger.LogWarning("Queue {Directory}: fsync failed ({Error})", Directory, ex.Message);
        }
    }

    public void Dispose()
    {
        _syncTimer?.Dispose();
        lock (_gate)
        {
            _queue.Dispose();
        }
    }
}
