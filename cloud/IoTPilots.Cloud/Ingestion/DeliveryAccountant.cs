using System.Globalization;
using System.Text.Json;
using IoTPilots.Cloud.Influx;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>
/// Writes the per-gateway delivery summary (measurement <c>delivery</c>, tag <c>gateway</c>, fields
/// <c>received</c>, <c>missing</c>, <c>dropped</c>). A gateway numbers its messages from 1 in each epoch (a new one
/// whenever its queue starts from nothing), so per epoch missing = highest seq − distinct seqs received − numbered
/// seqs the edge reported dropping, and the gateway's figures are the sums over its epochs.
/// <para>
/// The cost is bounded: it keeps each epoch's stored seqs as runs (<see cref="DeliveryBook"/>), and each round reads
/// only the ledger's range points written since its last round (plus <see cref="Overlap"/>, for writes in flight
/// and clocks a little apart; reading a range twice changes nothing), never the whole ledger. The runs are kept in
/// <c>delivery_epoch</c> (one point per epoch, replaced; retention policy <see cref="DeliveryState.RetentionPolicy"/>
/// on 1.x, with the gap reports), from which the next start resumes. The ledger is shared by
/// all workers, so any worker computes the same answer.
/// </para>
/// </summary>
public sealed class DeliveryAccountant(IngestionOptions options, InfluxWriter influx, TimeProvider time, ILogger<DeliveryAccountant> logger) : BackgroundService
{
    /// <summary>
    /// How far back each round reads again. A ledger point is stamped when its write is attempted, and an attempt
    /// lasts at most the HTTP timeout (30 s), so two minutes covers writes in flight and clock skew between workers.
    /// </summary>
    public static readonly TimeSpan Overlap = TimeSpan.FromMinutes(2);

    /// <summary>The rolling summary's runs are kept only while they fit in an InfluxDB string field (64 KiB).</summary>
    private const int MaxRangesChars = 60_000;

    /// <summary>Every epoch's summary is rewritten this often, so the oldest cursor a restart resumes from stays recent.</summary>
    private static readonly TimeSpan RefreshAll = TimeSpan.FromHours(1);

