using System.Globalization;
using System.Text.Json;
using IoTPilots.Cloud.Influx;

namespace IoTPilots.Cloud.Live;

/// <summary>One series of an InfluxQL answer: its tags, its column names (the first is time, in ms) and its rows.</summary>
public sealed record InfluxSeries(IReadOnlyDictionary<string, string> Tags, IReadOnlyList<string> Columns, IReadOnlyList<JsonElement[]> Rows);

/// <summary>Runs InfluxQL for the live view: the one place it reads InfluxDB's JSON.</summary>
public interface ITelemetryQuery
{
    /// <summary>Every series of the answer. Throws <see cref="InfluxRejectedException"/> for an InfluxQL error.</summary>
    Task<IReadOnlyList<InfluxSeries>> SeriesAsync(string influxQl, CancellationToken cancellationToken);
}

/// <summary><see cref="ITelemetryQuery"/> over the cloud's InfluxDB client.</summary>
public sealed class InfluxTelemetryQuery(InfluxWriter influx) : ITelemetryQuery
{
    public async Task<IReadOnlyList<InfluxSeries>> SeriesAsync(string influxQl, CancellationToken cancellationToken)
    {
        using var doc = await influx.QueryAsync(influxQl, cancellationToken).ConfigureAwait(false);
        var all = new List<InfluxSeries>();
        foreach (var result in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (!result.TryGetProperty("series", out var list))
            {
                continue;
            }

            foreach (var series in list.EnumerateArray())
            {
                var tags = new Dictionary<string, string>(StringComparer.Ordinal);
                if (series.TryGetProperty("tags", out var t))
                {
                    foreach (var tag in t.EnumerateObject())
                    {
                        tags[tag.Name] = tag.Value.GetString() ?? "";
                    }
                }

                all.Add(new InfluxSeries(
                    tags,
                    [.. series.GetProperty("columns").EnumerateArray().Select(c => c.GetString() ?? "")],
                    [.. series.GetProperty("values").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.Clone()).ToArray())]));
            }
        }

        return all;
    }
}

/// <summary>One range of the history view, and where it is read (HELPERS.md contract 2, rollups).</summary>
/// <param name="RetentionPolicy">The rollup's retention policy, or null to read raw points.</param>
/// <param name="Bucket">The rollup's (and the raw fallback's) interval.</param>
public sealed record HistoryRange(string Name, TimeSpan Span, string? RetentionPolicy, TimeSpan Bucket)
{
    /// <summary>1 h of raw points; 24 h of 1-minute rollups; 7 d of 1-hour rollups.</summary>
    public static readonly IReadOnlyList<HistoryRange> All =
    [
        new("1h", TimeSpan.FromHours(1), null, TimeSpan.Zero),
        new("24h", TimeSpan.FromHours(24), "rollup_1m", TimeSpan.FromMinutes(1)),
        new("7d", TimeSpan.FromDays(7), "rollup_1h", TimeSpan.FromHours(1)),
    ];

    public static HistoryRange? Find(string? name) => All.FirstOrDefault(r => r.Name == name);
}

/// <summary>A point of the history chart: the bucket's mean, min and max (all three the value for a raw point).</summary>
public sealed record HistoryPoint(long T, double Mean, double Min, double Max);

/// <summary>A device's signal over a range, and what it was read from: <c>raw</c>, the rollup, or the rollup with its newest buckets from raw.</summary>
public sealed record History(string Range, string Source, int BucketSeconds, IReadOnlyList<HistoryPoint> Points);

