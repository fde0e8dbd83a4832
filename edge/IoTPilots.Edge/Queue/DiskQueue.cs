using System.Buffers.Binary;
using System.Globalization;
using IoTPilots.Contract;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Queue;

/// <summary>What to do when the byte budget is full.</summary>
public enum FullPolicy
{
    /// <summary>Drop the oldest unsent records to make room (keep the newest data).</summary>
    DropOldest,

    /// <summary>Refuse new records (keep the oldest data).</summary>
    DropNewest,
}

/// <summary>What to do with records older than the age budget.</summary>
public enum AgePolicy
{
    Drop,
    Keep,
}

/// <summary>
/// What the queue dropped, and why: sent later as a gap record so the loss is never silent. <see cref="Unnumbered"/>
/// counts the messages among <see cref="Messages"/> refused before they got a sequence number (drop-newest): they
/// leave no hole in FirstSeq..LastSeq, and the cloud must not subtract them from the holes it finds.
/// </summary>
public sealed record GapInfo(long FirstSeq, long LastSeq, int Messages, long Readings, DateTimeOffset From, DateTimeOffset To, string Reason, int Unnumbered = 0);

public sealed record DiskQueueOptions
{
    public required string Directory { get; init; }

    /// <summary>Byte budget of unsent data on disk [U: size it to the gateway's free space].</summary>
    public long MaxBytes { get; init; } = 1L << 30;

    public FullPolicy OnFull { get; init; } = FullPolicy.DropOldest;

    /// <summary>Age budget: unsent records older than this are dropped (<see cref="AgePolicy.Drop"/>) or kept.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(30);

    public AgePolicy OnExpired { get; init; } = AgePolicy.Drop;

    public int SegmentBytes { get; init; } = 4 << 20;

    /// <summary>fsync appends, so a power cut loses at most the record being written (or, batched, <see cref="FsyncBatch"/>).</summary>
    public bool FsyncEachAppend { get; init; } = true;

    /// <summary>
    /// Zero: fsync every append. More: group commit. Each append still reaches the OS at once (a crash of the agent
    /// loses nothing), and fsyncs are at most this far apart. The first append after a quiet spell is synced at
    /// once; those that follow it within the interval are synced by <see cref="DiskQueue.SyncIfDue"/>. So a power
    /// cut loses at most the records of the last interval.
    /// </summary>
    public TimeSpan FsyncBatch { get; init; }

    /// <summary>Builds the gap record (topic, payload) for a drop, given the seq it is assigned.</summary>
    public Func<GapInfo, long, string, (string Topic, byte[] Payload)>? GapRecord { get; init; }
}

/// <summary>
/// The edge's store-and-forward queue: append-only segment files of length-prefixed, CRC-32-checked records,
/// so a reading measured on site survives a dropped link, a restart, <c>kill -9</c> or a power cut.
/// Every record gets the next gateway sequence number when appended; the cloud counts gaps with it.
/// Records are acknowledged individually (live and backlog drain side by side); acknowledgements are saved
/// to a small file, and a segment is deleted once all its records are acknowledged. On open, a torn last
/// record (a write cut short) is detected by its length or CRC, cut off, and counted.
/// Not thread-safe: one polling writer and one publisher, serialized by the caller's lock.
/// </summary>
public sealed class DiskQueue : IDisposable
{
    private const int HeaderBytes = 8;
    private readonly DiskQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly List<Segment> _segments = [];
    private readonly string _ackFile;
    private FileStream? _writer;
    private long _lastSeq;
    private bool _acksDirty;
    private GapInfo? _pendingGap;
    private bool _unsynced;
    private DateTimeOffset _lastSync = DateTimeOffset.MinValue;

    private DiskQueue(DiskQueueOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _ackFile = Path.Combine(options.Directory, "acked");
    }

    /// <summary>Highest sequence number ever assigned.</summary>
    public long LastSeq => _lastSeq;

    /// <summary>
    /// Names this queue's numbering (see <see cref="TelemetryMessage.Epoch"/>): made, from the UTC time and a random
    /// suffix, when the queue starts from nothing, and kept in the file <c>epoch</c> for the queue's life. Empty
    /// for a queue with history but no such file, made before epochs existed: its numbering goes on unchanged.
    /// </summary>
    public string Epoch { get; private set; } = "";

