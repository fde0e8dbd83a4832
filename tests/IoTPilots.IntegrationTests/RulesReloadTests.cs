using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// A running cloud's rules: edited, they apply without a restart; broken, they are refused and the old ones stay; and
/// devices of the registry that are silent across a restart, or never heard from, are reported (rules README).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class RulesReloadTests(Servers servers) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-reload-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Saves as editors do: the whole new text under another name, then renamed over the old file.</summary>
    private static void Save(string path, string text)
    {
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static string Rules(string tank, double limit) => $$"""
        rules:
          - { id: do-low, kind: threshold, pilot: aquaculture, device: "{{tank}}", field: do_mg_l, below: {{limit}}, severity: critical, source: A5 }
          - { id: temp-high, kind: threshold, pilot: aquaculture, device: "{{tank}}", field: temp_c, above: 30, severity: warning, source: U }
        """;

    [Fact]
    public async Task An_edited_limit_applies_without_a_restart_and_a_broken_file_is_refused_with_the_old_rules_in_force()
    {
        var tank = $"rl{Guid.NewGuid():N}"[..12];
        var influx = await servers.NewDatabaseAsync("reload");
        var rulesFile = Path.Combine(_dir, "rules.yaml");
        await File.WriteAllTextAsync(rulesFile, Rules(tank, 3.0));
        var log = new ErrorLog();
        using var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log, rules: new RulesOptions(rulesFile, Path.Combine(_dir, "alerts.db"), Evaluate: true)
        {
            TickInterval = TimeSpan.FromMilliseconds(200),
            ReloadPoll = TimeSpan.FromMilliseconds(300),
        });
        await cloud.StartAsync();
        var store = cloud.Services.GetRequiredService<AlertStore>();
        await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        var seq = 0;
        var last = DateTimeOffset.MinValue;
        Task Publish(string field, double value)
        {
            var at = DateTimeOffset.UtcNow;
            last = at > last.AddMilliseconds(1) ? at : last.AddMilliseconds(1);
            return publisher.PublishAsync(
                Topics.Telemetry("ras-1", "gw-rl", tank),
                TelemetryCodec.Encode(new TelemetryMessage(Pilots.Aquaculture, "ras-1", "gw-rl", tank, ++seq, [new Reading(field, last, value, "u", Quality.Good)])));
        }

        Alert? Open(string rule) => store.List(new AlertQuery(State: "open", Device: tank)).SingleOrDefault(a => a.RuleId == rule);
        Task<Alert> OpenAsync(string rule, string field, double value, string what) => Eventually.ValueAsync(
            async () =>
            {
                await Publish(field, value);
                return Open(rule);
            },
            TimeSpan.FromSeconds(30),
            what);

        // An alert of a rule the edits leave alone, open throughout: it must stay open, not be raised again.
        var temp = await OpenAsync("temp-high", "temp_c", 35, "the temperature alert (the engine judging)");
        await Publish("do_mg_l", 4.5);

        Save(rulesFile, Rules(tank, 5.0));
        var low = await OpenAsync("do-low", "do_mg_l", 4.5, "an alert at 4.5 mg/L once the limit is 5 instead of 3");

        Save(rulesFile, Rules(tank, 5.0).Replace("below: 5", "below: five", StringComparison.Ordinal));
        var refusal = await Eventually.ValueAsync(
            () => Task.FromResult(log.Errors.FirstOrDefault(e => e.Contains("Rules reload refused", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(30),
            "the broken rules file refused");
        // The limit of 5 is still in force: 5.5 resolves the alert, 4.6 raises a new one.
        await Eventually.TrueAsync(
            async () =>
            {
                await Publish("do_mg_l", 5.5);
                return Open("do-low") is null;
            },
            TimeSpan.FromSeconds(30),
            "the DO alert resolved at 5.5 under the rules still in force");
        var again = await OpenAsync("do-low", "do_mg_l", 4.6, "a new alert at 4.6 mg/L: the limit of 5 still in force after the refusal");

        Assert.Contains($"{rulesFile}:2:", refusal, StringComparison.Ordinal);
        Assert.Contains("rules[0].below", refusal, StringComparison.Ordinal);
        Assert.All(log.Errors, e => Assert.Contains("Rules reload refused", e, StringComparison.Ordinal));
        Assert.Equal(4.5, low.RaisedValue);
        Assert.Equal(4.6, again.RaisedValue);
        Assert.Equal(temp.Id, Open("temp-high")?.Id);
        Assert.Single(store.List(new AlertQuery(State: "all", Device: tank)), a => a.RuleId == "temp-high");
        await cloud.StopAsync();
    }

    [Fact]
    public async Task Devices_of_the_registry_silent_across_a_restart_or_never_heard_from_are_reported_after_their_after()
    {
        var gateway = $"gm{Guid.NewGuid():N}"[..12];
        var registryDir = Directory.CreateDirectory(Path.Combine(_dir, "inventories")).FullName;
        await File.WriteAllTextAsync(Path.Combine(registryDir, $"{gateway}.yaml"), $$"""
            gateway: {{gateway}}
            site: ras-9
            pilot: aquaculture
            devices:
              - { id: tank-a, bus: modbus-tcp, address: '127.0.0.1:1502', profile: renke-rs-ldo }
              - { id: tank-b, bus: modbus-tcp, address: '127.0.0.1:1502', unit: 2, profile: renke-rs-ldo }
            """);
        var registry = DeviceRegistry.Load(registryDir);
        var influx = await servers.NewDatabaseAsync("missingseed");
        var log = new ErrorLog();
        var rulesFile = Path.Combine(_dir, "rules.yaml");
        RulesOptions Options() => new(rulesFile, Path.Combine(_dir, "alerts.db"), Evaluate: true) { TickInterval = TimeSpan.FromMilliseconds(200) };

        // Before the restart: no missing-data rule yet; tank-a reports once, and its reading is stored. tank-b never reports.
        await File.WriteAllTextAsync(rulesFile, "rules:\n  - { id: do-low, kind: threshold, field: do_mg_l, below: 3, severity: critical, source: A5 }\n");
        var stamped = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        using (var before = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log, registry: registry, rules: Options()))
        {
            await before.StartAsync();
            await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
            var reading = new TelemetryMessage(Pilots.Aquaculture, "ras-9", gateway, "tank-a", 1, [new Reading("do_mg_l", stamped, 6.5, "mg/L", Quality.Good)]);
            await Eventually.TrueAsync(
                async () =>
                {
                    await publisher.PublishAsync(reading.Topic, TelemetryCodec.Encode(reading));
                    return (await influx.RowsAsync($"SELECT count(do_mg_l) FROM telemetry WHERE device = 'tank-a' AND gateway = '{gateway}'")).Count == 1;
                },
                TimeSpan.FromSeconds(30),
                "tank-a's reading stored");
            await before.StopAsync();
        }

        await File.WriteAllTextAsync(rulesFile, "rules:\n  - { id: do-missing, kind: missing, pilot: aquaculture, field: do_mg_l, after: 3s, severity: critical, source: CONTEXT }\n");
        var started = DateTimeOffset.UtcNow;
        using var after = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log, registry: registry, rules: Options());
        await after.StartAsync();
        var store = after.Services.GetRequiredService<AlertStore>();
        Alert? Open(string device) => store.List(new AlertQuery(State: "open", Device: device)).SingleOrDefault(a => a.RuleId == "do-missing" && a.Series.Gateway == gateway);
        var silent = await Eventually.ValueAsync(() => Task.FromResult(Open("tank-a")), TimeSpan.FromSeconds(30), "tank-a reported silent across the restart");
        var never = await Eventually.ValueAsync(() => Task.FromResult(Open("tank-b")), TimeSpan.FromSeconds(30), "tank-b reported, never heard from");

        // tank-b's first reading resolves its alert.
        await using var late = await TestPublisher.ConnectAsync(servers.Mqtt);
        await Eventually.TrueAsync(
            async () =>
            {
                var first = new TelemetryMessage(Pilots.Aquaculture, "ras-9", gateway, "tank-b", 2, [new Reading("do_mg_l", DateTimeOffset.UtcNow, 6.1, "mg/L", Quality.Good)]);
                await late.PublishAsync(first.Topic, TelemetryCodec.Encode(first));
                return Open("tank-b") is null;
            },
            TimeSpan.FromSeconds(30),
            "tank-b's missing-data alert resolved by its first reading");

        Assert.Equal(stamped, silent.Since);
        Assert.InRange(never.Since, started.AddSeconds(-1), started.AddSeconds(30));
        Assert.Equal(new SeriesKey(Pilots.Aquaculture, "ras-9", gateway, "tank-b"), never.Series);
        Assert.Equal(2, registry.Devices.Count);
        Assert.Empty(log.Errors);
        await after.StopAsync();
    }

    [Fact]
    public async Task Silence_is_judged_on_each_gateway_s_clock_so_a_skewed_one_neither_raises_a_false_alert_nor_hides_a_silence()
    {
        var id = $"{Guid.NewGuid():N}"[..8];
        var influx = await servers.NewDatabaseAsync("skew");
        var rulesFile = Path.Combine(_dir, "rules.yaml");
        await File.WriteAllTextAsync(rulesFile, $$"""
            rules:
              - { id: do-low, kind: threshold, device: "sk{{id}}*", field: do_mg_l, below: 3, severity: critical, source: A5 }
              - { id: do-missing, kind: missing, device: "sk{{id}}*", field: do_mg_l, after: 3s, severity: critical, source: CONTEXT }
            """);
        var log = new ErrorLog();
        using var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log, rules: new RulesOptions(rulesFile, Path.Combine(_dir, "alerts.db"), Evaluate: true) { TickInterval = TimeSpan.FromMilliseconds(200) });
        await cloud.StartAsync();
        var store = cloud.Services.GetRequiredService<AlertStore>();
        await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        var seq = 0;
        var aheadStamp = DateTimeOffset.MinValue;
        Task Publish(string gateway, string device, TimeSpan skew, double value)
        {
            // Stamped on a gateway clock off by the skew, as a Pi without NTP would.
            var at = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) + skew;
            aheadStamp = skew > TimeSpan.Zero ? at : aheadStamp;
            var message = new TelemetryMessage(Pilots.Aquaculture, "ras-1", gateway, device, ++seq, [new Reading("do_mg_l", at, value, "mg/L", Quality.Good)]);
            return publisher.PublishAsync(message.Topic, TelemetryCodec.Encode(message));
        }

        Task Behind() => Publish($"gb{id}", $"sk{id}-b", TimeSpan.FromMinutes(-10), 6.5);
        Alert? Open(string rule, string device) => store.List(new AlertQuery(State: "open", Device: device)).SingleOrDefault(a => a.RuleId == rule);

        // The gateway 10 min ahead reports a low DO until the engine judges it; the one 10 min behind reports throughout.
        await Eventually.TrueAsync(
            async () =>
            {
                await Behind();
                await Publish($"ga{id}", $"sk{id}-a", TimeSpan.FromMinutes(10), 2.0);
                return Open("do-low", $"sk{id}-a") is not null;
            },
            TimeSpan.FromSeconds(30),
            "the engine judging the gateway 10 min ahead");
        // Then it falls silent: reported after 3 s of its own clock, not after 10 min and 3 s of the cloud's.
        var silent = await Eventually.ValueAsync(
            async () =>
            {
                await Behind();
                return Open("do-missing", $"sk{id}-a");
            },
            TimeSpan.FromSeconds(20),
            "the silence of the gateway 10 min ahead reported within seconds");

        Assert.Equal(aheadStamp, silent.Since);
        // The gateway 10 min behind reported all along: its stamps, 10 min old by the cloud's clock, are not silence.
        Assert.Null(Open("do-missing", $"sk{id}-b"));
        Assert.Empty(log.Errors);
        await cloud.StopAsync();
    }
}
