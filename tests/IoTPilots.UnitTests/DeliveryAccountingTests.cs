using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;

namespace IoTPilots.UnitTests;

/// <summary>The ledger's range points, the accountant's book, and the gap reports' unnumbered drops.</summary>
public class DeliveryAccountingTests
{
    private const string Epoch = "20261123T185000Z-3f9a";

    private static long _stamp = 1_795_420_800_000;

    private static long Stamp() => _stamp++;

    private static List<LedgerEntry> Entries(string gateway, string epoch, params long[] seqs) =>
        seqs.Select(s => new LedgerEntry(gateway, epoch, s, "telemetry")).ToList();

    /// <summary>What the accountant does with a batch: the batch's range points, read back as runs, into the book.</summary>
    private static void Store(DeliveryBook book, IEnumerable<LedgerEntry> entries, string worker = "1")
    {
        foreach (var line in DeliveryLedger.RangeLines(entries, worker, Stamp))
        {
            var gateway = Tag(line, "gateway");
            var epoch = line.Contains(",epoch=", StringComparison.Ordinal) ? Tag(line, "epoch") : "";
            var bits = line.Contains("seqs=\"", StringComparison.Ordinal) ? line.Split("seqs=\"")[1].Split('"')[0] : null;
            foreach (var (from, to) in DeliveryLedger.Runs(Field(line, "first_seq"), Field(line, "last_seq"), bits))
            {
                book.Add(gateway, epoch, from, to);
            }
        }
    }

    private static string Tag(string line, string key) => line.Split(',', ' ').Single(p => p.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..];

    private static long Field(string line, string key) => long.Parse(line.Split(' ')[1].Split(',').Single(p => p.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..].TrimEnd('i'), System.Globalization.CultureInfo.InvariantCulture);

    private static Dictionary<(string, string), EpochDrops> NoDrops => [];

    [Fact]
    public void A_batch_of_consecutive_seqs_is_one_point_whatever_their_order()
    {
        var lines = DeliveryLedger.RangeLines(Entries("gw-1", Epoch, 5, 3, 4, 1, 2, 3), "w1", () => 1_795_420_800_000);

        Assert.Equal([$"delivery_ledger,epoch={Epoch},gateway=gw-1,kind=telemetry,worker=w1 first_seq=1i,last_seq=5i,messages=5i 1795420800000"], lines);
    }

    [Fact]
    public void Every_other_seq_is_one_point_with_a_bitmap_and_a_long_hole_starts_another()
    {
        var lines = DeliveryLedger.RangeLines(Entries("gw-1", "", 1, 3, 5, 8, 500), "2", Stamp);

        Assert.Equal(2, lines.Count);
        Assert.StartsWith("delivery_ledger,gateway=gw-1,kind=telemetry,worker=2 first_seq=1i,last_seq=8i,messages=4i,seqs=\"", lines[0], StringComparison.Ordinal);
        Assert.Contains(" first_seq=500i,last_seq=500i,messages=1i ", lines[1], StringComparison.Ordinal);
        var bits = lines[0].Split("seqs=\"")[1].Split('"')[0];
        Assert.Equal([(1L, 1L), (3L, 3L), (5L, 5L), (8L, 8L)], DeliveryLedger.Runs(1, 8, bits));
    }

