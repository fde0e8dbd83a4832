using System.Text.Json;

namespace IoTPilots.Cloud.Influx;

/// <summary>
/// The delivery accounting's state: the accountant's rolling summaries (<c>delivery_epoch</c>, stamped 0) and the
/// edges' gap reports (<c>delivery_gap</c>, stamped with their seq). Both carry timestamps near 1970 on purpose (a
/// point overwrites itself), so on InfluxDB 1.x they live in the retention policy <see cref="RetentionPolicy"/>,
/// kept forever: in a policy with a finite duration, such as raw <c>autogen</c>, InfluxDB refuses them
/// (<c>partial write: points beyond retention policy dropped=1</c>, checked on 1.6). On the v2 API there are no
/// retention policies: they go to the bucket, as before. The routing is pure; <see cref="MigrateAsync"/> is I/O.
/// </summary>
public static class DeliveryState
{
    public const string RetentionPolicy = "delivery_state";

    /// <summary>The measurements the policy holds.</summary>
    public static readonly IReadOnlyList<string> Measurements = [LineProtocol.EpochMeasurement, LineProtocol.GapMeasurement];

    private static readonly string[] Prefixes = [LineProtocol.EpochMeasurement + ",", LineProtocol.GapMeasurement + ","];

    /// <summary>Whether a line belongs in <see cref="RetentionPolicy"/> (every such line has tags, so a comma follows its measurement).</summary>
    public static bool Holds(string line) =>
        line.StartsWith(Prefixes[0], StringComparison.Ordinal) || line.StartsWith(Prefixes[1], StringComparison.Ordinal);

    /// <summary>
    /// Splits a batch into the lines for the default policy and those for <see cref="RetentionPolicy"/>. A batch
    /// without state lines (nearly all of them) comes back as it is, without a copy.
    /// </summary>
    public static (List<string> Default, List<string> State) Split(List<string> lines)
    {
        var state = new List<string>();
        List<string>? rest = null;
        for (var i = 0; i < lines.Count; i++)
        {
            if (!Holds(lines[i]))
            {
                rest?.Add(lines[i]);
                continue;
            }

            if (rest is null)
            {
                rest = new List<string>(lines.Count);
                for (var j = 0; j < i; j++)
                {
                    rest.Add(lines[j]);
                }
            }

            state.Add(lines[i]);
        }

        return (rest ?? lines, state);
    }

    /// <summary>The policy to write state lines to: null on the v2 API (the bucket).</summary>
    public static string? PolicyFor(InfluxEndpoint endpoint) => endpoint.UseV2Api ? null : RetentionPolicy;

    /// <summary>Where a query reads a state measurement: <c>"delivery_state"."m"</c> on 1.x, the bare measurement on the v2 API.</summary>
    public static string Source(InfluxEndpoint endpoint, string measurement) =>
        endpoint.UseV2Api ? $"\"{measurement}\"" : $"\"{RetentionPolicy}\".\"{measurement}\"";

    /// <summary>
    /// Copies a measurement the previous version wrote to the raw policy into <see cref="RetentionPolicy"/>, tags
    /// kept (<c>GROUP BY *</c>). The copies have the same series and time as the originals, so running it twice
    /// writes the same points again. InfluxDB 1.x runs SELECT INTO by POST only.
    /// </summary>
    public static string CopyStatement(string database, string measurement) =>
        $"SELECT * INTO {Retention.Quote(database)}.{Retention.Quote(RetentionPolicy)}.{Retention.Quote(measurement)} FROM {Retention.Quote(database)}.{Retention.Quote(Retention.RawPolicy)}.{Retention.Quote(measurement)} GROUP BY *";

    /// <summary>
    /// The upgrade from the version that kept the state in the raw policy: makes <see cref="RetentionPolicy"/> and
    /// copies what the raw policy holds of it. Summaries are copied only while the policy has none, since afterwards
    /// the accountant's own are newer than the raw policy's; gap reports never change, so they are copied whenever
    /// the raw policy has any (that also takes in those an older worker wrote there during a rolling upgrade; once
    /// raw is finite, InfluxDB expires them there). Run before the accountant resumes and before raw becomes finite
    /// (InfluxDB would then delete the 1970 shards they are in). A no-op on the v2 API. Returns the points copied.
    /// </summary>
    public static async Task<long> MigrateAsync(InfluxWriter influx, CancellationToken cancellationToken)
    {
        if (influx.Endpoint.UseV2Api)
        {
            return 0;
        }

        await influx.EnsureRetentionPolicyAsync(RetentionPolicy, null, cancellationToken).ConfigureAwait(false);
        var db = influx.Endpoint.Database;
        long copied = 0;
        foreach (var measurement in Measurements)
        {
            if (!await AnyAsync(influx, Retention.RawPolicy, measurement, cancellationToken).ConfigureAwait(false)
                || (measurement == LineProtocol.EpochMeasurement && await AnyAsync(influx, RetentionPolicy, measurement, cancellationToken).ConfigureAwait(false)))
            {
                continue;
            }

            using var doc = await influx.QueryAsync(CopyStatement(db, measurement), cancellationToken, post: true).ConfigureAwait(false);
            copied += Written(doc);
        }

        return copied;
    }

    private static async Task<bool> AnyAsync(InfluxWriter influx, string policy, string measurement, CancellationToken cancellationToken)
    {
        using var doc = await influx.QueryAsync($"SELECT * FROM {Retention.Quote(policy)}.{Retention.Quote(measurement)} LIMIT 1", cancellationToken).ConfigureAwait(false);
        return doc.RootElement.GetProperty("results").EnumerateArray().Any(r => r.TryGetProperty("series", out _));
    }

    /// <summary>SELECT INTO answers one row, <c>[time, written]</c>.</summary>
    private static long Written(JsonDocument doc)
    {
        long written = 0;
        foreach (var result in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (result.TryGetProperty("series", out var series))
            {
                foreach (var row in series.EnumerateArray().Where(s => s.TryGetProperty("values", out _)).SelectMany(s => s.GetProperty("values").EnumerateArray()))
                {
                    written += row.GetArrayLength() > 1 && row[1].ValueKind == JsonValueKind.Number ? (long)row[1].GetDouble() : 0;
                }
            }
        }

        return written;
    }
}
