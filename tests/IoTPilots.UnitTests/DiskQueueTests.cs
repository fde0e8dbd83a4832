using System.Text;
using IoTPilots.Edge.Queue;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests;

public sealed class DiskQueueTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-queue-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
    private readonly List<GapInfo> _gaps = [];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private DiskQueue Open(long maxBytes = 1 << 30, FullPolicy onFull = FullPolicy.DropOldest, int segmentBytes = 4096) =>
        DiskQueue.Open(
            new DiskQueueOptions
            {
                Directory = _dir,
                MaxBytes = maxBytes,
                OnFull = onFull,
                SegmentBytes = segmentBytes,
                MaxAge = TimeSpan.FromDays(1),
                GapRecord = (gap, seq, _) => { _gaps.Add(gap); return ("t/gap", Encoding.UTF8.GetBytes($"gap {seq}")); },
            },
            _time,
            NullLogger.Instance);

    private QueuedRecord? Append(DiskQueue q, int size = 100) =>
        q.Append(RecordKind.Telemetry, 3, _time.GetUtcNow(), "t/x", seq => Encoding.UTF8.GetBytes($"message {seq} ".PadRight(size, '.')));

    [Fact]
    public void Every_append_is_synced_unless_batched()
    {
        using var q = Open();
        Append(q);
        Append(q);
        Assert.Equal(2, q.Syncs);
    }

    [Fact]
    public void A_batched_fsync_syncs_the_first_append_at_once_and_the_rest_at_the_interval_end()
    {
        using var q = DiskQueue.Open(new DiskQueueOptions { Directory = _dir, FsyncBatch = TimeSpan.FromSeconds(1) }, _time, NullLogger.Instance);
        Append(q);
        Assert.Equal(1, q.Syncs);
        _time.Advance(TimeSpan.FromMilliseconds(200));
        Append(q);
        Append(q);
        // Written to the OS (a reader sees them; an agent crash loses nothing), not yet forced to the disk.
        Assert.Equal(1, q.Syncs);
        Assert.Equal(3, q.Count);
        Assert.False(q.SyncIfDue());
        _time.Advance(TimeSpan.FromMilliseconds(800));
        Assert.True(q.SyncIfDue());
        Assert.Equal(2, q.Syncs);
        // Nothing new: nothing to sync.
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(q.SyncIfDue());
        // After a quiet spell the next append is synced at once.
        Append(q);
        Assert.Equal(3, q.Syncs);
    }

    [Fact]
    public void Fsync_off_never_forces_the_disk()
    {
        using var q = DiskQueue.Open(new DiskQueueOptions { Directory = _dir, FsyncEachAppend = false }, _time, NullLogger.Instance);
        Append(q);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(q.SyncIfDue());
        Assert.Equal(0, q.Syncs);
    }

    [Fact]
    public void Crc32_matches_the_standard_check_value() =>
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));

    [Fact]
    public void Records_survive_a_reopen_with_their_sequence_numbers()
    {
        using (var q = Open())
        {
            for (var i = 0; i < 50; i++)
            {
                Append(q);
            }

            q.Ack(1);
            q.Ack(2);
        }

        using var reopened = Open();
        Assert.Equal(50, reopened.LastSeq);
        Assert.Equal(48, reopened.Count);
        Assert.Equal(3, reopened.FirstUnacked(1));
        Assert.StartsWith("message 3 ", Encoding.UTF8.GetString(reopened.Read(3)!.Payload), StringComparison.Ordinal);
        Assert.Equal(51, Append(reopened)!.Seq);
    }

    [Fact]
    public void A_new_queue_starts_an_epoch_that_it_keeps_and_a_wiped_one_starts_another()
    {
        string first;
        using (var q = Open())
        {
            first = q.Epoch;
            Append(q);
        }

        using (var reopened = Open())
        {
            Assert.Equal(first, reopened.Epoch);
        }

        // The SD card re-imaged: the folder is gone, numbering starts again at 1, under a new name.
        Directory.Delete(_dir, recursive: true);
        _time.Advance(TimeSpan.FromDays(30));
        using var wiped = Open();

        Assert.Matches("^20261123T080000Z-[0-9a-f]{4}$", first);
        Assert.NotEqual(first, wiped.Epoch);
        Assert.Equal(1, Append(wiped)!.Seq);
    }

    [Fact]
    public void A_queue_with_history_from_before_epochs_keeps_its_numbering_without_one()
    {
        using (var q = Open())
        {
            Append(q);
        }

        File.Delete(Path.Combine(_dir, "epoch"));
        using var upgraded = Open();

        Assert.Equal("", upgraded.Epoch);
        Assert.Equal(2, Append(upgraded)!.Seq);
    }

    [Fact]
    public void An_unreadable_epoch_file_is_replaced_by_a_new_epoch()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "epoch"), "not an epoch, {}\n");

        using var q = Open();

        Assert.Matches("^20261123T080000Z-[0-9a-f]{4}$", q.Epoch);
        Assert.Equal(q.Epoch + "\n", File.ReadAllText(Path.Combine(_dir, "epoch")));
    }

    [Fact]
    public void Queue_survives_truncated_last_record()
    {
        using (var q = Open())
        {
            for (var i = 0; i < 5; i++)
            {
                Append(q);
            }
        }

        // A power cut in the middle of the fifth write: its tail never reached the disk.
        var segment = Directory.GetFiles(_dir, "seg-*.log").Single();
        using (var f = new FileStream(segment, FileMode.Open))
        {
            f.SetLength(f.Length - 40);
        }

        using var reopened = Open();
        Assert.Equal(1, reopened.TornRecordsDropped);
        Assert.Equal(4, reopened.Count);
        Assert.Equal(4, reopened.LastSeq);
        Assert.NotNull(reopened.Read(4));
        Assert.Equal(5, Append(reopened)!.Seq);
    }

    [Fact]
    public void Corrupted_record_is_cut_at_its_crc_and_earlier_records_are_kept()
    {
        using (var q = Open())
        {
            for (var i = 0; i < 3; i++)
            {
                Append(q);
            }
        }

        var segment = Directory.GetFiles(_dir, "seg-*.log").Single();
        var bytes = File.ReadAllBytes(segment);
        bytes[^10] ^= 0xFF;
        File.WriteAllBytes(segment, bytes);

        using var reopened = Open();
        Assert.Equal(1, reopened.TornRecordsDropped);
        Assert.Equal(2, reopened.Count);
    }

    [Fact]
    public void Acked_segments_are_deleted()
    {
        using var q = Open(segmentBytes: 1000);
        for (var i = 0; i < 40; i++)
        {
            Append(q);
        }

        var before = Directory.GetFiles(_dir, "seg-*.log").Length;
        for (var seq = 1; seq <= 30; seq++)
        {
            q.Ack(seq);
        }

        Assert.True(before > 3);
        Assert.True(Directory.GetFiles(_dir, "seg-*.log").Length < before);
        Assert.Equal(10, q.Count);
    }

    [Fact]
    public void Full_byte_budget_drops_the_oldest_and_says_exactly_what_in_a_gap_record()
    {
        using var q = Open(maxBytes: 2000);
        var first = _time.GetUtcNow();
        for (var i = 0; i < 30; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            Append(q);
        }

        Assert.True(q.Bytes <= 2000 + 200);
        Assert.NotEmpty(_gaps);
        Assert.Equal(1, _gaps[0].FirstSeq);
        Assert.Equal(3, _gaps[0].Readings);
        Assert.Equal("byte budget full (drop-oldest)", _gaps[0].Reason);
        Assert.Equal(_gaps.Sum(g => g.Messages), q.DroppedMessages);
        Assert.Null(q.Read(1));
    }

    [Fact]
    public void Drop_newest_keeps_the_oldest_and_reports_the_loss_once_there_is_room()
    {
        using var q = Open(maxBytes: 1000, onFull: FullPolicy.DropNewest);
        var stored = Enumerable.Range(0, 20).Select(_ => Append(q)).Where(r => r is not null).Select(r => r!.Seq).ToList();

        Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long)i), stored);
        Assert.True(stored.Count < 20);
        Assert.NotNull(q.Read(1));
        Assert.Empty(_gaps);

        q.Ack(1);
        q.Ack(2);
        Assert.NotNull(Append(q));
        var gap = Assert.Single(_gaps);
        Assert.Equal(20 - stored.Count, gap.Messages);
        Assert.Contains("drop-newest", gap.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Records_older_than_the_age_budget_are_dropped_with_a_gap_record()
    {
        using var q = Open();
        Append(q);
        Append(q);
        _time.Advance(TimeSpan.FromDays(2));
        Append(q);

        Assert.Null(q.Read(1));
        Assert.Null(q.Read(2));
        var gap = Assert.Single(_gaps);
        Assert.Equal((1L, 2L, 2), (gap.FirstSeq, gap.LastSeq, gap.Messages));
        Assert.Contains("age budget", gap.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Drop_newest_reports_its_refusals_as_unnumbered_so_they_explain_no_hole()
    {
        using var q = Open(maxBytes: 1000, onFull: FullPolicy.DropNewest);
        var refused = Enumerable.Range(0, 20).Select(_ => Append(q)).Count(r => r is null);
        q.Ack(1);
        q.Ack(2);

        Assert.NotNull(Append(q));

        var gap = Assert.Single(_gaps);
        Assert.True(refused > 0);
        Assert.Equal((0L, 0L, refused, refused), (gap.FirstSeq, gap.LastSeq, gap.Messages, gap.Unnumbered));
    }

    [Fact]
    public void A_gap_mixing_expired_and_refused_messages_counts_only_the_refused_as_unnumbered()
    {
        using var q = Open(maxBytes: 1000, onFull: FullPolicy.DropNewest);
        var stored = Enumerable.Range(0, 20).Select(_ => Append(q)).Count(r => r is not null);
        var refused = 20 - stored;
        _time.Advance(TimeSpan.FromDays(2));

        // The age budget drops every stored (numbered) record; then this one fits.
        Assert.NotNull(Append(q));

        var gap = Assert.Single(_gaps);
        Assert.Equal((1L, (long)stored, stored + refused, refused), (gap.FirstSeq, gap.LastSeq, gap.Messages, gap.Unnumbered));
    }
}