    [Fact]
    public void A_point_spans_at_most_max_span_seqs()
    {
        var seqs = Enumerable.Range(1, DeliveryLedger.MaxSpan + 10).Select(i => (long)i).ToArray();

        var lines = DeliveryLedger.RangeLines(Entries("gw-1", Epoch, seqs), "1", Stamp);

        Assert.Equal(2, lines.Count);
        Assert.Contains($"last_seq={DeliveryLedger.MaxSpan}i", lines[0], StringComparison.Ordinal);
        Assert.Contains($"first_seq={DeliveryLedger.MaxSpan + 1}i", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Entry_lines_are_folded_out_of_a_batch_and_read_back()
    {
        var batch = new List<string>
        {
            "telemetry,device=d,gateway=gw-1,pilot=port,site=s wind_m_s=3 1795420800000",
            LineProtocol.Ledger("gw-1", Epoch, 42, "telemetry"),
            LineProtocol.Ledger("gw-2", "", 7, "gap"),
        };

        var (lines, entries) = DeliveryLedger.Fold(batch);

        Assert.Equal([batch[0]], lines);
        Assert.Equal([new LedgerEntry("gw-1", Epoch, 42, "telemetry"), new LedgerEntry("gw-2", "", 7, "gap")], entries);
    }

    [Fact]
    public void Seq_set_merges_overlapping_and_adjacent_runs_and_round_trips_as_text()
    {
        var set = new SeqSet();
        Assert.True(set.Add(10, 12));
        Assert.True(set.Add(1, 3));
        Assert.True(set.Add(4, 4));
        Assert.False(set.Add(2, 3));
        Assert.True(set.Add(11, 20));
        Assert.True(set.Add(30, 30));

        Assert.Equal("1-4,10-20,30", set.ToString());
        Assert.Equal((16L, 30L), (set.Count, set.Max));
        Assert.Equal("1-4,10-20,30", SeqSet.Parse(set.ToString()).ToString());
        Assert.Equal(16, SeqSet.Parse(set.ToString()).Count);
        Assert.Throws<FormatException>(() => SeqSet.Parse("1-4,9-x"));
    }

    [Fact]
    public void Redelivery_in_other_batches_counts_each_message_once()
    {
        var book = new DeliveryBook();
        Store(book, Entries("gw-1", Epoch, Enumerable.Range(1, 10).Select(i => (long)i).ToArray()));

        // The worker died before acknowledging 1..5 and 9: the broker redelivers them, in other batches.
        Store(book, Entries("gw-1", Epoch, 4, 5, 1, 2));
        Store(book, Entries("gw-1", Epoch, 3, 9));

        Assert.Equal(new GatewayDelivery("gw-1", 10, 0, 0), Assert.Single(book.Summarise(NoDrops)));
    }

    [Fact]
    public void Two_workers_sharing_a_gateway_add_up_to_every_message_once()
    {
        var book = new DeliveryBook();
        // A shared subscription hands out messages in turn: worker 1 gets the odd seqs, worker 2 the even ones.
        Store(book, Entries("gw-1", Epoch, 1, 3, 5, 7, 9), "1");
        Store(book, Entries("gw-1", Epoch, 2, 4, 6, 8, 10), "2");
        Store(book, Entries("gw-1", Epoch, 4, 5), "2");

        Assert.Equal(new GatewayDelivery("gw-1", 10, 0, 0), Assert.Single(book.Summarise(NoDrops)));
        Assert.Equal("1-10", book.Epochs.Single().Seqs.ToString());
    }

    [Fact]
    public void Out_of_order_arrival_leaves_holes_only_until_the_backlog_lands()
    {
        var book = new DeliveryBook();
        // After an outage the live lane goes first (seqs 101..110), the backlog (1..100) later.
        Store(book, Entries("gw-1", Epoch, Enumerable.Range(101, 10).Select(i => (long)i).ToArray()));
        Assert.Equal(new GatewayDelivery("gw-1", 10, 100, 0), Assert.Single(book.Summarise(NoDrops)));

        Store(book, Entries("gw-1", Epoch, Enumerable.Range(1, 100).Select(i => (long)i).ToArray()));
        Assert.Equal(new GatewayDelivery("gw-1", 110, 0, 0), Assert.Single(book.Summarise(NoDrops)));
    }

    [Fact]
    public void Each_epoch_is_counted_from_its_own_numbering_and_a_gateway_sums_them()
    {
        var book = new DeliveryBook();
        Store(book, Entries("gw-1", "", 1, 2, 3, 5));
        Store(book, Entries("gw-1", Epoch, 1, 2));
        Store(book, Entries("gw-2", Epoch, 1, 2, 3));

        var summary = book.Summarise(NoDrops);

        Assert.Equal([new GatewayDelivery("gw-1", 6, 1, 0), new GatewayDelivery("gw-2", 3, 0, 0)], summary);
    }

    [Fact]
    public void Numbered_drops_explain_holes_and_drop_newest_refusals_do_not_hide_real_losses()
    {
        var book = new DeliveryBook();
        // Seqs 1..20 numbered; 4..6 dropped by the age budget (reported, numbered); 10..12 lost for real.
        // Meanwhile drop-newest refused 5 messages that never got a seq.
        Store(book, Entries("gw-1", Epoch, [.. Enumerable.Range(1, 20).Select(i => (long)i).Where(s => s is not (>= 4 and <= 6) and not (>= 10 and <= 12))]));
        var drops = new Dictionary<(string, string), EpochDrops> { [("gw-1", Epoch)] = new(Messages: 8, Numbered: 3) };

        // Before: missing = max − received − dropped = 20 − 14 − 8 < 0, shown as 0, and the three lost messages hid.
        Assert.Equal(new GatewayDelivery("gw-1", 14, 3, 8), Assert.Single(book.Summarise(drops)));
    }

    [Fact]
    public void Only_changed_epochs_need_their_summary_written_again()
    {
        var book = new DeliveryBook();
        Store(book, Entries("gw-1", Epoch, 1, 2));
        Store(book, Entries("gw-2", Epoch, 1));
        Assert.Equal(2, book.TakeChanged().Count);

        Store(book, Entries("gw-1", Epoch, 2));
        Assert.Empty(book.TakeChanged());
        Store(book, Entries("gw-2", Epoch, 2));
        Assert.Equal("gw-2", Assert.Single(book.TakeChanged()).Gateway);
    }

    [Fact]
    public void Gap_report_says_how_many_drops_had_no_seq_and_an_older_edge_is_inferred()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1795420798000);
        var report = new GapReport("s", "gw-1", 99, 10, 12, 8, 24, at, at, "byte budget full (drop-newest)") { Epoch = Epoch, Unnumbered = 5 };

        var decoded = GapReport.TryDecode(report.Encode(), out _);

        Assert.Equal(5, decoded!.Unnumbered);
        Assert.Equal(3, decoded.NumberedMessages);
        Assert.Contains("messages=8i,unnumbered=5i,", LineProtocol.Gap(report), StringComparison.Ordinal);
        // Reports of edges before the field: drop-newest ones carry first_seq 0; numbered ones span their range.
        Assert.Equal(0, (report with { FirstSeq = 0, LastSeq = 0, Unnumbered = null }).NumberedMessages);
        Assert.Equal(3, (report with { Unnumbered = null }).NumberedMessages);
    }

    [Fact]
    public void Gap_report_with_an_impossible_unnumbered_count_is_refused_naming_the_field()
    {
        var json = System.Text.Encoding.UTF8.GetString(new GapReport("s", "gw-1", 9, 1, 2, 2, 6, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, "r") { Unnumbered = 0 }.Encode());

        Assert.Null(GapReport.TryDecode(System.Text.Encoding.UTF8.GetBytes(json.Replace("\"unnumbered\":0", "\"unnumbered\":3", StringComparison.Ordinal)), out var error));
        Assert.StartsWith("$.unnumbered:", error, StringComparison.Ordinal);
    }
}
