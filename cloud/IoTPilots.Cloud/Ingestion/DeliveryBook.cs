using System.Globalization;
using System.Text;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>A set of sequence numbers kept as sorted, disjoint, non-adjacent runs: a gateway that loses nothing is one run. Pure.</summary>
public sealed class SeqSet
{
    private readonly List<(long From, long To)> _runs = [];

    public IReadOnlyList<(long From, long To)> Runs => _runs;

    /// <summary>Distinct seqs in the set.</summary>
    public long Count { get; private set; }

    public long Max => _runs.Count == 0 ? 0 : _runs[^1].To;

    /// <summary>Adds <paramref name="from"/>..<paramref name="to"/>; true when a seq was new.</summary>
    public bool Add(long from, long to)
    {
        if (to < from)
        {
            return false;
        }

        // The first run that ends at or after from-1 (it may touch or overlap the new one).
        int lo = 0, hi = _runs.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (_runs[mid].To < from - 1)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        var end = lo;
        long newFrom = from, newTo = to, covered = 0;
        while (end < _runs.Count && _runs[end].From <= to + 1)
        {
            newFrom = Math.Min(newFrom, _runs[end].From);
            newTo = Math.Max(newTo, _runs[end].To);
            covered += _runs[end].To - _runs[end].From + 1;
            end++;
        }

        var added = newTo - newFrom + 1 - covered;
        if (added == 0)
        {
            return false;
        }

        _runs.RemoveRange(lo, end - lo);
        _runs.Insert(lo, (newFrom, newTo));
        Count += added;
        return true;
    }

    /// <summary><c>1-500,502,504-900</c>: the form kept in <c>delivery_epoch</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var (from, to) in _runs)
        {
            sb.Append(sb.Length > 0 ? "," : "").Append(from.ToString(CultureInfo.InvariantCulture));
            if (to != from)
            {
                sb.Append('-').Append(to.ToString(CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary>Reads <see cref="ToString"/>'s form; throws <see cref="FormatException"/> naming the bad run.</summary>
    public static SeqSet Parse(string text)
    {
        var set = new SeqSet();
        foreach (var run in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = run.IndexOf('-', 1);
            if (!long.TryParse(dash < 0 ? run : run[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var from) ||
                !long.TryParse(dash < 0 ? run : run[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var to) || to < from)
            {
                throw new FormatException($"'{run}' is not a seq or a seq range");
            }

            set.Add(from, to);
        }

        return set;
    }
}

/// <summary>A gateway's delivery figures: distinct messages stored, seqs never seen nor explained, messages the edge reported dropping.</summary>
public sealed record GatewayDelivery(string Gateway, long Received, long Missing, long Dropped);

/// <summary>What one epoch's gap reports say: messages dropped, and how many of them had a seq (so explain a hole).</summary>
public readonly record struct EpochDrops(long Messages, long Numbered);

/// <summary>
/// The accountant's state: per gateway and epoch, the set of seqs stored, fed range by range from the ledger in any
/// order and any number of times (a redelivery, or two workers storing neighbours, adds nothing twice). Per epoch
/// missing = highest seq − distinct seqs stored − dropped seqs; seqs never numbered (drop-newest) explain no hole.
/// Pure.
/// </summary>
public sealed class DeliveryBook
{
    private readonly Dictionary<(string Gateway, string Epoch), SeqSet> _epochs = [];
    private readonly HashSet<(string Gateway, string Epoch)> _changed = [];

    public IEnumerable<(string Gateway, string Epoch, SeqSet Seqs)> Epochs => _epochs.Select(e => (e.Key.Gateway, e.Key.Epoch, e.Value));

    public void Add(string gateway, string epoch, long from, long to)
    {
        var key = (gateway, epoch);
        if (!_epochs.TryGetValue(key, out var set))
        {
            _epochs[key] = set = new SeqSet();
        }

        if (set.Add(from, to))
        {
            _changed.Add(key);
        }
    }

    /// <summary>Epochs changed since the last call (their rolling summary needs writing).</summary>
    public List<(string Gateway, string Epoch, SeqSet Seqs)> TakeChanged()
    {
        var changed = _changed.Select(k => (k.Gateway, k.Epoch, _epochs[k])).ToList();
        _changed.Clear();
        return changed;
    }

    public List<GatewayDelivery> Summarise(IReadOnlyDictionary<(string Gateway, string Epoch), EpochDrops> drops)
    {
        var result = new List<GatewayDelivery>();
        foreach (var gateway in _epochs.GroupBy(e => e.Key.Gateway).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            long received = 0, missing = 0, dropped = 0;
            foreach (var (key, seqs) in gateway)
            {
                var d = drops.GetValueOrDefault(key);
                received += seqs.Count;
                dropped += d.Messages;
                missing += Math.Max(0, seqs.Max - seqs.Count - d.Numbered);
            }

            result.Add(new GatewayDelivery(gateway.Key, received, missing, dropped));
        }

        return result;
    }
}
