using System.Globalization;
using IoTPilots.Cloud.Ingestion;

namespace IoTPilots.Cloud.Influx;

/// <summary>
/// Writes the ingestion's counters to measurement <c>ingest</c> every <see cref="Every"/>, so the fleet-health
/// dashboard can show the ingest rate, write errors and the lines waiting (dashboards/json/fleet.json): the
/// counters are cumulative since start, per worker, and the dashboard takes their derivative. A write that fails is
/// skipped (the next one carries the totals); it never holds the ingestion.
/// </summary>
public sealed class IngestStatsWriter(InfluxWriter influx, IngestionStats stats, string worker, TimeProvider time, ILogger<IngestStatsWriter> logger) : BackgroundService
{
    public const string Measurement = "ingest";

    public static readonly TimeSpan Every = TimeSpan.FromSeconds(10);

    /// <summary>One point of the counters at <paramref name="timestampMs"/>.</summary>
    public static string Line(string worker, long messages, long readings, long linesWritten, long rejected, long writeErrors, long pendingLines, long timestampMs) =>
        string.Create(CultureInfo.InvariantCulture, $"{Measurement},worker={LineProtocol.EscapeKey(worker)} messages={messages}i,readings={readings}i,lines_written={linesWritten}i,rejected={rejected}i,write_errors={writeErrors}i,pending_lines={pendingLines}i {timestampMs}");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Every, time);
        var warned = false;
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false))
        {
            var line = Line(worker, stats.Messages, stats.Readings, stats.LinesWritten, stats.Rejected, stats.WriteErrors, stats.PendingLines, time.GetUtcNow().ToUnixTimeMilliseconds());
            try
            {
                await influx.SendAsync([line], null, stoppingToken).ConfigureAwait(false);
                warned = false;
            }
            catch (InfluxUnavailableException ex) when (!warned)
            {
                // Once per outage: the ingestion itself already says InfluxDB is away.
                logger.LogWarning("Could not write the ingestion counters: {Error}", ex.Message);
                warned = true;
            }
            catch (InfluxUnavailableException)
            {
            }
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