    /// <summary>Unsent (unacknowledged) records.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes of unsent records on disk.</summary>
    public long Bytes { get; private set; }

    /// <summary>Records cut off at open because they were torn (a write interrupted by a crash or power cut).</summary>
    public int TornRecordsDropped { get; private set; }

    public long DroppedMessages { get; private set; }

    public DateTimeOffset? OldestUnsent { get; private set; }

    private sealed class Segment(string path, long firstSeq)
    {
        public string Path { get; } = path;

        public long FirstSeq { get; } = firstSeq;

        public List<int> Offsets { get; } = [];

        public List<int> Lengths { get; } = [];

        public List<bool> Acked { get; } = [];

        public List<long> EnqueuedMs { get; } = [];

        public List<int> Readings { get; } = [];

        public List<long> OldestReadingMs { get; } = [];

        public long Length { get; set; }

        /// <summary>Index before which every record is acknowledged; only moves forward.</summary>
        public int Cursor { get; set; }

        public long LastSeq => FirstSeq + Offsets.Count - 1;

        public bool AllAcked => FirstUnackedIndex() < 0;

        public int FirstUnackedIndex()
        {
            while (Cursor < Acked.Count && Acked[Cursor])
            {
                Cursor++;
            }

            return Cursor < Acked.Count ? Cursor : -1;
        }
    }

    public static DiskQueue Open(DiskQueueOptions options, TimeProvider time, ILogger logger)
    {
        Directory.CreateDirectory(options.Directory);
        var queue = new DiskQueue(options, time, logger);
        queue.Recover();
        return queue;
    }

    private void Recover()
    {
        var acked = LoadAcks();
        var files = Directory.GetFiles(_options.Directory, "seg-*.log")
            .Select(f => (Path: f, First: long.Parse(Path.GetFileNameWithoutExtension(f)[4..], CultureInfo.InvariantCulture)))
            .OrderBy(f => f.First)
            .ToList();
        foreach (var (path, first) in files)
        {
            var segment = new Segment(path, first);
            var torn = Scan(segment);
            if (segment.Offsets.Count == 0)
            {
                File.Delete(path);
                continue;
            }

            if (torn > 0)
            {
                TornRecordsDropped += torn;
            }

            _segments.Add(segment);
        }

        if (TornRecordsDropped > 0)
        {
            _logger.LogWarning("Queue {Directory}: dropped {Torn} torn record(s) left by a crash or power cut; every complete record was kept", _options.Directory, TornRecordsDropped);
        }

        _lastSeq = Math.Max(acked.Watermark, _segments.Count > 0 ? _segments[^1].LastSeq : 0);
        Epoch = LoadOrCreateEpoch();
        foreach (var segment in _segments)
        {
            for (var i = 0; i < segment.Offsets.Count; i++)
            {
                var seq = segment.FirstSeq + i;
                var isAcked = seq <= acked.Watermark || acked.Above.Contains(seq);
                segment.Acked[i] = isAcked;
                if (!isAcked)
                {
                    Count++;
                    Bytes += segment.Lengths[i] + HeaderBytes;
                }
            }
        }

        DeleteAckedSegments();
        UpdateOldest();
    }

