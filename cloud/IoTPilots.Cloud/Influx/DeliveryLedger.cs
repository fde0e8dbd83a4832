using System.Globalization;
using System.Text;

namespace IoTPilots.Cloud.Influx;

/// <summary>One stored message in the delivery ledger: its gateway, numbering epoch, sequence number and kind (telemetry or gap).</summary>
public readonly record struct LedgerEntry(string Gateway, string Epoch, long Seq, string Kind);

/// <summary>
/// The delivery ledger, per batch instead of per message. The ingestion still names each stored message with
/// <see cref="LineProtocol.Ledger"/> (an entry line); <see cref="Fold"/> takes a batch's entry lines out and
/// <see cref="RangeLines"/> turns them into one point per (gateway, epoch, kind) and block of nearby sequence
/// numbers: <c>first_seq</c>, <c>last_seq</c>, <c>messages</c>, and when the block has holes (shared subscriptions hand a
/// worker every other message) a bitmap <c>seqs</c> (base64, bit j of byte j/8, least significant first, is
/// seq first_seq+j). Tags <c>worker</c> and a time that is the write attempt's own distinct millisecond keep points of
/// different workers and attempts apart; nothing relies on overwriting, because the accountant takes the union.
/// The points go to the retention policy <see cref="RetentionPolicy"/>, so the raw ledger stays bounded. Pure.
/// </summary>
public static class DeliveryLedger
{
    /// <summary>The 1.x retention policy of the raw ledger: the accountant reads it every 10 s, so a week is plenty.</summary>
    public const string RetentionPolicy = "delivery_ledger";

    public static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    /// <summary>A hole longer than this starts a new point (a bitmap over it would cost more than a point).</summary>
    public const int MaxHole = 64;

    /// <summary>Seqs one point spans at most: its bitmap stays under 2 KiB, far below InfluxDB's 64 KiB string limit.</summary>
    public const int MaxSpan = 16_384;

    private static readonly string EntryPrefix = LineProtocol.LedgerMeasurement + ",";

    /// <summary>Splits a batch into the lines to store as they are and the ledger entries among them.</summary>
    public static (List<string> Lines, List<LedgerEntry> Entries) Fold(IReadOnlyList<string> lines)
    {
        var kept = new List<string>(lines.Count);
        var entries = new List<LedgerEntry>();
        foreach (var line in lines)
        {
            if (line.StartsWith(EntryPrefix, StringComparison.Ordinal) && TryParseEntry(line, out var entry))
            {
                entries.Add(entry);
            }
            else
            {
                kept.Add(line);
            }
        }

        return (kept, entries);
    }

    /// <summary>Reads an entry line made by <see cref="LineProtocol.Ledger"/> (tag values stay escaped, as they go back out).</summary>
    public static bool TryParseEntry(string line, out LedgerEntry entry)
    {
        entry = default;
        var space = line.IndexOf(" seq=", StringComparison.Ordinal);
        var last = line.LastIndexOf(' ');
        if (space < 0 || last <= space || !long.TryParse(line.AsSpan(last + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return false;
        }

        string gateway = "", epoch = "", kind = "";
        foreach (var tag in SplitTags(line[EntryPrefix.Length..space]))
        {
            var eq = tag.IndexOf('=', StringComparison.Ordinal);
            switch (eq < 0 ? "" : tag[..eq])
            {
                case "gateway": gateway = tag[(eq + 1)..]; break;
                case "epoch": epoch = tag[(eq + 1)..]; break;
                case "kind": kind = tag[(eq + 1)..]; break;
            }
        }

        entry = new LedgerEntry(gateway, epoch, seq, kind);
        return gateway.Length > 0 && kind.Length > 0;
    }

    /// <summary>The range points for a batch's entries; <paramref name="stamp"/> gives each point its own millisecond.</summary>
    public static List<string> RangeLines(IEnumerable<LedgerEntry> entries, string worker, Func<long> stamp)
    {
        var lines = new List<string>();
        foreach (var group in entries.GroupBy(e => (e.Gateway, e.Epoch, e.Kind)).OrderBy(g => g.Key))
        {
            var seqs = group.Select(e => e.Seq).Distinct().Order().ToList();
            var start = 0;
            for (var i = 1; i <= seqs.Count; i++)
            {
                if (i == seqs.Count || seqs[i] - seqs[i - 1] > MaxHole || seqs[i] - seqs[start] >= MaxSpan)
                {
                    lines.Add(RangeLine(group.Key.Gateway, group.Key.Epoch, group.Key.Kind, worker, seqs.GetRange(start, i - start), stamp()));
                    start = i;
                }
            }
        }

        return lines;
    }

    /// <summary>The consecutive runs a range point stands for.</summary>
    public static IEnumerable<(long From, long To)> Runs(long first, long last, string? bitmap)
    {
        if (string.IsNullOrEmpty(bitmap))
        {
            yield return (first, last);
            yield break;
        }

        var bits = Convert.FromBase64String(bitmap);
        long? runStart = null;
        for (long seq = first; seq <= last + 1; seq++)
        {
            var j = seq - first;
            var present = seq <= last && j / 8 < bits.Length && (bits[j / 8] & (1 << (int)(j % 8))) != 0;
            if (present && runStart is null)
            {
                runStart = seq;
            }
            else if (!present && runStart is { } s)
            {
                yield return (s, seq - 1);
                runStart = null;
            }
        }
    }

    private static string RangeLine(string gateway, string epoch, string kind, string worker, List<long> seqs, long timestampMs)
    {
        var first = seqs[0];
        var last = seqs[^1];
        var sb = new StringBuilder(LineProtocol.LedgerMeasurement).Append(',');
        if (epoch.Length > 0)
        {
            sb.Append("epoch=").Append(epoch).Append(',');
        }

        sb.Append("gateway=").Append(gateway).Append(",kind=").Append(kind).Append(",worker=").Append(LineProtocol.EscapeKey(worker))
            .Append(CultureInfo.InvariantCulture, $" first_seq={first}i,last_seq={last}i,messages={seqs.Count}i");
        if (seqs.Count < last - first + 1)
        {
            var bits = new byte[(last - first) / 8 + 1];
            foreach (var seq in seqs)
            {
                var j = seq - first;
                bits[j / 8] |= (byte)(1 << (int)(j % 8));
            }

            sb.Append(",seqs=\"").Append(Convert.ToBase64String(bits)).Append('"');
        }

        return sb.Append(CultureInfo.InvariantCulture, $" {timestampMs}").ToString();
    }

    private static IEnumerable<string> SplitTags(string tags)
    {
        var start = 0;
        for (var i = 0; i < tags.Length; i++)
        {
            if (tags[i] == '\\')
            {
                i++;
            }
            else if (tags[i] == ',')
            {
                yield return tags[start..i];
                start = i + 1;
            }
        }

        yield return tags[start..];
    }
}
