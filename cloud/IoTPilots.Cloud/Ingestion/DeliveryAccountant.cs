using System.Text.Json;
using IoTPilots.Cloud.Influx;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>
/// Writes the per-gateway delivery summary (measurement <c>delivery</c>, tag <c>gateway</c>, fields
/// <c>received</c>, <c>missing</c>, <c>dropped</c>) from the ledger: every gateway numbers its messages from 1,
/// so missing = highest seq − distinct seqs received − seqs the edge reported dropped. The ledger is shared by
/// all workers, so any worker computes the same answer.
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
        var ledger = await QueryAsync($"SELECT count(seq), max(seq) FROM {LineProtocol.LedgerMeasurement} GROUP BY gateway", cancellationToken).ConfigureAwait(false);
        var gaps = await QueryAsync($"SELECT sum(messages) FROM {LineProtocol.GapMeasurement} GROUP BY gateway", cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var summary = new List<(string, long, long, long)>();
        var lines = new List<string>();
        foreach (var (gateway, values) in ledger)
        {
            var received = values[0];
            var maxSeq = values[1];
            var dropped = gaps.TryGetValue(gateway, out var g) ? g[0] : 0;
            var missing = Math.Max(0, maxSeq - received - dropped);
            summary.Add((gateway, received, missing, dropped));
            lines.Add(LineProtocol.Delivery(gateway, received, missing, dropped, now));
        }

        await influx.WriteAsync(lines, cancellationToken).ConfigureAwait(false);
        return summary;
    }

    private async Task<Dictionary<string, long[]>> QueryAsync(string query, CancellationToken cancellationToken)
    {
        using var doc = await influx.QueryAsync(query, cancellationToken).ConfigureAwait(false);
        var result = new Dictionary<string, long[]>();
        foreach (var r in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (!r.TryGetProperty("series", out var series))
            {
                continue;
            }

            foreach (var s in series.EnumerateArray())
            {
                var gateway = s.GetProperty("tags").GetProperty("gateway").GetString()!;
                var row = s.GetProperty("values")[0];
                result[gateway] = row.EnumerateArray().Skip(1).Select(v => v.ValueKind == JsonValueKind.Number ? (long)v.GetDouble() : 0).ToArray();
            }
        }

        return result;
    }
}
