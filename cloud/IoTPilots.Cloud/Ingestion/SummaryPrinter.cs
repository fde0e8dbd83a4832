using System.Globalization;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>
/// Prints one line per interval to standard output (the live view of <c>./run demo</c>):
/// <c>ingest: 4.0 readings/s, written 120 (+20), rejected 0, write errors 0, pending 0</c>.
/// </summary>
public sealed class SummaryPrinter(IngestionStats stats, TimeSpan interval, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        long lastReadings = 0, lastWritten = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var readings = stats.Readings;
                var written = stats.LinesWritten;
                var rate = (readings - lastReadings) / interval.TotalSeconds;
                Console.Out.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"ingest: {rate:0.0} readings/s, written {written} points (+{written - lastWritten}), rejected {stats.Rejected}, write errors {stats.WriteErrors}, pending {stats.PendingLines}"));
                (lastReadings, lastWritten) = (readings, written);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
