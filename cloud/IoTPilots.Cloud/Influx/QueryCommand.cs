using System.Globalization;
using System.Text.Json;

namespace IoTPilots.Cloud.Influx;

/// <summary>
/// <c>IoTPilots.Cloud query "InfluxQL"</c>: runs one query against the configured InfluxDB and prints each
/// series as a small table. Exit code 0 when rows came back, 1 when none did, 2 on error.
/// </summary>
public static class QueryCommand
{
    public static async Task<int> RunAsync(string influxQl, TextWriter output)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            var writer = new InfluxWriter(http, InfluxEndpoint.FromEnvironment(Environment.GetEnvironmentVariable));
            using var doc = await writer.QueryAsync(influxQl, CancellationToken.None).ConfigureAwait(false);
            return Print(doc, output) > 0 ? 0 : 1;
        }
        catch (Exception ex) when (ex is FormatException or HttpRequestException or InfluxUnavailableException or InfluxRejectedException)
        {
            await Console.Error.WriteLineAsync($"query: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    public static int Print(JsonDocument doc, TextWriter output)
    {
        var rows = 0;
        foreach (var result in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (!result.TryGetProperty("series", out var seriesList))
            {
                continue;
            }

            foreach (var series in seriesList.EnumerateArray())
            {
                var tags = series.TryGetProperty("tags", out var t)
                    ? string.Join(" ", t.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}"))
                    : "";
                output.WriteLine($"{series.GetProperty("name").GetString()} {tags}".TrimEnd());
                var columns = series.GetProperty("columns").EnumerateArray().Select(c => c.GetString() ?? "").ToList();
                output.WriteLine("  " + string.Join("\t", columns));
                foreach (var row in series.GetProperty("values").EnumerateArray())
                {
                    output.WriteLine("  " + string.Join("\t", row.EnumerateArray().Select((v, i) => Format(v, columns[i]))));
                    rows++;
                }
            }
        }

        return rows;
    }

    private static string Format(JsonElement v, string column) => v.ValueKind switch
    {
        JsonValueKind.Number when column == "time" && v.TryGetInt64(out var ms) =>
            DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        JsonValueKind.Number => v.GetDouble().ToString("0.###", CultureInfo.InvariantCulture),
        JsonValueKind.Null => "-",
        _ => v.ToString(),
    };
}
