using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using IoTPilots.Config;

namespace IoTPilots.Cloud.Influx;

/// <summary>
/// How long InfluxDB keeps each resolution: raw readings in the default retention policy (<c>autogen</c>), and the
/// 1-min and 1-h rollups of measurement <c>telemetry</c>. Each is <c>INF</c> or a whole number of hours, days or
/// weeks of at least 1 h (InfluxDB 1.x refuses a shorter policy). Read once, at start (root README, "variables").
/// </summary>
/// <param name="Raw">Raw readings and everything else in the default policy (<c>PILOTS_RAW_RETENTION</c>); null: forever.</param>
/// <param name="Rollup1m">1-min rollups (<c>PILOTS_ROLLUP_1M_RETENTION</c>); null: forever.</param>
/// <param name="Rollup1h">1-h rollups (<c>PILOTS_ROLLUP_1H_RETENTION</c>); null: forever.</param>
public sealed record RetentionOptions(TimeSpan? Raw, TimeSpan? Rollup1m, TimeSpan? Rollup1h)
{
    /// <summary>
    /// Raw 400 days: the same weeks a year earlier are still there at full rate for a year-on-year comparison (a
    /// pilot's evaluation period against the one before it; 1-s peaks and dropouts that a 1-min rollup smooths), with
    /// five weeks of margin for a report written after its month ends. About 3.4 GB for the simulated fleet (root
    /// README, "Storage arithmetic"). 1-min rollups two years (a year compared with the one before), 1-h rollups ten
    /// years (the roadmap runs to 2035). The delivery accounting's state is not raw: it has a policy of its own
    /// (<see cref="DeliveryState"/>), kept forever.
    /// </summary>
    public static readonly RetentionOptions Default = new(TimeSpan.FromDays(400), TimeSpan.FromDays(730), TimeSpan.FromDays(3650));

    /// <exception cref="FormatException">A variable is wrong; the message starts with its name.</exception>
    public static RetentionOptions FromEnvironment(Func<string, string?> env) => new(
        Duration(env, "PILOTS_RAW_RETENTION", Default.Raw),
        Duration(env, "PILOTS_ROLLUP_1M_RETENTION", Default.Rollup1m),
        Duration(env, "PILOTS_ROLLUP_1H_RETENTION", Default.Rollup1h));

    private static TimeSpan? Duration(Func<string, string?> env, string name, TimeSpan? fallback)
    {
        var settings = new SettingsReader(env);
        if (settings.Optional(name) is not { } text)
        {
            return fallback;
        }

        if (text.Equals("inf", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var match = Regex.Match(text, @"^([0-9]{1,6})([hdw])$");
        var hours = match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) * match.Groups[2].Value switch { "h" => 1, "d" => 24, _ => 168 } : 0;
        return hours >= 1
            ? TimeSpan.FromHours(hours)
            : throw SettingsReader.Error(name, text, "is not INF or a duration of at least 1h such as 48h, 90d or 104w");
    }
}

/// <summary>
/// Retention policies and continuous queries of the 1.x API (storage schema: root README, "Storage schema"). Raw
/// readings stay in <c>autogen</c>; <see cref="Rollups"/> write <c>mean_</c>, <c>min_</c>, <c>max_</c> and
/// <c>last_</c> of every field of <c>telemetry</c>, same tags, into <c>"rollup_1m"."telemetry"</c> and
/// <c>"rollup_1h"."telemetry"</c>. Applying is idempotent: a policy is created when missing and altered when its
/// duration differs; a continuous query's name carries a hash of its definition, so an unchanged one is kept and a
/// changed one is dropped and created again.
/// </summary>
public static class Retention
{
    public const string RawPolicy = "autogen";

    /// <summary>
    /// The two rollups. RESAMPLE FOR is how late a reading may arrive and still be folded in: gateways backfill their
    /// disk queue after an outage, hours of it. Each run re-aggregates the whole FOR window, so the window costs
    /// query work: the 1-min rollup runs every 5 min over 6 h (72 times the raw of a day scanned per day; the newest
    /// 5 min appear late, the history view falls back to raw), the 1-h one every hour over 2 days (48 times). A
    /// backfill older than the window is folded in by <see cref="BackfillStatement"/> for its period.
    /// </summary>
    public static readonly IReadOnlyList<Rollup> Rollups =
    [
        new("rollup_1m", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromHours(6)),
        new("rollup_1h", TimeSpan.FromHours(1), TimeSpan.FromHours(1), TimeSpan.FromDays(2)),
    ];

    /// <summary>How long to wait before trying again when InfluxDB is away or refused.</summary>
    public static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(30);

