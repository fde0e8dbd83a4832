using IoTPilots.Cloud.Alerts;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using IoTPilots.Cloud.Influx;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IoTPilots.IntegrationTests;

/// <summary>The rules engine on the live stream: telemetry published to the real broker becomes alerts in the store and in InfluxDB.</summary>
[Collection(ServersCollection.Name)]
public sealed class RulesTests(Servers servers) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-rules-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A cloud judging <paramref name="rulesYaml"/> on a new database (ticking missing-data rules every 200 ms).</summary>
    private async Task<(InfluxWriter Influx, IHost Cloud, AlertStore Store, ErrorLog Log)> StartCloudAsync(string database, string rulesYaml)
    {
        var influx = await servers.NewDatabaseAsync(database);
        var rulesFile = Path.Combine(_dir, "rules.yaml");
        await File.WriteAllTextAsync(rulesFile, rulesYaml);
        var log = new ErrorLog();
        var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log, rules: new RulesOptions(rulesFile, Path.Combine(_dir, "alerts.db"), Evaluate: true) { TickInterval = TimeSpan.FromMilliseconds(200) });
        await cloud.StartAsync();
        return (influx, cloud, cloud.Services.GetRequiredService<AlertStore>(), log);
    }

    [Fact]
    public async Task A_dissolved_oxygen_crash_is_raised_and_resolved_and_a_silent_probe_is_reported()
    {
        // This test's own devices only: the broker is shared with other tests.
        var tank = $"rt{Guid.NewGuid():N}"[..12];
        var (influx, cloudHost, store, log) = await StartCloudAsync("rules", $$"""
            rules:
              - { id: do-critical, kind: threshold, pilot: aquaculture, device: "{{tank}}*", field: do_mg_l, below: 3.0, clear: 3.5, severity: critical, source: A5 }
              - { id: do-missing, kind: missing, pilot: aquaculture, device: "{{tank}}*", field: do_mg_l, after: 3s, severity: critical, source: CONTEXT }
            """);
        using var cloud = cloudHost;
        await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        var seq = 0;
        var last = DateTimeOffset.MinValue;
        Task Publish(double? value)
        {
            // A sample per millisecond at most, as on the wire: two readings of one field with the same stamp are
            // one sample sent twice, and the engine judges it once.
            var at = DateTimeOffset.UtcNow;
            last = at > last.AddMilliseconds(1) ? at : last.AddMilliseconds(1);
            return publisher.PublishAsync(
                Topics.Telemetry("ras-1", "gw-rt", tank),
                TelemetryCodec.Encode(new TelemetryMessage(Pilots.Aquaculture, "ras-1", "gw-rt", tank, ++seq,
                    [new Reading("do_mg_l", last, value, "mg/L", value is null ? Quality.CommFailure : Quality.Good)])));
        }

        // The rules engine's subscription may still be settling: publish the low value until it is judged.
        await Eventually.TrueAsync(
            async () =>
            {
                await Publish(2.6);
                return store.List(new AlertQuery(State: "open", Device: tank)).Count > 0;
            },
            TimeSpan.FromSeconds(30),
            "an open alert for the DO crash");
        await Publish(3.2);
        await Publish(3.7);
        var resolved = await Eventually.ValueAsync(
            () => Task.FromResult(store.List(new AlertQuery(State: "resolved", Device: tank)).SingleOrDefault(a => a.RuleId == "do-critical")),
            TimeSpan.FromSeconds(30),
            "the DO alert to resolve once DO is back above 3.5");
        await Publish(null);
        var silent = await Eventually.ValueAsync(
            () => Task.FromResult(store.List(new AlertQuery(State: "open", Device: tank)).SingleOrDefault(a => a.RuleId == "do-missing")),
            TimeSpan.FromSeconds(30),
            "a missing-data alert once only comm-failures arrive");

        Assert.Equal((2.6, 3.7, Severity.Critical), (resolved.RaisedValue, resolved.LastValue, resolved.Severity));
        Assert.Contains("2,6", resolved.Message.Vi, StringComparison.Ordinal);
        Assert.Single(store.List(new AlertQuery(State: "all", Device: tank)), a => a.RuleId == "do-critical");
        Assert.Equal(Severity.Critical, silent.Severity);
        await Eventually.TrueAsync(
            async () => (await influx.RowsAsync($"SELECT count(alert_id) FROM alerts WHERE device = '{tank}' AND event = 'raised'")) is [var row] && (long)row["count"].GetDouble() == 2,
            TimeSpan.FromSeconds(30),
            "both raised events in InfluxDB's alerts measurement");
        Assert.Empty(log.Errors);
        await cloud.StopAsync();
    }

    [Fact]
    public async Task A_composite_alert_names_its_parts_and_derived_signals_are_judged_and_stored_in_a_measurement_of_their_own()
    {
        var tank = $"rc{Guid.NewGuid():N}"[..12];
        var (influx, cloudHost, store, log) = await StartCloudAsync("rulesderived", $$"""
            derived:
              - { name: nh3_n_mg_l, unit: mg/L, device: "{{tank}}*", expr: "tan_mg_l * nh3_fraction(temp_c, ph, salinity_ppt)", source: A12 }
            rules:
              - id: aerator-failure
                kind: composite
                device: "{{tank}}*"
                all:
                  - { field: do_mg_l, below: 5.0 }
                  - { field: aerator_current_a, below: 0.5 }
                severity: critical
                source: U
                message: { en: "aerator stopped: {parts}", vi: "máy sục khí dừng: {parts}" }
              - { id: nh3-high, kind: threshold, device: "{{tank}}*", field: nh3_n_mg_l, above: 0.12, severity: warning, source: A1,
                  message: { en: "NH3-N {value} ({inputs})", vi: "NH3-N {value} ({inputs})" } }
            """);
        using var cloud = cloudHost;
        await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        var seq = 0;
        var last = DateTimeOffset.MinValue;
        Task Publish(params (string Field, double Value)[] values)
        {
            var at = DateTimeOffset.UtcNow;
            last = at > last.AddMilliseconds(1) ? at : last.AddMilliseconds(1);
            return publisher.PublishAsync(
                Topics.Telemetry("ras-1", "gw-rt", tank),
                TelemetryCodec.Encode(new TelemetryMessage(Pilots.Aquaculture, "ras-1", "gw-rt", tank, ++seq,
                    [.. values.Select(v => new Reading(v.Field, last, v.Value, "u", Quality.Good))])));
        }

        await Eventually.TrueAsync(
            async () =>
            {
                await Publish(("do_mg_l", 4.2), ("aerator_current_a", 0), ("tan_mg_l", 2.0), ("temp_c", 28), ("ph", 8.0), ("salinity_ppt", 0));
                return store.List(new AlertQuery(State: "open", Device: tank)).Count == 2;
            },
            TimeSpan.FromSeconds(30),
            "the composite and the NH3-N alerts");

        var open = store.List(new AlertQuery(State: "open", Device: tank));
        var aerator = Assert.Single(open, a => a.RuleId == "aerator-failure");
        Assert.Equal("aerator stopped: do_mg_l < 5 (4.2): held; aerator_current_a < 0.5 (0): held", aerator.Message.En);
        var nh3 = Assert.Single(open, a => a.RuleId == "nh3-high");
        Assert.Equal(2.0 * 0.0654, nh3.RaisedValue!.Value, 3);
        Assert.Contains("tan_mg_l = 2, temp_c = 28, ph = 8, salinity_ppt = 0", nh3.Message.En, StringComparison.Ordinal);
        await Eventually.TrueAsync(
            async () => (await influx.RowsAsync($"SELECT last(nh3_n_mg_l) FROM derived WHERE device = '{tank}'")) is [var row] && Math.Abs(row["last"].GetDouble() - 0.1308) < 0.001,
            TimeSpan.FromSeconds(30),
            "the derived NH3-N stored in InfluxDB's derived measurement");
        Assert.Empty(await influx.RowsAsync($"SELECT count(nh3_n_mg_l) FROM telemetry WHERE device = '{tank}'"));
        Assert.Empty(log.Errors);
        await cloud.StopAsync();
    }
}
