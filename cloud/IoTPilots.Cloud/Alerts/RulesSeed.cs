using System.Globalization;
using System.Text.Json;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Alerts;

/// <summary>One series a missing-data rule expects, and its last good reading stored (null: none within the look-back).</summary>
public sealed record Expectation(SeriesKey Series, string Field, DateTimeOffset? LastGood);

/// <summary>
/// What the missing-data rules expect, for <see cref="RulesEngine.Expect"/>: every field of every device of the registry
/// (the edge inventories, PILOTS_DEVICE_REGISTRY) that a missing-data rule matches, with the time of its last good
/// reading in InfluxDB, so that a device silent across a restart is reported after its rule's <c>after</c> counted from
/// that reading, and one never heard from after <c>after</c> counted from the start. One request to InfluxDB, one
/// <c>last()</c> statement per field; InfluxDB away or slow costs the seeding only (every series is then watched from
/// the start, as if never heard from), never the start of the rules.
/// </summary>
public sealed class RulesSeed(DeviceRegistry registry, InfluxWriter influx, ILogger<RulesSeed> logger)
{
    /// <summary>How far back a last reading is looked for; older than that, the series counts as never heard from.</summary>
    public static readonly TimeSpan Lookback = TimeSpan.FromDays(7);

    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The registry's series that the missing-data rules among <paramref name="rules"/> expect (no I/O).</summary>
    public static IReadOnlyList<(SeriesKey Series, string Field)> Expected(IEnumerable<Rule> rules, DeviceRegistry registry)
    {
        var missing = rules.Where(r => r.Kind == RuleKind.Missing).ToList();
        var expected = new List<(SeriesKey, string)>();
        foreach (var device in registry.Devices)
        {
            var series = new SeriesKey(device.Pilot, device.Site, device.Gateway, device.Device);
            expected.AddRange(device.Fields.Where(f => missing.Any(r => r.Matches(series) && r.MatchesField(f))).Select(f => (series, f)));
        }

        return expected;
    }

    /// <summary>One InfluxQL statement per field, in the order of <paramref name="fields"/>: the last good value of each series.</summary>
    public static string Query(IReadOnlyList<string> fields, TimeSpan lookback) =>
        string.Join(";", fields.Select(f => string.Create(CultureInfo.InvariantCulture,
            $"SELECT last({Retention.Quote(f)}) FROM {Retention.Quote(LineProtocol.TelemetryMeasurement)} WHERE time > now() - {(long)lookback.TotalSeconds}s GROUP BY \"pilot\", \"site\", \"gateway\", \"device\"")));

    /// <summary>The time of each series' last reading of each field, from the response to <see cref="Query"/> (epoch=ms).</summary>
    public static Dictionary<(SeriesKey Series, string Field), DateTimeOffset> Parse(JsonElement response, IReadOnlyList<string> fields)
    {
        var last = new Dictionary<(SeriesKey, string), DateTimeOffset>();
        foreach (var result in response.GetProperty("results").EnumerateArray())
        {
            var statement = result.TryGetProperty("statement_id", out var id) ? id.GetInt32() : 0;
            if (statement >= fields.Count || !result.TryGetProperty("series", out var series))
            {
                continue;
            }

            foreach (var s in series.EnumerateArray())
            {
                var tags = s.GetProperty("tags");
                string Tag(string name) => tags.TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";
                var key = new SeriesKey(Tag("pilot"), Tag("site"), Tag("gateway"), Tag("device"));
                foreach (var row in s.GetProperty("values").EnumerateArray())
                {
                    if (row[0].ValueKind == JsonValueKind.Number)
                    {
                        last[(key, fields[statement])] = DateTimeOffset.FromUnixTimeMilliseconds(row[0].GetInt64());
                    }
                }
            }
        }

        return last;
    }

    /// <summary>The series <paramref name="rules"/> expect, each with its last good time from InfluxDB where it has one.</summary>
    public async Task<IReadOnlyList<Expectation>> ReadAsync(IEnumerable<Rule> rules, CancellationToken cancellationToken)
    {
        var expected = Expected(rules, registry);
        if (expected.Count == 0)
        {
            return [];
        }

        var fields = expected.Select(e => e.Field).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var last = new Dictionary<(SeriesKey, string), DateTimeOffset>();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(QueryTimeout);
            using var doc = await influx.QueryAsync(Query(fields, Lookback), timeout.Token, post: true).ConfigureAwait(false);
            last = Parse(doc.RootElement, fields);
        }
        catch (Exception ex) when (ex is InfluxUnavailableException or InfluxRejectedException or HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogWarning("Could not read the last readings of {Count} expected series from InfluxDB ({Error}): their silence counts from now", expected.Count, ex.Message);
        }

        var seeded = expected.Select(e => new Expectation(e.Series, e.Field, last.TryGetValue(e, out var at) ? at : null)).ToList();
        logger.LogInformation(
            "Missing-data rules expect {Count} series of {Devices} registered device(s): {Heard} last heard of in InfluxDB, {Never} not in the last {Days} days (watched from now)",
            seeded.Count, registry.Devices.Count, seeded.Count(s => s.LastGood is not null), seeded.Count(s => s.LastGood is null), Lookback.TotalDays);
        return seeded;
    }
}
