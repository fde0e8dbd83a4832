namespace IoTPilots.Cloud.Influx;

/// <summary>
/// The ingestion's <see cref="IPointWriter"/>: returns once every storable line is stored and every line InfluxDB
/// can never take is in <c>quarantine</c> (reason <see cref="QuarantineReason"/>, the line's series and InfluxDB's
/// error, never the values); throws <see cref="InfluxUnavailableException"/> when the whole batch should be tried
/// again. So one bad line, or a request over the server's size limit, never costs the valid messages of other
/// gateways that share its batch.
/// <list type="bullet">
/// <item>413 (request larger than <c>max-body-size</c>): halves the request, recursively; a single line still too
/// large is quarantined.</item>
/// <item>400/422 naming lines (<see cref="InfluxRefusal"/>): those lines are quarantined; the rest was stored by
/// the partial write, or is sent again without them.</item>
/// <item>400/422 about data that names no line: halves the request until the bad lines stand alone.</item>
/// <item>400 about the request itself (e.g. a missing retention policy): nothing is quarantined; it is held and
/// retried, since no line is at fault.</item>
/// </list>
/// Sending a line again is harmless: a point with the same identity overwrites itself. The delivery ledger's entry
/// lines are folded into range points at each attempt (<see cref="DeliveryLedger"/>) and go to its retention policy;
/// gap reports go to the accounting state's (<see cref="DeliveryState"/>).
/// </summary>
public sealed class StoringPointWriter(InfluxWriter influx, string worker, TimeProvider time, ILogger<StoringPointWriter> logger) : IPointWriter
{
    public const string QuarantineReason = "InfluxRefused";

    private long _lastStampMs;
    private long _refused;
    private long _tooLarge;

    /// <summary>Lines quarantined because InfluxDB refused them, since start.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Requests InfluxDB refused as too large (HTTP 413) and that were split, since start.</summary>
    public long TooLarge => Interlocked.Read(ref _tooLarge);

    public async Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        var (folded, entries) = DeliveryLedger.Fold(lines);
        var (data, state) = DeliveryState.Split(folded);
        var quarantine = new List<string>();
        await StoreAsync(data, null, quarantine, cancellationToken).ConfigureAwait(false);
        if (state.Count > 0)
        {
            // Gap reports, stamped by seq: on 1.x in a policy kept forever, or a finite raw policy would refuse them.
            await StoreInPolicyAsync(state, DeliveryState.RetentionPolicy, null, quarantine, cancellationToken).ConfigureAwait(false);
        }

        if (entries.Count > 0)
        {
            // Stamped now, at this attempt, so the accountant's window sees them even after a long outage. Written
            // last: an entry says its message is stored.
            var ranges = DeliveryLedger.RangeLines(entries, worker, NextStamp);
            await StoreInPolicyAsync(ranges, DeliveryLedger.RetentionPolicy, DeliveryLedger.Retention, quarantine, cancellationToken).ConfigureAwait(false);
        }

        if (quarantine.Count > 0)
        {
            Interlocked.Add(ref _refused, quarantine.Count);
            logger.LogWarning("InfluxDB refused {Refused} of {Lines} lines; they are in measurement quarantine (reason {Reason}), the rest is stored", quarantine.Count, lines.Count, QuarantineReason);
            await StoreAsync(quarantine, null, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stores lines in a 1.x retention policy of their own (the bucket on the v2 API), making the policy when it is missing.</summary>
    private async Task StoreInPolicyAsync(List<string> lines, string policy, TimeSpan? duration, List<string> quarantine, CancellationToken cancellationToken)
    {
        var rp = influx.Endpoint.UseV2Api ? null : policy;
        try
        {
            await StoreAsync(lines, rp, quarantine, cancellationToken).ConfigureAwait(false);
        }
        catch (InfluxUnavailableException ex) when (ex.Message.Contains("retention policy not found", StringComparison.Ordinal))
        {
            // A database made before the policy existed, by someone else: make it, then try again.
            logger.LogWarning("Creating the retention policy {Policy}", policy);
            await influx.EnsureRetentionPolicyAsync(policy, duration, cancellationToken).ConfigureAwait(false);
            await StoreAsync(lines, rp, quarantine, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task StoreAsync(List<string> lines, string? retentionPolicy, List<string>? quarantine, CancellationToken cancellationToken)
    {
        if (await influx.SendAsync(lines, retentionPolicy, cancellationToken).ConfigureAwait(false) is not { } refusal)
        {
            return;
        }

        if (quarantine is null)
        {
            // A quarantine point refused: there is nowhere further to put it.
            logger.LogError("InfluxDB refused {Lines} quarantine point(s): HTTP {Status} {Error}", lines.Count, refusal.Status, refusal.Error);
            return;
        }

        if (refusal.Status == 413)
        {
            Interlocked.Increment(ref _tooLarge);
            if (lines.Count == 1)
            {
                Quarantine(quarantine, lines[0], $"HTTP 413: one line is larger than the server's request limit: {InfluxRefusal.WithoutContent(refusal.Error)}");
                return;
            }

            logger.LogDebug("InfluxDB refused {Lines} lines as too large (HTTP 413); halving", lines.Count);
            await HalvesAsync(lines, retentionPolicy, quarantine, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!InfluxRefusal.IsAboutData(refusal))
        {
            throw new InfluxUnavailableException($"InfluxDB refused the write request itself, not its points (HTTP {refusal.Status} {refusal.Error}); holding {lines.Count} lines", null);
        }

        var analysis = InfluxRefusal.Analyse(refusal, lines);
        foreach (var (index, error) in analysis.Bad)
        {
            Quarantine(quarantine, lines[index], $"HTTP {refusal.Status}: {error}");
        }

        if (analysis.RestStored)
        {
            return;
        }

        if (analysis.Bad.Count > 0)
        {
            await StoreAsync(lines.Where((_, i) => !analysis.Bad.ContainsKey(i)).ToList(), retentionPolicy, quarantine, cancellationToken).ConfigureAwait(false);
        }
        else if (lines.Count == 1)
        {
            Quarantine(quarantine, lines[0], $"HTTP {refusal.Status}: {InfluxRefusal.WithoutContent(refusal.Error)}");
        }
        else
        {
            await HalvesAsync(lines, retentionPolicy, quarantine, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task HalvesAsync(List<string> lines, string? retentionPolicy, List<string> quarantine, CancellationToken cancellationToken)
    {
        var half = lines.Count / 2;
        await StoreAsync(lines.GetRange(0, half), retentionPolicy, quarantine, cancellationToken).ConfigureAwait(false);
        await StoreAsync(lines.GetRange(half, lines.Count - half), retentionPolicy, quarantine, cancellationToken).ConfigureAwait(false);
    }

    private void Quarantine(List<string> quarantine, string line, string error)
    {
        var series = LineParts.SeriesKey(line);
        logger.LogDebug("InfluxDB refused a line of {Series}: {Error}", series, error);
        quarantine.Add(LineProtocol.Quarantine(QuarantineReason, series, error, System.Text.Encoding.UTF8.GetByteCount(line), NextStamp()));
    }

    /// <summary>Distinct milliseconds, so two points of one series made within a millisecond never overwrite each other.</summary>
    private long NextStamp()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        long last, next;
        do
        {
            last = Interlocked.Read(ref _lastStampMs);
            next = Math.Max(now, last + 1);
        }
        while (Interlocked.CompareExchange(ref _lastStampMs, next, last) != last);
        return next;
    }
}
