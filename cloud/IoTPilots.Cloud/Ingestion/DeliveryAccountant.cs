using System.Text.Json;
using IoTPilots.Cloud.Influx;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>
/// Writes the per-gateway delivery summary (measurement <c>delivery</c>, tag <c>gateway</c>, fields
/// <c>received</c>, <c>missing</c>, <c>dropped</c>) from the ledger: a gateway numbers its messages from 1 in
/// each epoch (a new one whenever its queue starts from nothing), so per epoch missing = highest seq − distinct
/// seqs received − seqs the edge reported dropped, and the gateway's figures are the sums over its epochs. The
/// ledger is shared by all workers, so any worker computes the same answer.
/// </summary>
public sealed class DeliveryAccountant(IngestionOptions options, InfluxWriter influx, TimeProvider time, ILogger<DeliveryAccountant> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.DeliveryInterval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.DeliveryInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await WriteSummaryAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is InfluxUnavailableException or InfluxRejectedException or HttpRequestException or JsonException or KeyNotFoundException)
                {
                    logger.LogDebug("Delivery summary skipped: {Error}", ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task<IReadOnlyList<(string Gateway, long Received, long Missing, long Dropped)>> WriteSummaryAsync(CancellationToken cancellationToken)
    {
        var ledger = await QueryAsync($"SELECT count(seq), max(seq) FROM {LineProtocol.LedgerMeasurement} GROUP BY gateway, epoch", cancellationToken).ConfigureAwait(false);
        var gaps = await QueryAsync($"SELECT sum(messages) FROM {LineProtocol.GapMeasurement} GROUP BY gateway, epoch", cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var summary = new List<(string, long, long, long)>();
        var lines = new List<string>();
        foreach (var gateway in ledger.GroupBy(e => e.Key.Gateway))
        {
            long received = 0, missing = 0, dropped = 0;
            foreach (var (key, values) in gateway)
            {
                var epochDropped = gaps.TryGetValue(key, out var g) ? g[0] : 0;
                received += values[0];
                dropped += epochDropped;
                missing += Math.Max(0, values[1] - values[0] - epochDropped);
            }

            summary.Add((gateway.Key, received, missing, dropped));
            lines.Add(LineProtocol.Delivery(gateway.Key, received, missing, dropped, now));
        }

        await influx.WriteAsync(lines, cancellationToken).ConfigureAwait(false);
        return summary;
    }

    /// <summary>The first row of each series, keyed by its gateway and epoch tags ("" where a point has no epoch).</summary>
    private async Task<Dictionary<(string Gateway, string Epoch), long[]>> QueryAsync(string query, CancellationToken cancellationToken)
    {
        using var doc = await influx.QueryAsync(query, cancellationToken).ConfigureAwait(false);
        var result = new Dictionary<(string, string), long[]>();
        foreach (var r in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (!r.TryGetProperty("series", out var series))
            {
                continue;
            }

            foreach (var s in series.EnumerateArray())
            {
                var tags = s.GetProperty("tags");
                var gateway = tags.GetProperty("gateway").GetString()!;
                var epoch = tags.TryGetProperty("epoch", out var e) ? e.GetString() ?? "" : "";
                var row = s.GetProperty("values")[0];
                result[(gateway, epoch)] = row.EnumerateArray().Skip(1).Select(v => v.ValueKind == JsonValueKind.Number ? (long)v.GetDouble() : 0).ToArray();
            }
        }

        return result;
    }
}
