using System.Text.Json;
using IoTPilots.Cloud.Influx;

namespace IoTPilots.IntegrationTests.Harness;

public static class InfluxExtensions
{
    /// <summary>Runs a query and returns its rows as column → value maps (tags included; times in ms).</summary>
    public static async Task<List<Dictionary<string, JsonElement>>> RowsAsync(this InfluxWriter influx, string query)
    {
        using var doc = await influx.QueryAsync(query, CancellationToken.None);
        var rows = new List<Dictionary<string, JsonElement>>();
        foreach (var result in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (!result.TryGetProperty("series", out var seriesList))
            {
                continue;
            }

            foreach (var series in seriesList.EnumerateArray())
            {
                var columns = series.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToList();
                var tags = series.TryGetProperty("tags", out var t) ? t.EnumerateObject().ToList() : [];
                foreach (var values in series.GetProperty("values").EnumerateArray())
                {
                    var row = columns.Zip(values.EnumerateArray(), (c, v) => (c, v: v.Clone())).ToDictionary(x => x.c, x => x.v);
                    foreach (var tag in tags)
                    {
                        row[tag.Name] = tag.Value.Clone();
                    }

                    rows.Add(row);
                }
            }
        }

        return rows;
    }
}
