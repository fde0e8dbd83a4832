using System.Globalization;
using IoTPilots.Devices;

namespace IoTPilots.Edge.Probe;

/// <summary>
/// Every plausible decoding of a run of registers, one line each, naming type and word order, e.g.
/// <c>float32 CDAB 123456 @0</c>: readable by a commissioning engineer, greppable by a script. Pure.
/// </summary>
public static class ProbeDecoder
{
    public static IEnumerable<string> Describe(ushort[] registers, int startAddress)
    {
        for (var i = 0; i < registers.Length; i++)
        {
            var at = startAddress + i;
            yield return Invariant($"raw 0x{registers[i]:X4} @{at}");
            yield return Invariant($"int16 {(short)registers[i]} @{at}");
            yield return Invariant($"uint16 {registers[i]} @{at}");
        }

        for (var i = 0; i + 1 < registers.Length; i++)
        {
            var pair = registers[i..(i + 2)];
            foreach (var order in Enum.GetValues<WordOrder>())
            {
                var at = startAddress + i;
                yield return Invariant($"int32 {order} {RegisterCodec.Decode(pair, SignalType.Int32, order)} @{at}");
                yield return Invariant($"uint32 {order} {RegisterCodec.Decode(pair, SignalType.UInt32, order)} @{at}");
                yield return $"float32 {order} {((float)RegisterCodec.Decode(pair, SignalType.Float32, order)).ToString("R", CultureInfo.InvariantCulture)} @{at}";
            }
        }
    }

    public static IEnumerable<string> DescribeBits(bool[] bits, int startAddress) =>
        bits.Select((b, i) => Invariant($"bit {(b ? 1 : 0)} @{startAddress + i}"));

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