    /// <summary>The aggregation every rollup runs, as <c>SELECT ... INTO ... GROUP BY time(bucket), *</c>.</summary>
    public static string Select(string database, Rollup rollup, string? where = null) =>
        $"SELECT mean(*), min(*), max(*), last(*) INTO {Quote(database)}.{Quote(rollup.Policy)}.{Quote(LineProtocol.TelemetryMeasurement)} " +
        $"FROM {Quote(database)}.{Quote(RawPolicy)}.{Quote(LineProtocol.TelemetryMeasurement)}" + (where is null ? "" : $" WHERE {where}") +
        $" GROUP BY time({Go(rollup.Bucket)}), *";

    /// <summary>The continuous query's name: its policy and a hash of its definition.</summary>
    public static string QueryName(string database, Rollup rollup) =>
        $"{rollup.Policy}_{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CreateQuery(database, rollup, "x"))))[..8]}";

    public static string CreateQuery(string database, Rollup rollup) => CreateQuery(database, rollup, QueryName(database, rollup));

    private static string CreateQuery(string database, Rollup rollup, string name) =>
        $"CREATE CONTINUOUS QUERY {Quote(name)} ON {Quote(database)} RESAMPLE EVERY {Go(rollup.Every)} FOR {Go(rollup.For)} BEGIN {Select(database, rollup)} END";

    /// <summary>The rollup's SELECT INTO for a past period (a backfill older than RESAMPLE FOR; the rollup test).</summary>
    public static string BackfillStatement(string database, Rollup rollup, DateTimeOffset from, DateTimeOffset to) =>
        Select(database, rollup, $"time >= {from.ToUnixTimeMilliseconds()}ms AND time < {to.ToUnixTimeMilliseconds()}ms");

