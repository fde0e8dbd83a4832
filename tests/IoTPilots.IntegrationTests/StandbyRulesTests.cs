using System.Diagnostics;
using System.Text.RegularExpressions;
using IoTPilots.Cloud.Influx;
using IoTPilots.Edge.Modbus;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The standby rules engine (issue 14 part 8): two real cloud processes share one alert store, one judging the rules
/// and one standing by through the rules lease (cloud/IoTPilots.Cloud/Alerts/RulesLease.cs); a simulated RAS tank, polled
/// by the real edge, loses its aerator; the active cloud is killed with SIGKILL during the failure.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed partial class StandbyRulesTests(Servers servers, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-standby-").FullName;
    private readonly string _site = $"sb{Guid.NewGuid():N}"[..12];
    private readonly List<ChildProcess> _processes = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private ModbusTcpServer _plc = null!;
    private SimulatedModbusDevice _tank = null!;
    private InfluxWriter _influx = null!;
    private Task _driving = Task.CompletedTask;

    // Dissolved oxygen: _from, falling 1 mg/L per minute since _fallingSince (twice tank-03's 100 kg/m³ demand,
    // docs/domain.md A17, to keep the test short), or steady while null.
    private double _from = 6.5;
    private Stopwatch? _fallingSince;

    private string AlertDb => Path.Combine(_dir, "alerts.db");

    public async Task InitializeAsync()
    {
        _plc = FaultRig.StartTank(out _tank);
        _tank.Set("aerator_current_a", 4.6);
        _influx = await servers.NewDatabaseAsync("standby");
        _driving = DriveAsync(_stop.Token);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _driving;
        foreach (var p in _processes)
        {
            p.Dispose();
        }

        await _plc.DisposeAsync();
        _stop.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Sets the tank's DO every 200 ms from the current fall, as the simulator's own loop steps its physics.</summary>
    private async Task DriveAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                lock (_gate)
                {
                    var fallen = _fallingSince is { } since ? since.Elapsed.TotalMinutes : 0;
                    _tank.Set("do_mg_l", Math.Max(0.5, _from - fallen));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>From now on DO falls from <paramref name="from"/>.</summary>
    private void FallFrom(double from)
    {
        lock (_gate)
        {
            (_from, _fallingSince) = (from, Stopwatch.StartNew());
        }
    }

    private ChildProcess Start(ChildProcess p)
    {
        _processes.Add(p);
        p.Start();
        return p;
    }

    private async Task<string> WriteRulesAsync()
    {
        // rules/default.yaml's aerator-failure and a DO threshold at test speed, on this test's site only (the broker is
        // shared with other tests). do-falling-low needs the same relearned slope as aerator-failure, on DO the test
        // takes below 4 only after the kill: when the standby raises it, it has judged long enough to have raised
        // aerator-failure again, had the alert the dead leader opened not been restored.
        var file = Path.Combine(_dir, "rules.yaml");
        await File.WriteAllTextAsync(file, $$"""
            rules:
              - id: aerator-failure
                kind: composite
                site: "{{_site}}"
                all:
                  - { field: do_mg_l, below: -0.1, window: 30s, hold: 5s }
                  - { field: aerator_current_a, below: 0.5, clear: 1.0, hold: 5s }
                clear_hold: 10s
                severity: critical
                source: "rules/default.yaml aerator-failure, at test speed"
              - { id: do-low, kind: threshold, site: "{{_site}}", field: do_mg_l, below: 4.0, clear: 4.5, hold: 3s, severity: critical, source: "test" }
              - id: do-falling-low
                kind: composite
                site: "{{_site}}"
                all:
                  - { field: do_mg_l, below: -0.1, window: 30s, hold: 5s }
                  - { field: do_mg_l, below: 4.0, hold: 5s }
                severity: critical
                source: "test"
            """);
        return file;
    }

    private ChildProcess Cloud(string worker, string rules) => FaultRig.Cloud(servers, _influx, $"g{_site}", worker, AlertDb, Servers.FreePort(), new()
    {
        ["PILOTS_RULES"] = rules,
        ["PILOTS_RULES_ENABLED"] = "1",
    });

    private static Task Logged(ChildProcess p, string text, string what) =>
        Eventually.TrueAsync(() => Task.FromResult(p.Log.Contains(text, StringComparison.Ordinal)), TimeSpan.FromSeconds(60), $"{what} (log:\n{p.Log})");

    /// <summary>Every alert in the shared store, read as a third process would, without changing anything.</summary>
    private async Task<List<(long Id, string Rule, bool Resolved)>> StoredAsync()
    {
        await using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = AlertDb, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT id, rule_id, resolved_at_ms IS NOT NULL FROM alerts ORDER BY id";
        await using var r = await cmd.ExecuteReaderAsync();
        var alerts = new List<(long, string, bool)>();
        while (await r.ReadAsync())
        {
            alerts.Add((r.GetInt64(0), r.GetString(1), r.GetBoolean(2)));
        }

        return alerts;
    }

    /// <summary>How many <c>raised</c> events of <paramref name="rule"/> the cloud processes wrote to InfluxDB's alerts measurement.</summary>
    private async Task<long> RaisedInInfluxAsync(string rule) =>
        (await _influx.RowsAsync($"SELECT count(alert_id) FROM alerts WHERE \"rule\" = '{rule}' AND event = 'raised' AND site = '{_site}'")) is [var row]
            ? row["count"].GetInt64()
            : 0;

    [GeneratedRegex(@"Alert \d+ (Raised|Resolved)")]
    private static partial Regex AlertLine();

    [Fact]
    public async Task The_standby_takes_over_when_the_active_engine_is_killed_during_an_aerator_failure_and_raises_each_alert_once()
    {
        var rules = await WriteRulesAsync();
        var active = Start(Cloud("1", rules));
        await Logged(active, "Rules engine subscribed", "the first cloud to take the rules lease and subscribe");
        Assert.Contains("Took the rules lease", active.Log, StringComparison.Ordinal);
        var standby = Start(Cloud("2", rules));
        await Logged(standby, "Standing by", "the second cloud to stand by");
        // Both ingest (the shared subscription); the edge starts once both are subscribed, so no first message is kept for nobody.
        await Logged(standby, "Subscribed to", "the standby's ingestion to subscribe");

        var inventory = await FaultRig.WriteInventoryAsync(_dir, $"gw-{_site}", _site, _plc, "500ms", Path.Combine(_dir, "queue"));
        var edge = Start(new ChildProcess("edge/IoTPilots.Edge", ["--inventory", inventory], new() { ["PILOTS_MQTT_URL"] = $"mqtt://{servers.Mqtt.Host}:{servers.Mqtt.Port}" }));
        await Eventually.TrueAsync(
            async () => (await _influx.RowsAsync($"SELECT count(do_mg_l) FROM telemetry WHERE site = '{_site}'")) is [var row] && row["count"].GetInt64() >= 5,
            TimeSpan.FromSeconds(60),
            $"the tank's readings in InfluxDB (edge log:\n{edge.Log})");

        // The aerator stops: its current drops to nothing and dissolved oxygen starts to fall.
        _tank.Set("aerator_current_a", 0);
        FallFrom(6.5);
        var opened = 0L;
        await Eventually.TrueAsync(
            async () => (opened = (await StoredAsync()).FirstOrDefault(a => a.Rule == "aerator-failure").Id) > 0,
            TimeSpan.FromSeconds(120),
            $"the active cloud to raise aerator-failure (log:\n{active.Log})");
        await Eventually.TrueAsync(async () => await RaisedInInfluxAsync("aerator-failure") == 1, TimeSpan.FromSeconds(30), "the raise in InfluxDB's alerts");
        Assert.DoesNotMatch(AlertLine(), standby.Log);
        Assert.DoesNotContain("Took the rules lease", standby.Log, StringComparison.Ordinal);

        active.Kill();
        var killed = Stopwatch.StartNew();
        // DO now goes under do-low's 4 mg/L, and keeps falling: a crossing under way before the standby has taken over.
        FallFrom(3.9);

        await Logged(standby, "Took the rules lease", "the standby to take the rules lease");
        output.WriteLine($"takeover: the standby took the lease {killed.Elapsed.TotalSeconds:0.0} s after the kill (TTL 15 s, requests every 5 s)");
        await Eventually.TrueAsync(
            async () => (await StoredAsync()).Any(a => a.Rule == "do-falling-low") && await RaisedInInfluxAsync("do-falling-low") == 1,
            TimeSpan.FromSeconds(120),
            $"the new leader to raise do-falling-low (log:\n{standby.Log})");

        var stored = await StoredAsync();
        var aerator = Assert.Single(stored, a => a.Rule == "aerator-failure");
        Assert.Equal(opened, aerator.Id);
        Assert.False(aerator.Resolved, "the failure goes on: the restored alert must stay open");
        Assert.Single(stored, a => a.Rule == "do-low");
        Assert.Equal(1, await RaisedInInfluxAsync("aerator-failure"));
        Assert.Equal(1, await RaisedInInfluxAsync("do-low"));
        Assert.DoesNotContain(standby.Log.Split('\n'), l => AlertLine().IsMatch(l) && l.Contains("aerator-failure", StringComparison.Ordinal));
        Assert.Contains(standby.Log.Split('\n'), l => AlertLine().IsMatch(l) && l.Contains("rule do-low", StringComparison.Ordinal));
    }
}
