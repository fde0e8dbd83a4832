using System.Security.Cryptography;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Influx;
using IoTPilots.IntegrationTests.Harness;
using Xunit.Abstractions;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Issue 15's full loop, with no human involved, on the platform's own processes as <c>./run demo --scenario
/// aerator-failure</c> runs them: the simulator (firmware-sim, its own process, tank-03 loses its aerator 30 s in),
/// the real edge of gw-aqua-01 (through the simulator's uplink relay, with its command key) and the real cloud (the
/// shipped rules, the registry from the simulator's inventory, the command keys), on the test's Mosquitto and a
/// fresh InfluxDB database. The aerator fails, the aerator-failure rule fires, its action starts the tank's backup
/// aerator (the gateway writes coil 0 and reads it back), DO recovers above 3 mg/L and the alert resolves.
/// The simulator's clock is never compressed (firmware-sim README), so this runs the scenario's real minutes.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class AeratorFailureLoopTests(Servers servers, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Gateway = "gw-aqua-01";
    private const string Tank = "tank-03";

    /// <summary>The scenario's failure (t+30 s), the fall, the rule's slope window and its one-minute clear hold, with room for a busy machine.</summary>
    private static readonly TimeSpan Loop = TimeSpan.FromMinutes(12);

    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-loop-").FullName;
    private readonly List<ChildProcess> _processes = [];
    private InfluxWriter _influx = null!;
    private HttpClient _api = null!;
    private ChildProcess _sim = null!;
    private ChildProcess _edge = null!;
    private ChildProcess _cloud = null!;
    private HttpReceiver _hook = null!;

    public async Task InitializeAsync()
    {
        _influx = await servers.NewDatabaseAsync("loop");
        _hook = await HttpReceiver.StartAsync();
        var inventories = Path.Combine(_dir, "inventories");
        _sim = Track(new ChildProcess(
            "firmware-sim/IoTPilots.FirmwareSim",
            ["--scenario", "aerator-failure", "--seed", "1", "--inventory-dir", inventories, "--mqtt-url", $"mqtt://127.0.0.1:{servers.MqttPort}"],
            []));
        _sim.Start();
        var inventory = Path.Combine(inventories, $"{Gateway}.yaml");
        await Eventually.TrueAsync(
            () => Task.FromResult(_sim.Output.Any(l => l.StartsWith("sim: ready", StringComparison.Ordinal)) && File.Exists(inventory)
                || (!_sim.Running ? throw new InvalidOperationException($"firmware-sim exited:\n{_sim.Log}") : false)),
            TimeSpan.FromSeconds(60),
            $"firmware-sim ready (log: {_sim.Log})");

        // One command key for the gateway, in the cloud's keys file and the edge's environment (as ./run demo gives them).
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var keys = Path.Combine(_dir, "command-keys");
        await File.WriteAllTextAsync(keys, $"{Gateway} {key}\n");
        var port = Servers.FreePort();
        var address = new Uri($"http://127.0.0.1:{port}");
        _cloud = Track(FaultRig.Cloud(servers, _influx, $"loop{Guid.NewGuid():N}"[..12], "1", Path.Combine(_dir, "alerts.db"), port, new()
        {
            ["PILOTS_COMMAND_KEYS"] = keys,
            ["PILOTS_DEVICE_REGISTRY"] = inventory,
            ["PILOTS_WEBHOOK_URL"] = new Uri(_hook.Address, "hook").ToString(),
        }));
        _cloud.Start();
        await Listening.AliveAsync(_cloud, address);
        // The edge starts once the cloud's ingestion subscription exists, as the demo waits for /healthz.
        await Eventually.TrueAsync(() => Task.FromResult(_cloud.Log.Contains("Subscribed to", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), $"the cloud to subscribe (log: {_cloud.Log})");

        // The gateway's uplink runs through the simulator's relay for it (firmware-sim README: {gateway}.env).
        var relay = File.ReadAllLines(Path.ChangeExtension(inventory, ".env")).Single(l => l.StartsWith("PILOTS_MQTT_URL=", StringComparison.Ordinal));
        _edge = Track(new ChildProcess("edge/IoTPilots.Edge", ["--inventory", inventory], new()
        {
            ["PILOTS_MQTT_URL"] = relay["PILOTS_MQTT_URL=".Length..],
            ["PILOTS_COMMAND_KEY"] = key,
            ["PILOTS_EDGE_STATE_DIR"] = Path.Combine(_dir, "queues"),
        }));
        _edge.Start();
        _api = AlertHost.KeyClient(address, Hosts.CreateApiKey(Path.Combine(_dir, "users.db"), Role.Viewer));
    }

    private ChildProcess Track(ChildProcess p)
    {
        _processes.Add(p);
        return p;
    }

    public async Task DisposeAsync()
    {
        _api?.Dispose();
        foreach (var p in Enumerable.Reverse(_processes))
        {
            p.Terminate();
            p.Dispose();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        await _hook.DisposeAsync();
    }

    private string Logs => $"cloud:\n{Tail(_cloud)}\nedge:\n{Tail(_edge)}\nsim:\n{Tail(_sim)}";

    private static string Tail(ChildProcess p) => string.Join('\n', p.Output.TakeLast(40));

    /// <summary>tank-03's aerator-failure alert as GET /api/alerts/{id} shows it (with its actions), once it exists.</summary>
    private async Task<JsonElement?> AlertAsync()
    {
        using var list = JsonDocument.Parse(await _api.GetStringAsync(new Uri("/api/alerts?state=all", UriKind.Relative)));
        var found = list.RootElement.EnumerateArray().FirstOrDefault(a => a.GetProperty("ruleId").GetString() == "aerator-failure" && a.GetProperty("device").GetString() == Tank);
        if (found.ValueKind == JsonValueKind.Undefined)
        {
            return null;
        }

        using var alert = JsonDocument.Parse(await _api.GetStringAsync(new Uri($"/api/alerts/{found.GetProperty("id").GetInt64()}", UriKind.Relative)));
        return alert.RootElement.Clone();
    }

    private async Task<List<(long At, double Value)>> OxygenAsync(long sinceMs) =>
        [.. (await _influx.RowsAsync($"SELECT do_mg_l FROM telemetry WHERE device = '{Tank}' AND time >= {sinceMs}ms"))
            .Where(r => r["do_mg_l"].ValueKind == JsonValueKind.Number)
            .Select(r => (r["time"].GetInt64(), r["do_mg_l"].GetDouble()))];

    [Fact]
    public async Task The_aerator_fails_the_rule_starts_the_backup_by_itself_oxygen_recovers_above_3_and_the_alert_resolves()
    {
        // The rule fires on tank-03 (DO falling while its aerator draws no current) and its action is recorded against it.
        JsonElement alert = default;
        async Task<bool> Alert(Func<JsonElement, bool> holds) => await AlertAsync() is { } a && holds(alert = a);
        await Eventually.TrueAsync(() => Alert(_ => true), Loop, $"the aerator-failure alert on {Tank}\n{Logs}");
        output.WriteLine($"raised: {alert}");

        // The gateway wrote the backup aerator's coil and read it back: done, issued by the rule, no human involved.
        static JsonElement? Done(JsonElement a) => a.TryGetProperty("actions", out var actions)
            ? actions.EnumerateArray().Where(c => c.GetProperty("state").GetString() == "done").Select(c => (JsonElement?)c).FirstOrDefault()
            : null;
        await Eventually.TrueAsync(() => Alert(a => Done(a) is not null), Loop, $"the backup aerator's command answered done\n{Logs}");
        var action = Done(alert)!.Value;
        Assert.Equal(("rule:aerator-failure", Tank, "backup_aerator_on", 1.0, 1.0), (
            action.GetProperty("issuedBy").GetString(), action.GetProperty("device").GetString(), action.GetProperty("point").GetString(),
            action.GetProperty("value").GetDouble(), action.GetProperty("readBack").GetDouble()));
        var actedAt = action.GetProperty("answeredAt").GetDateTimeOffset().ToUnixTimeMilliseconds();

        // With the backup running, DO turns and climbs: above 3 mg/L, and above the lowest it reached after the start.
        await Eventually.TrueAsync(
            async () => await OxygenAsync(actedAt) is { Count: > 2 } o && o[^1].Value > 3.0 && o[^1].Value > o.Min(x => x.Value) + 0.3,
            Loop,
            $"{Tank}'s DO recovering above 3 mg/L after the backup started\n{Logs}");
        var oxygen = await OxygenAsync(actedAt);
        output.WriteLine($"DO after the start: lowest {oxygen.Min(x => x.Value)}, now {oxygen[^1].Value}");
        Assert.True(oxygen[^1].Value > 3.0);

        // The alert resolves by itself, with the one action its rule took.
        await Eventually.TrueAsync(() => Alert(a => a.GetProperty("state").GetString() == "resolved"), Loop, $"the aerator-failure alert resolved\n{Logs}");
        output.WriteLine($"resolved: {alert}");
        Assert.Equal(1, alert.GetProperty("actions").EnumerateArray().Count(c => c.GetProperty("issuedBy").GetString() == "rule:aerator-failure"));

        // Act, then notify: those told of the alert (here the integrator's webhook) heard that the backup started.
        var id = alert.GetProperty("id").GetInt64();
        bool ActedNotice(ReceivedRequest r)
        {
            using var body = JsonDocument.Parse(r.Body);
            return body.RootElement.GetProperty("alert_id").GetInt64() == id && body.RootElement.GetProperty("state").GetString() == "action-done";
        }

        await Eventually.TrueAsync(() => Task.FromResult(_hook.Requests.Any(ActedNotice)), TimeSpan.FromSeconds(60), () => $"the action-done notification of alert {id}\n{Logs}");
        using var notice = JsonDocument.Parse(_hook.Requests.First(ActedNotice).Body);
        Assert.Contains("Bật máy sục khí dự phòng (tank-03): hệ thống đã tự thực hiện, thiết bị xác nhận 1", notice.RootElement.GetProperty("text_vi").GetString(), StringComparison.Ordinal);
    }
}
