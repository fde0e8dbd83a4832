using IoTPilots.Devices;

namespace IoTPilots.Edge.Modbus;

/// <summary>One read request and the signals it serves.</summary>
public sealed record ReadBlock(Table Table, ushort Address, ushort Count, IReadOnlyList<SignalDefinition> Signals);

/// <summary>
/// Groups a device's signals into as few read requests as possible: per table, sorted by address, merging
/// ranges that touch (or are within <c>maxGap</c>) while the request stays within the protocol limit of
/// 125 registers or 2000 bits [Modbus Application Protocol v1.1b3, 6.1-6.4]. Pure.
/// </summary>
public static class ReadPlanner
{
    public static IReadOnlyList<ReadBlock> Plan(IEnumerable<SignalDefinition> signals, int maxGap = 0, int maxRegisters = Pdu.MaxReadRegisters)
    {
        var blocks = new List<ReadBlock>();
        foreach (var group in signals.GroupBy(s => s.Table).OrderBy(g => g.Key))
        {
            var limit = group.Key is Table.Coil or Table.DiscreteInput ? Pdu.MaxReadBits : maxRegisters;
            var sorted = group.OrderBy(s => s.Address).ThenByDescending(s => s.Count).ToList();
            var start = sorted[0].Address;
            var end = start + sorted[0].Count;
            var members = new List<SignalDefinition> { sorted[0] };
            foreach (var s in sorted.Skip(1))
            {
                var newEnd = Math.Max(end, s.Address + s.Count);
                if (s.Address <= end + maxGap && newEnd - start <= limit)
                {
                    end = newEnd;
                    members.Add(s);
                    continue;
                }

                blocks.Add(new ReadBlock(group.Key, start, (ushort)(end - start), members));
                start = s.Address;
                end = s.Address + s.Count;
                members = [s];
            }

            blocks.Add(new ReadBlock(group.Key, start, (ushort)(end - start), members));
        }

        return blocks;
    }
}