    /// <summary>Makes the policies and continuous queries what <paramref name="options"/> say (a no-op on the v2 API, where buckets decide).</summary>
    public static async Task ApplyAsync(InfluxWriter influx, RetentionOptions options, CancellationToken cancellationToken)
    {
        if (influx.Endpoint.UseV2Api)
        {
            return;
        }

        // Before raw may become finite: InfluxDB would delete the 1970 shards the previous version kept the delivery
        // accounting's state in (the accountant runs it too, before it resumes; both are idempotent).
        await DeliveryState.MigrateAsync(influx, cancellationToken).ConfigureAwait(false);

        var db = influx.Endpoint.Database;
        var policies = new Dictionary<string, long>(StringComparer.Ordinal);
        using (var doc = await influx.QueryAsync($"SHOW RETENTION POLICIES ON {Quote(db)}", cancellationToken).ConfigureAwait(false))
        {
            foreach (var row in Rows(doc, "name", "duration"))
            {
                policies[row[0]] = GoHours(row[1]);
            }
        }

        foreach (var (policy, duration) in (List<(string, TimeSpan?)>)[(RawPolicy, options.Raw), (Rollups[0].Policy, options.Rollup1m), (Rollups[1].Policy, options.Rollup1h)])
        {
            var hours = duration is { } d ? (long)d.TotalHours : 0;
            var text = hours == 0 ? "INF" : $"{hours}h";
            if (!policies.TryGetValue(policy, out var existing))
            {
                await RunAsync(influx, $"CREATE RETENTION POLICY {Quote(policy)} ON {Quote(db)} DURATION {text} REPLICATION 1", cancellationToken).ConfigureAwait(false);
            }
            else if (existing != hours)
            {
                // With the shard duration CREATE would pick: InfluxDB refuses a duration shorter than the policy's
                // shard duration ("retention policy duration must be greater than the shard duration", 1.6), and
                // autogen made as INF has 7-day shards.
                await RunAsync(influx, $"ALTER RETENTION POLICY {Quote(policy)} ON {Quote(db)} DURATION {text} SHARD DURATION {ShardHours(hours)}h", cancellationToken).ConfigureAwait(false);
            }
        }

        var queries = new List<string>();
        using (var doc = await influx.QueryAsync("SHOW CONTINUOUS QUERIES", cancellationToken).ConfigureAwait(false))
        {
            // One series per database, named after it.
            foreach (var series in Series(doc).Where(s => s.GetProperty("name").GetString() == db))
            {
                queries.AddRange(RowsOf(series, "name", "query").Select(r => r[0]));
            }
        }

        foreach (var rollup in Rollups)
        {
            var name = QueryName(db, rollup);
            foreach (var stale in queries.Where(q => q != name && q.StartsWith(rollup.Policy + "_", StringComparison.Ordinal)))
            {
                await RunAsync(influx, $"DROP CONTINUOUS QUERY {Quote(stale)} ON {Quote(db)}", cancellationToken).ConfigureAwait(false);
            }

            if (!queries.Contains(name))
            {
                await RunAsync(influx, CreateQuery(db, rollup), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Applies the options now and, while InfluxDB is away or refuses (a user without admin rights), again every
    /// <see cref="RetryEvery"/> until it works or the cloud stops. Never throws: like the database, not fatal.
    /// </summary>
    public static async Task KeepTryingAsync(InfluxWriter influx, RetentionOptions options, ILogger logger, TimeProvider time, CancellationToken stopping)
    {
        if (influx.Endpoint.UseV2Api)
        {
            logger.LogInformation("InfluxDB v2 API: retention is the bucket's, and no rollups are made");
            return;
        }

        while (!stopping.IsCancellationRequested)
        {
            try
            {
                // The database first: when InfluxDB was away at start, nothing else has made it since.
                await influx.EnsureDatabaseAsync(stopping).ConfigureAwait(false);
                await ApplyAsync(influx, options, stopping).ConfigureAwait(false);
                logger.LogInformation("Retention policies and rollups on {Database}: raw {Raw}, {Policy1m} {Rollup1m}, {Policy1h} {Rollup1h}",
                    influx.Endpoint.Database, options.Raw?.ToString() ?? "INF", Rollups[0].Policy, options.Rollup1m?.ToString() ?? "INF", Rollups[1].Policy, options.Rollup1h?.ToString() ?? "INF");
                return;
            }
            catch (Exception ex) when (ex is InfluxUnavailableException or InfluxRejectedException or HttpRequestException or TaskCanceledException && !stopping.IsCancellationRequested)
            {
                logger.LogWarning("Could not set retention policies and rollups on {Database} yet (trying again in {Seconds} s): {Error}", influx.Endpoint.Database, RetryEvery.TotalSeconds, ex.Message);
            }

            try
            {
                await Task.Delay(RetryEvery, time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task RunAsync(InfluxWriter influx, string statement, CancellationToken cancellationToken)
    {
        using var _ = await influx.QueryAsync(statement, cancellationToken, post: true).ConfigureAwait(false);
    }

    private static IEnumerable<JsonElement> Series(JsonDocument doc)
    {
        foreach (var result in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (result.TryGetProperty("series", out var series))
            {
                foreach (var s in series.EnumerateArray())
                {
                    yield return s;
                }
            }
        }
    }

    private static List<string[]> Rows(JsonDocument doc, params string[] columns) => Series(doc).SelectMany(s => RowsOf(s, columns)).ToList();

    private static IEnumerable<string[]> RowsOf(JsonElement series, params string[] columns)
    {
        var names = series.GetProperty("columns").EnumerateArray().Select(c => c.GetString()).ToList();
        var at = columns.Select(c => names.IndexOf(c)).ToArray();
        if (!series.TryGetProperty("values", out var values))
        {
            yield break;
        }

        foreach (var row in values.EnumerateArray())
        {
            yield return at.Select(i => row[i].ValueKind == JsonValueKind.String ? row[i].GetString()! : row[i].ToString()).ToArray();
        }
    }

    /// <summary>
    /// The shard group duration InfluxDB 1.x gives a new policy of <paramref name="hours"/> (0: INF): 7 days from
    /// 180 days and for INF, 1 day from 2 days, else 1 hour (<c>shardGroupDuration</c> in its services/meta/data.go).
    /// </summary>
    public static long ShardHours(long hours) => hours is 0 or >= 180 * 24 ? 168 : hours >= 48 ? 24 : 1;

    /// <summary>Whole hours of a Go duration as SHOW RETENTION POLICIES prints it (<c>2160h0m0s</c>; <c>0s</c> is forever).</summary>
    private static long GoHours(string text)
    {
        var match = Regex.Match(text, @"^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$");
        return match.Success && match.Groups[1].Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>An InfluxQL duration literal: whole hours or minutes.</summary>
    private static string Go(TimeSpan span) =>
        span.TotalHours >= 1 && span.TotalHours == Math.Floor(span.TotalHours) ? $"{(long)span.TotalHours}h" : $"{(long)span.TotalMinutes}m";

    internal static string Quote(string identifier) => "\"" + identifier.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}

/// <param name="Policy">Retention policy the rollup is written to (measurement <c>telemetry</c> there).</param>
/// <param name="Bucket">GROUP BY time(...).</param>
/// <param name="Every">RESAMPLE EVERY: how often the continuous query runs.</param>
/// <param name="For">RESAMPLE FOR: how far back each run recomputes, so late data is folded in.</param>
public sealed record Rollup(string Policy, TimeSpan Bucket, TimeSpan Every, TimeSpan For);