    /// <summary>Reads a segment's records; cuts the file at the first torn or corrupt record and returns how many were cut.</summary>
    private int Scan(Segment segment)
    {
        using var file = new FileStream(segment.Path, FileMode.Open, FileAccess.ReadWrite);
        var header = new byte[HeaderBytes];
        long position = 0;
        while (true)
        {
            if (file.Read(header, 0, HeaderBytes) < HeaderBytes)
            {
                break;
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(header);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            if (length <= 0 || length > 64 << 20 || position + HeaderBytes + length > file.Length)
            {
                break;
            }

            var payload = new byte[length];
            file.ReadExactly(payload);
            if (Crc32.Compute(payload) != crc)
            {
                break;
            }

            var record = QueuedRecord.Deserialize(payload);
            if (record.Seq != segment.FirstSeq + segment.Offsets.Count)
            {
                break;
            }

            segment.Offsets.Add((int)position);
            segment.Lengths.Add(length);
            segment.Acked.Add(false);
            segment.EnqueuedMs.Add(record.EnqueuedAt.ToUnixTimeMilliseconds());
            segment.Readings.Add(record.Readings);
            segment.OldestReadingMs.Add(record.OldestReading.ToUnixTimeMilliseconds());
            position += HeaderBytes + length;
        }

        var cut = position < file.Length ? 1 : 0;
        if (cut > 0)
        {
            file.SetLength(position);
            file.Flush(flushToDisk: true);
        }

        segment.Length = position;
        return cut;
    }

    /// <summary>
    /// Appends a record with the next sequence number; <paramref name="payloadForSeq"/> builds the payload
    /// knowing it. Enforces the budgets first. Returns null when the byte budget refused it (drop-newest).
    /// </summary>
    public QueuedRecord? Append(RecordKind kind, int readings, DateTimeOffset oldestReading, string topic, Func<long, byte[]> payloadForSeq)
    {
        EnforceAge();
        var now = _time.GetUtcNow();
        var seq = _lastSeq + 1;
        var record = new QueuedRecord(seq, kind, now, oldestReading, readings, topic, payloadForSeq(seq));
        var bytes = record.Serialize();
        if (!MakeRoom(bytes.Length + HeaderBytes))
        {
            // Drop-newest: the new record is the loss. Its seq is not used, so it leaves no hole in the sequence.
            // The gap record follows the next record that fits, so a full queue is not flooded with them.
            NoteDrop(new GapInfo(0, 0, 1, readings, oldestReading, oldestReading, "byte budget full (drop-newest)", Unnumbered: 1));
            DroppedMessages++;
            return null;
        }

        Write(record, bytes);
        FlushGap();
        return record;
    }

    private void Write(QueuedRecord record, byte[] bytes)
    {
        var segment = _segments.Count > 0 ? _segments[^1] : null;
        if (segment is null || segment.Length + bytes.Length + HeaderBytes > _options.SegmentBytes)
        {
            if (_unsynced && _options.FsyncEachAppend)
            {
                Sync();
            }

            _writer?.Dispose();
            _writer = null;
            segment = new Segment(Path.Combine(_options.Directory, $"seg-{record.Seq:D20}.log"), record.Seq);
            _segments.Add(segment);
        }

        _writer ??= new FileStream(segment.Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        var header = new byte[HeaderBytes];
        BinaryPrimitives.WriteInt32LittleEndian(header, bytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), Crc32.Compute(bytes));
        _writer.Write(header);
        _writer.Write(bytes);
        _writer.Flush(flushToDisk: false);
        _unsynced = true;
        if (_options.FsyncEachAppend && (_options.FsyncBatch <= TimeSpan.Zero || _time.GetUtcNow() - _lastSync >= _options.FsyncBatch))
        {
            Sync();
        }

        segment.Offsets.Add((int)segment.Length);
        segment.Lengths.Add(bytes.Length);
        segment.Acked.Add(false);
        segment.EnqueuedMs.Add(record.EnqueuedAt.ToUnixTimeMilliseconds());
        segment.Readings.Add(record.Readings);
        segment.OldestReadingMs.Add(record.OldestReading.ToUnixTimeMilliseconds());
        segment.Length += bytes.Length + HeaderBytes;
        _lastSeq = record.Seq;
        Count++;
        Bytes += bytes.Length + HeaderBytes;
        OldestUnsent ??= record.OldestReading;
    }

    /// <summary>How many times appended records were forced to the disk (fsync).</summary>
    public long Syncs { get; private set; }

    /// <summary>Forces appended records to the disk if any wait for it and the batch interval has passed; the caller's timer calls it.</summary>
    public bool SyncIfDue()
    {
        if (!_unsynced || !_options.FsyncEachAppend || _time.GetUtcNow() - _lastSync < _options.FsyncBatch)
        {
            return false;
        }

        Sync();
        return true;
    }

    private void Sync()
    {
        if (_writer is null)
        {
            return;
        }

        _writer.Flush(flushToDisk: true);
        _lastSync = _time.GetUtcNow();
        _unsynced = false;
        Syncs++;
    }

    private bool MakeRoom(long needed)
    {
        while (Bytes + needed > _options.MaxBytes && Count > 0)
        {
            if (_options.OnFull == FullPolicy.DropNewest)
            {
                return false;
            }

            DropOldest("byte budget full (drop-oldest)");
        }

        return Bytes + needed <= _options.MaxBytes || Count == 0;
    }

    private void EnforceAge()
    {
        if (_options.OnExpired != AgePolicy.Drop)
        {
            return;
        }

        var limit = (_time.GetUtcNow() - _options.MaxAge).ToUnixTimeMilliseconds();
        while (Count > 0 && FirstUnackedLocation() is var (s, i) && _segments[s].EnqueuedMs[i] < limit)
        {
            DropOldest($"older than the age budget of {_options.MaxAge.TotalDays:0.#} days");
        }
    }

    private void DropOldest(string reason)
    {
        var (s, i) = FirstUnackedLocation()!.Value;
        var segment = _segments[s];
        var seq = segment.FirstSeq + i;
        var at = DateTimeOffset.FromUnixTimeMilliseconds(segment.OldestReadingMs[i]);
        NoteDrop(new GapInfo(seq, seq, 1, segment.Readings[i], at, at, reason));
        MarkAcked(s, i);
        DroppedMessages++;
    }

    private void NoteDrop(GapInfo drop)
    {
        _pendingGap = _pendingGap is null
            ? drop
            : _pendingGap with
            {
                FirstSeq = _pendingGap.FirstSeq == 0 ? drop.FirstSeq : Math.Min(_pendingGap.FirstSeq, drop.FirstSeq == 0 ? long.MaxValue : drop.FirstSeq),
                LastSeq = Math.Max(_pendingGap.LastSeq, drop.LastSeq),
                Messages = _pendingGap.Messages + drop.Messages,
                Unnumbered = _pendingGap.Unnumbered + drop.Unnumbered,
                Readings = _pendingGap.Readings + drop.Readings,
                From = drop.From < _pendingGap.From ? drop.From : _pendingGap.From,
                To = drop.To > _pendingGap.To ? drop.To : _pendingGap.To,
            };
    }

    /// <summary>Queues the gap record describing what was just dropped (it is small, and allowed past the budget).</summary>
    private void FlushGap()
    {
        if (_pendingGap is not { } gap || _options.GapRecord is null)
        {
            return;
        }

        _pendingGap = null;
        _logger.LogWarning("Queue dropped {Messages} message(s) with {Readings} readings from {From:O} to {To:O}: {Reason}", gap.Messages, gap.Readings, gap.From, gap.To, gap.Reason);
        var seq = _lastSeq + 1;
        var (topic, payload) = _options.GapRecord(gap, seq, Epoch);
        var record = new QueuedRecord(seq, RecordKind.Gap, _time.GetUtcNow(), gap.From, 0, topic, payload);
        Write(record, record.Serialize());
        DeleteAckedSegments();
    }

    /// <summary>The record, or null when it is acknowledged, dropped or unknown.</summary>
    public QueuedRecord? Read(long seq)
    {
        if (Locate(seq) is not var (s, i) || _segments[s].Acked[i])
        {
            return null;
        }

        var segment = _segments[s];
        using var file = new FileStream(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        file.Position = segment.Offsets[i] + HeaderBytes;
        var payload = new byte[segment.Lengths[i]];
        file.ReadExactly(payload);
        return QueuedRecord.Deserialize(payload);
    }

    /// <summary>The first unacknowledged seq in [<paramref name="from"/>, <paramref name="toExclusive"/>), if any.</summary>
    public long? FirstUnacked(long from, long toExclusive = long.MaxValue)
    {
        foreach (var segment in _segments)
        {
            if (segment.LastSeq < from)
            {
                continue;
            }

            for (var i = (int)Math.Max(0, from - segment.FirstSeq); i < segment.Offsets.Count; i++)
            {
                var seq = segment.FirstSeq + i;
                if (seq >= toExclusive)
                {
                    return null;
                }

                if (!segment.Acked[i])
                {
                    return seq;
                }
            }
        }

        return null;
    }

    public void Ack(long seq)
    {
        if (Locate(seq) is var (s, i) && !_segments[s].Acked[i])
        {
            MarkAcked(s, i);
            DeleteAckedSegments();
        }
    }

    private void MarkAcked(int s, int i)
    {
        var segment = _segments[s];
        segment.Acked[i] = true;
        Count--;
        Bytes -= segment.Lengths[i] + HeaderBytes;
        _acksDirty = true;
        UpdateOldest();
    }

    private (int Segment, int Index)? Locate(long seq)
    {
        for (var s = 0; s < _segments.Count; s++)
        {
            var segment = _segments[s];
            if (seq >= segment.FirstSeq && seq <= segment.LastSeq)
            {
                return (s, (int)(seq - segment.FirstSeq));
            }
        }

        return null;
    }

    private (int Segment, int Index)? FirstUnackedLocation()
    {
        for (var s = 0; s < _segments.Count; s++)
        {
            var i = _segments[s].FirstUnackedIndex();
            if (i >= 0)
            {
                return (s, i);
            }
        }

        return null;
    }

    private void UpdateOldest()
    {
        OldestUnsent = FirstUnackedLocation() is var (s, i) ? DateTimeOffset.FromUnixTimeMilliseconds(_segments[s].OldestReadingMs[i]) : null;
    }

    /// <summary>Deletes fully acknowledged segments, except the one being written.</summary>
    private void DeleteAckedSegments()
    {
        while (_segments.Count > 1 && _segments[0].AllAcked)
        {
            File.Delete(_segments[0].Path);
            _segments.RemoveAt(0);
        }
    }

    /// <summary>Saves acknowledgements: the watermark (all at or below are done) and the done seqs above it.</summary>
    public void SaveAcks()
    {
        if (!_acksDirty)
        {
            return;
        }

        var watermark = _segments.Count > 0 ? _segments[0].FirstSeq - 1 : _lastSeq;
        var above = new List<long>();
        foreach (var segment in _segments)
        {
            for (var i = 0; i < segment.Offsets.Count; i++)
            {
                var seq = segment.FirstSeq + i;
                if (segment.Acked[i] && seq == watermark + 1 && above.Count == 0)
                {
                    watermark = seq;
                }
                else if (segment.Acked[i])
                {
                    above.Add(seq);
                }
            }
        }

        var staging = _ackFile + ".tmp";
        using (var writer = new StreamWriter(staging))
        {
            writer.WriteLine(watermark.ToString(CultureInfo.InvariantCulture));
            foreach (var seq in above)
            {
                writer.WriteLine(seq.ToString(CultureInfo.InvariantCulture));
            }
        }

        File.Move(staging, _ackFile, overwrite: true);
        _acksDirty = false;
    }

    private string LoadOrCreateEpoch()
    {
        var file = Path.Combine(_options.Directory, "epoch");
        if (File.Exists(file))
        {
            var saved = File.ReadAllText(file).Trim();
            if (saved.Length > 0 && TelemetryMessage.IsValidEpoch(saved))
            {
                return saved;
            }

            _logger.LogWarning("Queue {Directory}: the epoch file holds '{Epoch}', not an epoch name; starting a new epoch", _options.Directory, saved);
        }
        else if (_lastSeq > 0)
        {
            return "";
        }

        var epoch = $"{_time.GetUtcNow():yyyyMMdd'T'HHmmss'Z'}-{Random.Shared.Next(0x10000):x4}";
        var staging = file + ".tmp";
        using (var stream = new FileStream(staging, FileMode.Create, FileAccess.Write))
        {
            stream.Write(System.Text.Encoding.ASCII.GetBytes(epoch + "\n"));
            stream.Flush(flushToDisk: true);
        }

        File.Move(staging, file, overwrite: true);
        return epoch;
    }

    private (long Watermark, HashSet<long> Above) LoadAcks()
    {
        if (!File.Exists(_ackFile))
        {
            return (0, []);
        }

        var lines = File.ReadAllLines(_ackFile);
        var numbers = lines.Select(l => long.TryParse(l, CultureInfo.InvariantCulture, out var v) ? v : -1).Where(v => v >= 0).ToList();
        if (numbers.Count == 0)
        {
            _logger.LogWarning("Queue {Directory}: acknowledgement file is unreadable; unsent records will be sent again (the cloud deduplicates them)", _options.Directory);
            return (0, []);
        }

        return (numbers[0], numbers.Skip(1).ToHashSet());
    }

    public void Dispose()
    {
        SaveAcks();
        if (_unsynced && _options.FsyncEachAppend)
        {
            Sync();
        }

        _writer?.Dispose();
    }
}