    private readonly DeliveryBook _book = new();
    private long? _cursorMs;
    private long _refreshedMs;

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
                catch (Exception ex) when (ex is InfluxUnavailableException or InfluxRejectedException or HttpRequestException or JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
                {
                    logger.LogDebug("Delivery summary skipped: {Error}", ex.Message);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The summary is a report, never the data path: whatever goes wrong in one round must not stop the
                    // host (a BackgroundService that throws stops the whole cloud, ingestion included).
                    logger.LogWarning(ex, "Delivery summary failed; trying again next round");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One round: reads what the ledger gained, writes <c>delivery</c> and the changed epochs' <c>delivery_epoch</c>.</summary>
    public async Task<IReadOnlyList<GatewayDelivery>> WriteSummaryAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        _cursorMs ??= await ResumeAsync(now, cancellationToken).ConfigureAwait(false);
        var from = _cursorMs.Value - (long)Overlap.TotalMilliseconds;
        foreach (var (tags, row) in await RowsAsync($"SELECT \"first_seq\", \"last_seq\", \"seqs\" FROM {LedgerSource} WHERE time > {from}ms GROUP BY gateway, epoch", cancellationToken).ConfigureAwait(false))
        {
            // InfluxDB 1.6 has been seen (once, under a full test run's load) to hand back a ledger row whose first_seq
            // was null. Taken as 0, it would count every seq up to last_seq as received and hide a loss. The row is
            // skipped: the next round reads it again (it lies within the overlap), and a point written without
            // those fields (by hand) can never claim a message.
            if (row[1].ValueKind != JsonValueKind.Number || row[2].ValueKind != JsonValueKind.Number)
            {
                logger.LogWarning("Delivery ledger of gateway {Gateway} epoch {Epoch}: a row without first_seq or last_seq was skipped", tags.Gateway, tags.Epoch);
                continue;
            }

            foreach (var (a, b) in DeliveryLedger.Runs(Long(row[1]), Long(row[2]), row[3].ValueKind == JsonValueKind.String ? row[3].GetString() : null))
            {
                _book.Add(tags.Gateway, tags.Epoch, a, b);
            }
        }

        var drops = await DropsAsync(cancellationToken).ConfigureAwait(false);
        var summary = _book.Summarise(drops);
        var lines = summary.Select(g => LineProtocol.Delivery(g.Gateway, g.Received, g.Missing, g.Dropped, now)).ToList();
        var epochs = new List<string>();
        var refresh = now - _refreshedMs >= (long)RefreshAll.TotalMilliseconds;
        var changed = _book.TakeChanged();
        foreach (var (gateway, epoch, seqs) in refresh ? _book.Epochs.ToList() : changed)
        {
            var ranges = seqs.ToString();
            if (ranges.Length <= MaxRangesChars)
            {
                epochs.Add(LineProtocol.Epoch(gateway, epoch, seqs.Count, seqs.Max, ranges, now));
            }
            else
            {
                // Kept in memory; a restart re-reads the raw ledger from the last summary that fitted.
                logger.LogWarning("Gateway {Gateway} epoch {Epoch} has {Runs} separate runs of seqs; its rolling summary is not saved this round", gateway, epoch, seqs.Runs.Count);
            }
        }

        // Two requests: the summaries go to the state's policy (1.x), the figures to the default one. Either failing
        // fails the round, which reads the same ledger again next time.
        await influx.WriteAsync(epochs, DeliveryState.PolicyFor(influx.Endpoint), cancellationToken).ConfigureAwait(false);
        await influx.WriteAsync(lines, cancellationToken).ConfigureAwait(false);
        _cursorMs = now;
        _refreshedMs = refresh ? now : _refreshedMs;
        return summary;
    }

    /// <summary>The 1.x ledger lives in its own retention policy; on the v2 API in the bucket.</summary>
    private string LedgerSource => influx.Endpoint.UseV2Api
        ? LineProtocol.LedgerMeasurement
        : $"\"{DeliveryLedger.RetentionPolicy}\".\"{LineProtocol.LedgerMeasurement}\"";

    /// <summary>
    /// Loads the rolling summaries and returns where to read the ledger from: the oldest summary's cursor. With no
    /// summary at all, imports a ledger of one point per message (the schema before range points, stamped at
    /// seq ms, so before 1971) once, and reads the whole raw ledger, which its retention policy bounds.
    /// </summary>
    private async Task<long> ResumeAsync(long now, CancellationToken cancellationToken)
    {
        // A database the previous version wrote keeps its summaries and gap reports in the raw policy: copied first.
        if (await DeliveryState.MigrateAsync(influx, cancellationToken).ConfigureAwait(false) is > 0 and var copied)
        {
            logger.LogInformation("Delivery accounting: copied {Points} summary and gap report points of the previous version into retention policy {Policy}", copied, DeliveryState.RetentionPolicy);
        }

        long? oldest = null;
        foreach (var (tags, row) in await RowsAsync($"SELECT \"ranges\", \"cursor\" FROM {DeliveryState.Source(influx.Endpoint, LineProtocol.EpochMeasurement)} GROUP BY gateway, epoch", cancellationToken).ConfigureAwait(false))
        {
            foreach (var (a, b) in SeqSet.Parse(row[1].GetString() ?? "").Runs)
            {
                _book.Add(tags.Gateway, tags.Epoch, a, b);
            }

            oldest = Math.Min(oldest ?? long.MaxValue, Long(row[2]));
        }

        if (oldest is { } cursor)
        {
            _book.TakeChanged();
            return Math.Max(cursor, now - (long)DeliveryLedger.Retention.TotalMilliseconds);
        }

        var legacy = 0;
        foreach (var (tags, row) in await RowsAsync($"SELECT \"seq\" FROM \"{LineProtocol.LedgerMeasurement}\" WHERE time < {LegacyBeforeMs}ms GROUP BY gateway, epoch", cancellationToken).ConfigureAwait(false))
        {
            var seq = Long(row[1]);
            _book.Add(tags.Gateway, tags.Epoch, seq, seq);
            legacy++;
        }

        if (legacy > 0)
        {
            logger.LogInformation("Delivery accounting: imported {Points} per-message ledger points of the earlier schema", legacy);
        }

        return now - (long)DeliveryLedger.Retention.TotalMilliseconds;
    }

    /// <summary>The earlier ledger stamped each point with its seq in ms: every seq below 3e10 lands before 1971.</summary>
    private const long LegacyBeforeMs = 31_536_000_000;

    /// <summary>Per epoch, what the gap reports say was dropped; a gap report is one small point per incident.</summary>
    private async Task<Dictionary<(string Gateway, string Epoch), EpochDrops>> DropsAsync(CancellationToken cancellationToken)
    {
        var drops = new Dictionary<(string, string), EpochDrops>();
        foreach (var (tags, row) in await RowsAsync($"SELECT \"messages\", \"unnumbered\", \"first_seq\", \"last_seq\" FROM {DeliveryState.Source(influx.Endpoint, LineProtocol.GapMeasurement)} GROUP BY gateway, epoch", cancellationToken).ConfigureAwait(false))
        {
            var messages = Long(row[1]);
            var report = new Contract.GapReport("", tags.Gateway, 0, Long(row[3]), Long(row[4]), (int)Math.Min(messages, int.MaxValue), 0, default, default, "")
            {
                // Points stored before the field existed infer it as GapReport does for an older edge's report.
                Unnumbered = row[2].ValueKind == JsonValueKind.Number ? (int)Long(row[2]) : null,
            };
            var d = drops.GetValueOrDefault((tags.Gateway, tags.Epoch));
            drops[(tags.Gateway, tags.Epoch)] = new EpochDrops(d.Messages + messages, d.Numbered + report.NumberedMessages);
        }

        return drops;
    }

    private static long Long(JsonElement v) => v.ValueKind == JsonValueKind.Number ? (long)v.GetDouble() : 0;

    /// <summary>Every row of every series, with its gateway and epoch tags ("" where a point has no epoch).</summary>
    private async Task<List<((string Gateway, string Epoch) Tags, JsonElement[] Row)>> RowsAsync(string query, CancellationToken cancellationToken)
    {
        using var doc = await influx.QueryAsync(query, cancellationToken).ConfigureAwait(false);
        var result = new List<((string, string), JsonElement[])>();
        foreach (var r in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (!r.TryGetProperty("series", out var series))
            {
                continue;
            }

            foreach (var s in series.EnumerateArray())
            {
                var tags = s.GetProperty("tags");
                var gateway = tags.GetProperty("gateway").GetString() ?? "";
                var epoch = tags.TryGetProperty("epoch", out var e) ? e.GetString() ?? "" : "";
                foreach (var row in s.GetProperty("values").EnumerateArray())
                {
                    result.Add(((gateway, epoch), row.EnumerateArray().Select(v => v.Clone()).ToArray()));
                }
            }
        }

        return result;
    }
}
