using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using IoTPilots.Cloud.Influx;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The Grafana dashboards, proven short of running Grafana: their structure as Grafana requires it, and every panel,
/// template variable and annotation query run (variables substituted as Grafana does) against a real InfluxDB fed
/// two hours of the simulators' physics with faults (<see cref="SimulatedHistory"/>), written through the cloud's
/// own line protocol, with the rollups made by the cloud's own statements (<see cref="Retention"/>).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed partial class DashboardTests(Servers servers)
{
    /// <summary>What each panel must show: the tag its series are grouped by, which values of it, and the physical range of its numbers.</summary>
    private sealed record Expect(string Tag, string[] Members, double Min, double Max);

    private static readonly string[] Tanks = ["tank-01", "tank-02", "tank-03", "tank-04"];
    private static readonly string[] Cranes = ["rtg-01", "sts-01", "sts-02"];
    private static readonly string[] Gateways = ["gw-aqua-01", "gw-factory-01", "gw-port-01"];
    private static readonly string[] Aux = ["furnace-1-aux", "furnace-2-aux"];
    private static readonly string[] Meters = ["furnace-1-meter", "furnace-2-meter"];

    // Physical ranges: DO 0 to supersaturation (≈2× the ≈7 mg/L solubility) [docs/domain.md A5]; shrimp water 20-40 °C
    // [A9]; thermocouples 0-1700 °C [F1]; a 3000 kW furnace [F8]; ISO 10816 velocities stay under ~30 mm/s [V1]; wind
    // gusts under 60 m/s; a 41 t RTG and heavier STS spreaders under 80 t [C3].
    private static readonly Dictionary<(string Uid, int Panel), Expect> Expected = new()
    {
        [("pilots-aquaculture", 1)] = new("device", [.. Tanks, "buoy-catba-01", "tank-04-do"], 0, 20),
        [("pilots-aquaculture", 2)] = new("device", [.. Tanks, "buoy-catba-01", "tank-04-do"], 20, 40),
        [("pilots-aquaculture", 3)] = new("device", [.. Tanks, "buoy-catba-01"], 6, 10),
        [("pilots-aquaculture", 4)] = new("device", Tanks, 0, 10),
        [("pilots-aquaculture", 5)] = new("device", [.. Tanks, "buoy-catba-01"], 0, 40),
        [("pilots-aquaculture", 6)] = new("device", Tanks, 0, 50),
        [("pilots-aquaculture", 7)] = new("device", [.. Tanks, "buoy-catba-01", "tank-04-do"], 0, 20),
        [("pilots-aquaculture", 8)] = new("device", ["tank-03"], double.NegativeInfinity, double.PositiveInfinity),
        [("pilots-factory", 1)] = new("device", ["furnace-1-zone-1", "furnace-1-zone-2", "furnace-1-zone-3", "furnace-2-bath"], 0, 1700),
        [("pilots-factory", 2)] = new("device", Aux, 0, 100),
        [("pilots-factory", 3)] = new("device", Aux, 0, 100),
        [("pilots-factory", 4)] = new("device", Meters, 0, 3500),
        [("pilots-factory", 5)] = new("device", Aux, 0, 700),
        [("pilots-factory", 6)] = new("device", ["mill-1"], 0, 5000),
        [("pilots-factory", 7)] = new("device", ["mill-1"], 0, 30),
        [("pilots-factory", 8)] = new("device", Meters, 0, 3500),
        [("pilots-factory", 9)] = new("device", ["furnace-1-aux", "furnace-1-zone-2"], double.NegativeInfinity, double.PositiveInfinity),
        [("pilots-port", 1)] = new("device", Cranes, 0, 60),
        [("pilots-port", 2)] = new("device", Cranes, 0, 30),
        [("pilots-port", 3)] = new("device", Cranes, 0, 80),
        [("pilots-port", 4)] = new("device", Cranes, 0, 150),
        [("pilots-port", 5)] = new("device", Cranes, 0, 2000),
        [("pilots-port", 6)] = new("device", Cranes, 0, 30),
        [("pilots-port", 7)] = new("device", Cranes, double.NegativeInfinity, double.PositiveInfinity),
        [("pilots-port", 8)] = new("device", Cranes, 1, 4),
        [("pilots-delivery", 1)] = new("gateway", Gateways, 0, 0),
        [("pilots-delivery", 2)] = new("gateway", Gateways, 0, 1e6),
        [("pilots-delivery", 3)] = new("device", ["furnace-1-zone-2"], 0, 1e6),
        [("pilots-delivery", 4)] = new("reason", ["InfluxRefused", "MalformedJson"], 0, 1e6),
        [("pilots-delivery", 5)] = new("gateway", ["gw-port-01"], 0, 1e6),
        [("pilots-fleet", 1)] = new("", [], 3, 3),
        [("pilots-fleet", 2)] = new("gateway", Gateways, 0, 1),
        [("pilots-fleet", 3)] = new("gateway", Gateways, 0, 1e6),
        [("pilots-fleet", 4)] = new("gateway", ["gw-port-01"], 0, 7200),
        [("pilots-fleet", 5)] = new("gateway", Gateways, 100, 100),
        [("pilots-fleet", 6)] = new("gateway", Gateways, 0, 1e6),
        [("pilots-fleet", 7)] = new("worker", [SimulatedHistory.Worker], 0, 1e6),
        [("pilots-fleet", 8)] = new("worker", [SimulatedHistory.Worker], 0, 1e6),
        [("pilots-fleet", 9)] = new("worker", [SimulatedHistory.Worker], 0, 1),
        [("pilots-fleet", 10)] = new("reason", ["InfluxRefused", "MalformedJson"], 0, 1e6),
    };

    private static readonly HashSet<string> GrafanaVariables = ["timeFilter", "__timeFilter", "__interval", "__interval_ms", "interval", "__from", "__to"];

    private static Task<(InfluxWriter Influx, SimulatedHistory History)>? _fed;
    private static readonly Lock FedLock = new();

    private static string Repo()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "IoTPilots.sln")))
        {
            dir = dir.Parent;
        }

        return dir.FullName;
    }

    private static List<(string File, JsonElement Root)> Dashboards() =>
        Directory.GetFiles(Path.Combine(Repo(), "dashboards", "json"), "*.json").Order()
            .Select(f => (Path.GetFileName(f), JsonDocument.Parse(File.ReadAllText(f)).RootElement)).ToList();

    public static IEnumerable<object[]> Panels() =>
        Dashboards().SelectMany(d => d.Root.GetProperty("panels").EnumerateArray().Select(p => new object[] { d.File, p.GetProperty("id").GetInt32() }));

    /// <summary>Two hours of every pilot, ending now, written once for all the tests of this class, with the rollups made for it.</summary>
    private Task<(InfluxWriter Influx, SimulatedHistory History)> FedAsync()
    {
        lock (FedLock)
        {
            return _fed ??= Feed();
        }

        async Task<(InfluxWriter, SimulatedHistory)> Feed()
        {
            var influx = await servers.NewDatabaseAsync("dash");
            var history = SimulatedHistory.Generate(DateTimeOffset.UtcNow, TimeSpan.FromHours(2), seed: 7);
            await Retention.ApplyAsync(influx, RetentionOptions.Default, CancellationToken.None);
            await history.WriteAsync(influx);
            foreach (var rollup in Retention.Rollups)
            {
                using var _ = await influx.QueryAsync(Retention.BackfillStatement(influx.Endpoint.Database, rollup, history.Start - TimeSpan.FromHours(1), history.End + TimeSpan.FromHours(1)), CancellationToken.None, post: true);
            }

            return (influx, history);
        }
    }

    /// <summary>
    /// Grafana's substitution for the InfluxDB datasource: <c>$timeFilter</c> for the dashboard's (or the panel's
    /// <c>timeFrom</c>) range, <c>$__interval</c>, and each template variable's values as a regex group
    /// (<c>(a|b)</c>, each value regex-escaped), which is how Grafana formats a multi-value variable inside <c>/^$var$/</c>.
    /// </summary>
    private static string Substitute(string query, IReadOnlyDictionary<string, IReadOnlyCollection<string>> variables, SimulatedHistory history, string? timeFrom = null)
    {
        var timeFilter = timeFrom is null
            ? $"time >= {history.Start.ToUnixTimeMilliseconds()}ms and time <= {history.End.ToUnixTimeMilliseconds()}ms"
            : $"time >= now() - {timeFrom}";
        var q = query.Replace("$timeFilter", timeFilter, StringComparison.Ordinal).Replace("$__interval", "1m", StringComparison.Ordinal);
        foreach (var (name, values) in variables)
        {
            q = q.Replace("$" + name, "(" + string.Join("|", values.Select(v => RegexSpecials().Replace(v, @"\$0"))) + ")", StringComparison.Ordinal);
        }

        return q;
    }

    [GeneratedRegex(@"[-\[\]{}()*+?.\\^$|]")]
    private static partial Regex RegexSpecials();

    [GeneratedRegex(@"\$\{?(\w+)|\[\[(\w+)")]
    private static partial Regex VariableUse();

    /// <summary>Runs the dashboard's variable queries in order, each with the ones before substituted (device depends on site).</summary>
    private static async Task<Dictionary<string, IReadOnlyCollection<string>>> VariablesAsync(InfluxWriter influx, JsonElement dashboard, SimulatedHistory history, Dictionary<string, string[]>? chosen = null)
    {
        var values = new Dictionary<string, IReadOnlyCollection<string>>();
        foreach (var variable in dashboard.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            var name = variable.GetProperty("name").GetString()!;
            var query = Substitute(variable.GetProperty("query").GetString()!, values, history);
            var rows = await influx.RowsAsync(query);
            var all = rows.Select(r => r["value"].GetString()!).Distinct().Order().ToList();
            values[name] = chosen?.GetValueOrDefault(name) ?? (IReadOnlyCollection<string>)all;
        }

        return values;
    }

    [Fact]
    public void Dashboards_have_the_structure_grafana_requires()
    {
        var provisioning = File.ReadAllText(Path.Combine(Repo(), "dashboards", "provisioning", "datasources", "influxdb.yaml"));
        var datasourceUid = Regex.Match(provisioning, @"^\s*uid:\s*(\S+)\s*$", RegexOptions.Multiline).Groups[1].Value;
        Assert.Equal("pilots-influx", datasourceUid);
        var uids = new HashSet<string>();
        foreach (var (file, root) in Dashboards())
        {
            // Grafana 10/11 write schema 39; provisioning migrates anything from 36 on without asking.
            Assert.InRange(root.GetProperty("schemaVersion").GetInt32(), 36, 39);
            Assert.True(uids.Add(root.GetProperty("uid").GetString()!), $"{file}: duplicate dashboard uid");
            Assert.InRange(root.GetProperty("uid").GetString()!.Length, 1, 40);
            var defined = root.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()!).ToHashSet();
            var panelIds = new HashSet<int>();
            var cells = new Dictionary<(int X, int Y), string>();
            var queries = new List<(string Where, string Query)>();
            foreach (var panel in root.GetProperty("panels").EnumerateArray())
            {
                var title = panel.GetProperty("title").GetString()!;
                Assert.True(panelIds.Add(panel.GetProperty("id").GetInt32()), $"{file}: duplicate panel id in '{title}'");
                Assert.Equal(datasourceUid, panel.GetProperty("datasource").GetProperty("uid").GetString());
                var grid = panel.GetProperty("gridPos");
                var (x, y, w, h) = (grid.GetProperty("x").GetInt32(), grid.GetProperty("y").GetInt32(), grid.GetProperty("w").GetInt32(), grid.GetProperty("h").GetInt32());
                Assert.True(x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= 24, $"{file} / {title}: gridPos {x},{y} {w}x{h} is outside Grafana's 24 columns");
                for (var cx = x; cx < x + w; cx++)
                {
                    for (var cy = y; cy < y + h; cy++)
                    {
                        Assert.True(cells.TryAdd((cx, cy), title), $"{file}: '{title}' overlaps '{cells.GetValueOrDefault((cx, cy))}' at {cx},{cy}");
                    }
                }

                if (panel.GetProperty("type").GetString() is "timeseries" or "stat")
                {
                    Assert.True(panel.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("unit").GetString() is { Length: > 0 }, $"{file} / {title}: no unit");
                }

                foreach (var target in panel.GetProperty("targets").EnumerateArray())
                {
                    Assert.True(target.GetProperty("rawQuery").GetBoolean(), $"{file} / {title}: not a raw InfluxQL query");
                    queries.Add((title, target.GetProperty("query").GetString()!));
                }
            }

            queries.AddRange(root.GetProperty("annotations").GetProperty("list").EnumerateArray().Select(a => ("annotation " + a.GetProperty("name").GetString(), a.GetProperty("query").GetString()!)));
            queries.AddRange(root.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => ("variable " + v.GetProperty("name").GetString(), v.GetProperty("query").GetString()!)));
            foreach (var (where, query) in queries)
            {
                foreach (Match use in VariableUse().Matches(query))
                {
                    var name = use.Groups[1].Success ? use.Groups[1].Value : use.Groups[2].Value;
                    Assert.True(defined.Contains(name) || GrafanaVariables.Contains(name), $"{file} / {where}: ${name} is not a defined variable");
                }
            }

            foreach (var annotation in root.GetProperty("annotations").GetProperty("list").EnumerateArray())
            {
                Assert.Equal(datasourceUid, annotation.GetProperty("datasource").GetProperty("uid").GetString());
            }
        }

        Assert.Equal(Dashboards().Count, uids.Count);
        Assert.Equal(Expected.Keys.Select(k => k.Uid).Distinct().Order(), uids.Order());
    }

    [Theory]
    [MemberData(nameof(Panels))]
    public async Task Panel_shows_the_series_it_should_within_physical_range(string file, int panelId)
    {
        var (influx, history) = await FedAsync();
        var root = Dashboards().Single(d => d.File == file).Root;
        var panel = root.GetProperty("panels").EnumerateArray().Single(p => p.GetProperty("id").GetInt32() == panelId);
        var title = panel.GetProperty("title").GetString()!;
        Assert.True(Expected.TryGetValue((root.GetProperty("uid").GetString()!, panelId), out var expect), $"{file} / {title}: no expectation in this test; add one");
        var variables = await VariablesAsync(influx, root, history);
        var timeFrom = panel.TryGetProperty("timeFrom", out var tf) ? tf.GetString() : null;
        foreach (var target in panel.GetProperty("targets").EnumerateArray())
        {
            var query = Substitute(target.GetProperty("query").GetString()!, variables, history, timeFrom);

            var rows = await influx.RowsAsync(query);

            Assert.True(rows.Count > 0, $"{file} / {title}: no data from {query}");
            if (expect.Tag.Length > 0)
            {
                var members = rows.Select(r => r.TryGetValue(expect.Tag, out var v) ? v.GetString() : null).Distinct().Order().ToList();
                Assert.True(expect.Members.Order().SequenceEqual(members), $"{file} / {title}: {expect.Tag} {string.Join(",", members)}, expected {string.Join(",", expect.Members.Order())}");
            }

            var numbers = rows.SelectMany(r => r.Where(c => c.Key != "time" && c.Value.ValueKind == JsonValueKind.Number).Select(c => (c.Key, Value: c.Value.GetDouble()))).ToList();
            Assert.True(numbers.Count > 0 || double.IsInfinity(expect.Min), $"{file} / {title}: only nulls from {query}");
            foreach (var (column, value) in numbers)
            {
                Assert.True(value >= expect.Min && value <= expect.Max, $"{file} / {title}: {column} = {value.ToString(CultureInfo.InvariantCulture)} outside {expect.Min}..{expect.Max}");
            }
        }
    }

    [Fact]
    public async Task Variables_are_chained_device_follows_site()
    {
        var (influx, history) = await FedAsync();
        foreach (var (file, root) in Dashboards().Where(d => d.Root.GetProperty("templating").GetProperty("list").GetArrayLength() == 2))
        {
            var pilot = root.GetProperty("tags")[0].GetString()!;
            var all = await VariablesAsync(influx, root, history);
            Assert.Equal(history.Devices[pilot].Keys.Order(), all["site"]);
            Assert.Equal(history.Devices[pilot].Values.SelectMany(d => d).Distinct().Order(), all["device"]);
            foreach (var (site, devices) in history.Devices[pilot])
            {
                var one = await VariablesAsync(influx, root, history, new() { ["site"] = [site] });
                Assert.True(devices.SequenceEqual(one["device"]), $"{file}: site {site} lists devices {string.Join(",", one["device"])}");
            }
        }
    }

    [Fact]
    public async Task Alert_annotations_mark_the_faults_and_thresholds_are_crossed_where_the_panels_say()
    {
        var (influx, history) = await FedAsync();
        var dashboards = Dashboards().ToDictionary(d => d.Root.GetProperty("uid").GetString()!, d => d.Root);
        foreach (var (uid, root) in dashboards.Where(d => d.Value.GetProperty("annotations").GetProperty("list").GetArrayLength() > 0))
        {
            var variables = await VariablesAsync(influx, root, history);
            foreach (var annotation in root.GetProperty("annotations").GetProperty("list").EnumerateArray())
            {
                var rows = await influx.RowsAsync(Substitute(annotation.GetProperty("query").GetString()!, variables, history));
                foreach (var column in annotation.GetProperty("tagsColumn").GetString()!.Split(',').Append(annotation.GetProperty("textColumn").GetString()!))
                {
                    Assert.All(rows, r => Assert.True(r.ContainsKey(column), $"{uid}: annotation column {column} missing"));
                }

                if (annotation.GetProperty("name").GetString() == "Alerts raised" && uid is "pilots-aquaculture" or "pilots-port")
                {
                    Assert.NotEmpty(rows);
                }
            }
        }

        Assert.Contains(("do-critical", "tank-03"), history.Raised);
        Assert.Contains(("crane-vibration-high", "sts-01"), history.Raised);
        // The panels' own red steps are crossed by the faulted device and by no healthy one.
        await AssertCrossesAsync(influx, history, dashboards["pilots-aquaculture"], 1, below: true, "tank-03");
        await AssertCrossesAsync(influx, history, dashboards["pilots-port"], 2, below: false, "sts-01");
    }

    private static async Task AssertCrossesAsync(InfluxWriter influx, SimulatedHistory history, JsonElement root, int panelId, bool below, string device)
    {
        var panel = root.GetProperty("panels").EnumerateArray().Single(p => p.GetProperty("id").GetInt32() == panelId);
        var steps = panel.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("thresholds").GetProperty("steps").EnumerateArray().ToList();
        var red = below ? steps[1].GetProperty("value").GetDouble() : steps[^1].GetProperty("value").GetDouble();
        var rows = await influx.RowsAsync(Substitute(panel.GetProperty("targets")[0].GetProperty("query").GetString()!, await VariablesAsync(influx, root, history), history));
        var crossing = rows.Where(r => r.Values.Any(v => v.ValueKind == JsonValueKind.Number) && r.Where(c => c.Key != "time" && c.Value.ValueKind == JsonValueKind.Number)
            .Any(c => below ? c.Value.GetDouble() < red : c.Value.GetDouble() > red)).Select(r => r["device"].GetString()).Distinct().ToList();
        Assert.Equal([device], crossing);
    }
}