/// <summary>
/// Reads a device's history for the page. 1 h is raw points. 24 h and 7 d read the rollups G's continuous queries
/// write (measurement <c>telemetry</c> in <c>rollup_1m</c> / <c>rollup_1h</c>, fields <c>mean_f</c>, <c>min_f</c>,
/// <c>max_f</c>); the buckets after the newest rollup point (a continuous query runs once its interval is over) come
/// from raw with GROUP BY time, and a rollup with no data (not created yet, or the v2 API, which has no retention
/// policies) falls back to raw with GROUP BY time altogether. The tags and field come checked by the caller.
/// </summary>
public sealed class HistoryReader(ITelemetryQuery influx)
{
    public async Task<History> ReadAsync(string site, string gateway, string device, string field, HistoryRange range, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var where = $"\"site\" = {Literal(site)} AND \"gateway\" = {Literal(gateway)} AND \"device\" = {Literal(device)}";
        var from = now - range.Span;
        var f = Identifier(field);
        if (range.RetentionPolicy is null)
        {
            var raw = await influx.SeriesAsync($"SELECT {f} FROM \"telemetry\" WHERE {where} AND time > {Ms(from)}ms ORDER BY time ASC", cancellationToken).ConfigureAwait(false);
            return new History(range.Name, "raw", 0, Points(raw, single: true));
        }

        List<HistoryPoint> rollup;
        try
        {
            rollup = Points(await influx.SeriesAsync(
                $"SELECT {Identifier("mean_" + field)}, {Identifier("min_" + field)}, {Identifier("max_" + field)} FROM {Identifier(range.RetentionPolicy)}.\"telemetry\" WHERE {where} AND time > {Ms(from)}ms ORDER BY time ASC",
                cancellationToken).ConfigureAwait(false), single: false);
        }
        catch (InfluxRejectedException)
        {
            // "retention policy not found": the rollups do not exist (yet) on this server.
            rollup = [];
        }

        var rawFrom = rollup.Count == 0 ? from : DateTimeOffset.FromUnixTimeMilliseconds(rollup[^1].T) + range.Bucket;
        var bucket = $"{(long)range.Bucket.TotalSeconds}s";
        var tail = Points(await influx.SeriesAsync(
            $"SELECT mean({f}), min({f}), max({f}) FROM \"telemetry\" WHERE {where} AND time >= {Ms(rawFrom)}ms GROUP BY time({bucket}) fill(none)",
            cancellationToken).ConfigureAwait(false), single: false);
        var source = rollup.Count == 0 ? "raw" : tail.Count == 0 ? range.RetentionPolicy : range.RetentionPolicy + "+raw";
        return new History(range.Name, source, (int)range.Bucket.TotalSeconds, [.. rollup, .. tail]);
    }

    /// <summary>Sparkline width: the last 30 minutes.</summary>
    public static readonly TimeSpan TrendSpan = TimeSpan.FromMinutes(30);

    /// <summary>One sparkline point per 30 s: 60 points, enough for a line a tile wide.</summary>
    public static readonly TimeSpan TrendBucket = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The sparklines' seed when a page opens: every device's signals over the last 30 minutes, one mean per 30 s, in
    /// one query (the stream extends them afterwards), keyed by tile and signal, for the sites <paramref name="canSee"/> allows.
    /// </summary>
    public async Task<Dictionary<string, Dictionary<string, List<double[]>>>> ReadTrendsAsync(Func<string, bool> canSee, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var series = await influx.SeriesAsync(
            $"SELECT mean(*) FROM \"telemetry\" WHERE time > {Ms(now - TrendSpan)}ms GROUP BY time({(long)TrendBucket.TotalSeconds}s), \"site\", \"gateway\", \"device\" fill(none)",
            cancellationToken).ConfigureAwait(false);
        var trends = new Dictionary<string, Dictionary<string, List<double[]>>>(StringComparer.Ordinal);
        foreach (var s in series)
        {
            if (!s.Tags.TryGetValue("site", out var site) || !s.Tags.TryGetValue("gateway", out var gateway) || !s.Tags.TryGetValue("device", out var device) || !canSee(site))
            {
                continue;
            }

            var fields = new Dictionary<string, List<double[]>>(StringComparer.Ordinal);
            for (var c = 1; c < s.Columns.Count; c++)
            {
                // mean(*) names its columns mean_<field>.
                var points = s.Rows.Where(r => r.Length > c && r[c].ValueKind == JsonValueKind.Number).Select(r => new[] { r[0].GetDouble(), r[c].GetDouble() }).ToList();
                if (points.Count > 0)
                {
                    fields[s.Columns[c].StartsWith("mean_", StringComparison.Ordinal) ? s.Columns[c][5..] : s.Columns[c]] = points;
                }
            }

            trends[PlantState.KeyOf(site, gateway, device)] = fields;
        }

        return trends;
    }

    private static List<HistoryPoint> Points(IReadOnlyList<InfluxSeries> series, bool single)
    {
        var points = new List<HistoryPoint>();
        foreach (var v in series.SelectMany(s => s.Rows))
        {
            if (v.Length < 2 || v[1].ValueKind != JsonValueKind.Number)
            {
                continue;
            }

            var mean = v[1].GetDouble();
            double Or(int i) => !single && v.Length > i && v[i].ValueKind == JsonValueKind.Number ? v[i].GetDouble() : mean;
            points.Add(new HistoryPoint((long)v[0].GetDouble(), mean, Or(2), Or(3)));
        }

        return points;
    }

    internal static string Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>An InfluxQL string literal (tag values are contract ids, but nothing goes into a query unquoted).</summary>
    internal static string Literal(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    internal static string Identifier(string name) => "\"" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
