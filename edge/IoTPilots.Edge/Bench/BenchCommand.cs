using System.Diagnostics;
using System.Globalization;
using IoTPilots.Contract;
using IoTPilots.Edge.Queue;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPilots.Edge.Bench;

/// <summary>
/// <c>IoTPilots.Edge bench</c>: the gateway-side figures that bound throughput, printed one per line:
/// contract encode/decode rate, disk-queue append rate with and without an fsync per record, and the
/// publisher-side read+ack rate. Timings live here, never in tests.
/// </summary>
public static class BenchCommand
{
    public static int Run(TextWriter output)
    {
        var now = DateTimeOffset.UtcNow;
        var readings = Enumerable.Range(0, 11).Select(i => new Reading($"signal_{i}_c", now, 20 + i, "degC", Quality.Good)).ToList();
        var message = new TelemetryMessage(Pilots.Aquaculture, "bench-site", "gw-bench", "tank-01", 1, readings);
        var bytes = TelemetryCodec.Encode(message);
        Print(output, "contract encode (11 readings/message)", Rate(() => TelemetryCodec.Encode(message), TimeSpan.FromSeconds(2)), "messages/s");
        Print(output, "contract decode + validate", Rate(() => TelemetryCodec.Decode(bytes, message.Topic, now), TimeSpan.FromSeconds(2)), "messages/s");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench: message size {bytes.Length} bytes"));

        foreach (var fsync in new[] { true, false })
        {
            var dir = Directory.CreateTempSubdirectory("pilots-bench-").FullName;
            try
            {
                using var queue = DiskQueue.Open(new DiskQueueOptions { Directory = dir, FsyncEachAppend = fsync }, TimeProvider.System, NullLogger.Instance);
                var appends = Rate(() => queue.Append(RecordKind.Telemetry, readings.Count, now, message.Topic, _ => bytes), TimeSpan.FromSeconds(3));
                Print(output, $"queue append, fsync {(fsync ? "every record" : "off")}", appends, "records/s");
                var records = queue.Count;
                var clock = Stopwatch.StartNew();
                var seq = 0L;
                while (queue.FirstUnacked(seq) is { } next)
                {
                    _ = queue.Read(next);
                    queue.Ack(next);
                    seq = next + 1;
                }

                var drained = records / clock.Elapsed.TotalSeconds;
                Print(output, $"queue read + ack, draining {records:N0} records", drained, "records/s");
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        return 0;
    }

    private static double Rate(Action action, TimeSpan duration)
    {
        action();
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (clock.Elapsed < duration)
        {
            action();
            n++;
        }

        return n / clock.Elapsed.TotalSeconds;
    }

    private static void Print(TextWriter output, string what, double rate, string unit) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench: {what}: {rate:N0} {unit}"));
}
