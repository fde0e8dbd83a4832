using System.Text;
using System.Text.Json;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Cloud.Live;
using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Live;

/// <summary>The live view's pure parts: colours from the shipped rules, tile state, the fan-out's bounds, the history's sources.</summary>
public sealed class LiveViewTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly IReadOnlyList<Rule> Shipped = RuleSet.Load(RuleSet.DefaultFile);
    private static readonly Zones ShippedZones = new(Shipped);

    private static TelemetryMessage Message(string pilot, string device, DateTimeOffset at, params (string Field, double? Value)[] readings) =>
        new(pilot, "site-1", "gw-1", device, 1, [.. readings.Select(r => new Reading(r.Field, at, r.Value, "u", r.Value is null ? Quality.CommFailure : Quality.Good))]);

    private static Level Judge(TelemetryMessage m, string field) =>
        ShippedZones.Judge(m, new SeriesKey(m.Pilot, m.Site, m.Gateway, m.Device), m.Readings.Single(r => r.Field == field));

    [Theory]
    // rules/default.yaml: do-critical below 3.0, do-low below 5.0 [docs/domain.md A5].
    [InlineData(6.5, Level.Ok)]
    [InlineData(4.9, Level.Warning)]
    [InlineData(2.9, Level.Critical)]
    [InlineData(3.0, Level.Warning)]
    public void Dissolved_oxygen_is_coloured_by_the_shipped_thresholds(double doMgL, Level expected) =>
        Assert.Equal(expected, Judge(Message("aquaculture", "tank-03", T0, ("do_mg_l", doMgL)), "do_mg_l"));

    [Theory]
    // ISO 10816-3 zones as the shipped crane rules have them: B/C 4.5 (warning), C/D 7.1 (critical), judged only while hoisting (> 5 m/min).
    [InlineData(2.0, 20.0, Level.Ok)]
    [InlineData(5.0, 20.0, Level.Warning)]
    [InlineData(7.5, 20.0, Level.Critical)]
    [InlineData(7.5, 0.0, Level.Ok)]
    public void Crane_vibration_takes_its_iso_10816_zone_only_under_load_as_the_rules_say(double vib, double hoistSpeed, Level expected) =>
        Assert.Equal(expected, Judge(Message("port", "sts-01", T0, ("vib_mm_s", vib), ("hoist_speed_m_min", hoistSpeed)), "vib_mm_s"));

    [Theory]
    // rules/default.yaml iso_zone: zone(vib_mm_s, 2.3, 4.5, 7.1), 1 = A … 4 = D [docs/domain.md V1].
    [InlineData(1.0, 1)]
    [InlineData(3.0, 2)]
    [InlineData(5.0, 3)]
    [InlineData(7.1, 4)]
    public void A_crane_message_gains_its_iso_zone_as_the_rules_engine_derives_it(double vib, double zone)
    {
        var derived = new Zones(Shipped).WithDerived(Message("port", "sts-01", T0, ("vib_mm_s", vib), ("hoist_speed_m_min", 20.0)));

        Assert.Equal(zone, derived.Readings.Single(r => r.Field == "iso_zone").Value);
        Assert.DoesNotContain(new Zones(Shipped).WithDerived(Message("aquaculture", "tank-03", T0, ("do_mg_l", 6.0))).Readings, r => r.Field == "iso_zone");
    }

    [Fact]
    public void A_reading_without_a_good_value_is_not_judged_and_a_rule_of_another_pilot_does_not_apply()
    {
        Assert.Equal(Level.Unknown, Judge(Message("aquaculture", "tank-03", T0, ("do_mg_l", null)), "do_mg_l"));
        // do-critical is an aquaculture rule: a factory signal of the same name is not judged by it.
        Assert.Equal(Level.Ok, Judge(Message("factory", "furnace-1-aux", T0, ("do_mg_l", 1.0)), "do_mg_l"));
    }

    [Fact]
    public void Whenever_the_rules_engine_raises_a_threshold_alert_the_view_shows_that_colour_at_that_reading()
    {
        var engine = new RulesEngine(Shipped);
        var raised = 0;
        // An aerator failure's fall, 7 to 2 mg/L, one reading every 10 s (firmware-sim Scenarios: aerator-failure).
        for (var i = 0; i <= 90; i++)
        {
            var m = Message("aquaculture", "tank-03", T0.AddSeconds(10 * i), ("do_mg_l", 7.0 - (i * 5.0 / 90)));
            foreach (var e in engine.Observe(m).Where(e => e.Transition == AlertTransition.Raised && Shipped.Single(r => r.Id == e.RuleId).Kind == RuleKind.Threshold))
            {
                Assert.True(Judge(m, "do_mg_l") >= Zones.Of(e.Severity), $"{e.RuleId} raised at {m.Readings[0].Value} while the view shows {Judge(m, "do_mg_l")}");
                raised++;
            }
        }

        Assert.Equal(2, raised);
    }

    [Fact]
    public void A_device_with_an_open_alert_is_at_least_the_alerts_colour_even_when_its_values_are_fine()
    {
        var state = new PlantState(ShippedZones, DeviceRegistry.Open);
        state.Observe(Message("aquaculture", "tank-03", T0, ("do_mg_l", 6.5), ("temp_c", 28.0)));
        Assert.Equal(Level.Ok, state.Find("site-1", "gw-1", "tank-03")!.Level);

        state.SetAlerts([Alert(1, "do-falling", Severity.Critical, "do_mg_l")]);

        var tile = state.Find("site-1", "gw-1", "tank-03")!;
        Assert.Equal(Level.Critical, tile.Level);
        Assert.Equal(Level.Critical, tile.Fields.Single(f => f.Field == "do_mg_l").Level);
        Assert.Equal(Level.Ok, tile.Fields.Single(f => f.Field == "temp_c").Level);
        Assert.Equal("do-falling", Assert.Single(tile.Alerts).Rule);

        state.SetAlerts([]);
        Assert.Equal(Level.Ok, state.Find("site-1", "gw-1", "tank-03")!.Level);
    }

    [Fact]
    public void A_tile_shows_its_newest_automatic_action_and_is_marked_again_when_the_gateway_answers()
    {
        var state = new PlantState(ShippedZones, DeviceRegistry.Open);
        state.Observe(Message("aquaculture", "tank-03", T0, ("do_mg_l", 4.5)));
        state.TakeChanged();
        IoTPilots.Cloud.Commands.CommandRecord Command(string id, string by, int seconds, string state, double? readBack = null) =>
            new(id, "site-1", "gw-1", "tank-03", "backup_aerator_on", by.StartsWith("rule:", StringComparison.Ordinal) ? 1 : 0, by, T0.AddSeconds(seconds), T0.AddMinutes(2), state, null, null, readBack, readBack is null ? null : T0.AddSeconds(seconds + 2), 1);

        // Newest first, as the commands record lists them: a person's stop after the rule's start is not an automatic action.
        state.SetActions([Command("c-2", "nguyen.van.a", 20, "sent"), Command("c-1", "rule:aerator-failure", 10, "sent")]);

        var tile = Assert.Single(state.TakeChanged().Devices);
        Assert.Equal(("c-1", "sent", T0.AddSeconds(10).ToUnixTimeMilliseconds()), (tile.LastAction!.Id, tile.LastAction.State, tile.LastAction.At));
        Assert.Contains("\"lastAction\":{\"id\":\"c-1\",\"point\":\"backup_aerator_on\",\"value\":1,\"issuedBy\":\"rule:aerator-failure\",\"state\":\"sent\"", JsonSerializer.Serialize(tile, LiveService.Json), StringComparison.Ordinal);

        // Read again unchanged: nothing to push. The gateway's answer: pushed.
        state.SetActions([Command("c-1", "rule:aerator-failure", 10, "sent")]);
        Assert.Empty(state.TakeChanged().Devices);
        state.SetActions([Command("c-1", "rule:aerator-failure", 10, "done", readBack: 1)]);
        Assert.Equal(("done", 1.0), (Assert.Single(state.TakeChanged().Devices).LastAction!.State, state.Find("site-1", "gw-1", "tank-03")!.LastAction!.ReadBack));
    }

    private static Alert Alert(long id, string rule, Severity severity, string field) =>
        new(id, rule, severity, new SeriesKey("aquaculture", "site-1", "gw-1", "tank-03"), field, T0, T0, 1, 1, 1, T0, null, null, null, null, new LocalizedText("en", "vi"));

    [Fact]
    public void Tiles_keep_the_newest_reading_mark_changes_once_and_list_watched_signals_first()
    {
        var state = new PlantState(ShippedZones, DeviceRegistry.Open);
        state.Observe(Message("aquaculture", "tank-03", T0.AddSeconds(10), ("pump_current_a", 3.0), ("do_mg_l", 6.5)));
        state.Observe(Message("aquaculture", "tank-03", T0.AddSeconds(20), ("do_mg_l", 6.4)));
        // Backlog after an outage: older than what is shown, so it does not replace it.
        state.Observe(Message("aquaculture", "tank-03", T0, ("do_mg_l", 2.0)));

        var (devices, gateways) = state.TakeChanged();

        var tile = Assert.Single(devices);
        Assert.Equal(6.4, tile.Fields.Single(f => f.Field == "do_mg_l").Value);
        Assert.Equal(["do_mg_l", "pump_current_a"], tile.Fields.Select(f => f.Field));
        Assert.True(tile.Fields[0].Key);
        Assert.Equal([new Limit("do-critical", Level.Critical, 3.0, null), new Limit("do-low", Level.Warning, 5.0, null)], tile.Fields[0].Limits);
        Assert.Equal(T0.AddSeconds(20).ToUnixTimeMilliseconds(), tile.At);
        Assert.Equal(T0.AddSeconds(20).ToUnixTimeMilliseconds(), Assert.Single(gateways).LastReading);
        Assert.Empty(state.TakeChanged().Devices);
    }

    [Fact]
    public void A_gateway_shows_its_last_status_even_a_last_will_stamped_when_it_connected_and_its_completeness()
    {
        var state = new PlantState(ShippedZones, DeviceRegistry.Open);
        state.Observe(Message("port", "sts-01", T0, ("wind_m_s", 5.0)));
        // A reading of one of its devices on another site does not move the gateway there.
        state.Observe(Message("port", "buoy-1", T0, ("wind_m_s", 5.0)) with { Site = "coast" });
        state.ObserveStatus(new GatewayStatus("site-1", "gw-1", GatewayStatus.Online, T0.AddMinutes(10), 0, null));
        // The broker's last will: the status the edge made when it connected.
        state.ObserveStatus(new GatewayStatus("site-1", "gw-1", GatewayStatus.Offline, T0, 12, T0));
        state.SetDelivery([new GatewayDelivery("gw-1", 990, 10, 0)]);

        var gateway = Assert.Single(state.Snapshot(T0, _ => true).Gateways);

        Assert.Equal(("gw-1", "site-1", "offline", 12, T0.ToUnixTimeMilliseconds(), "port"), (gateway.Key, gateway.Site, gateway.State, gateway.Queue!.Value, gateway.OldestUnsent!.Value, gateway.Pilot));
        Assert.Equal(0.99, gateway.Completeness!.Value, 9);
    }

    [Fact]
    public void The_snapshot_lists_only_the_sites_the_viewer_may_see()
    {
        var state = new PlantState(ShippedZones, DeviceRegistry.Open);
        state.Observe(Message("port", "sts-01", T0, ("wind_m_s", 5.0)));
        state.Observe(Message("port", "sts-02", T0, ("wind_m_s", 5.0)) with { Site = "site-2", Gateway = "gw-2" });

        var snapshot = state.Snapshot(T0, site => site == "site-2");

        Assert.Equal(["sts-02"], snapshot.Devices.Select(d => d.Device));
        Assert.Equal(["site-2"], snapshot.Gateways.Select(g => g.Site));
    }

    [Fact]
    public void A_slow_viewer_gets_the_latest_state_of_each_tile_once_and_is_dropped_past_its_capacity()
    {
        var asked = new List<string>();
        var viewer = new LiveSubscriber(site => { asked.Add(site); return site != "hidden"; }, capacity: 3);

        for (var i = 0; i < 100; i++)
        {
            Assert.True(viewer.Offer(new LiveEvent("device", "d:a", "s", $"{i}")));
        }

        viewer.Offer(new LiveEvent("device", "d:b", "s", "b"));
        viewer.Offer(new LiveEvent("device", "d:x", "hidden", "x"));
        viewer.Offer(new LiveEvent("device", "d:y", "hidden", "y"));

        Assert.Equal(2, viewer.Pending);
        Assert.Equal(99, viewer.Coalesced);
        Assert.Equal(["s", "hidden"], asked);
        Assert.Equal(["99", "b"], viewer.Take().Select(e => e.Data));

        viewer.Offer(new LiveEvent("device", "d:1", "s", "1"));
        viewer.Offer(new LiveEvent("device", "d:2", "s", "2"));
        viewer.Offer(new LiveEvent("device", "d:3", "s", "3"));
        Assert.False(viewer.Offer(new LiveEvent("device", "d:4", "s", "4")));
        Assert.True(viewer.Overflowed);
        Assert.Equal(0, viewer.Pending);
        Assert.True(viewer.WaitAsync(CancellationToken.None).IsCompleted);
    }

    [Fact]
    public void The_hub_sends_each_event_to_every_viewer_until_it_unsubscribes()
    {
        var hub = new LiveHub();
        var a = hub.Subscribe(_ => true);
        var b = hub.Subscribe(_ => true);
        hub.Publish(new LiveEvent("gateway", "g:1", "s", "x"));
        hub.Unsubscribe(a);
        hub.Publish(new LiveEvent("gateway", "g:2", "s", "y"));

        Assert.Equal(["x"], a.Take().Select(e => e.Data));
        Assert.Equal(["x", "y"], b.Take().Select(e => e.Data));
        Assert.Equal(1, hub.Count);
    }

    [Theory]
    [InlineData("s", "g", "d", "do_mg_l", "2h", "range")]
    [InlineData("s", "g", "d", "do_mg_l", null, "range")]
    [InlineData("s", "g", "Tank 03", "do_mg_l", "1h", "device")]
    [InlineData(null, "g", "d", "do_mg_l", "1h", "site")]
    [InlineData("s", "g/x", "d", "do_mg_l", "1h", "gateway")]
    [InlineData("s", "g", "d", "", "24h", "field")]
    [InlineData("s", "g", "d", "do_mg_l\" OR 1=1", "7d", "field")]
    public void A_bad_history_request_names_its_parameter(string? site, string? gateway, string? device, string? field, string? range, string parameter)
    {
        var bad = LiveSetup.CheckHistoryRequest(site, gateway, device, field, range, out _);

        Assert.NotNull(bad);
        Assert.Equal(parameter, bad.Value.Parameter);
        Assert.Contains(parameter, bad.Value.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_good_history_request_finds_its_range()
    {
        Assert.Null(LiveSetup.CheckHistoryRequest("s", "g", "d", "do_mg_l", "24h", out var range));
        Assert.Equal(("rollup_1m", TimeSpan.FromMinutes(1)), (range!.RetentionPolicy, range.Bucket));
    }

    [Fact]
    public async Task One_hour_of_history_reads_raw_points()
    {
        var influx = new ScriptedQuery(("FROM \"telemetry\"", [Row(T0, 6.5), Row(T0.AddSeconds(10), 6.4)]));

        var history = await new HistoryReader(influx).ReadAsync("s", "g", "tank-03", "do_mg_l", HistoryRange.Find("1h")!, T0.AddHours(1), CancellationToken.None);

        Assert.Equal(("raw", 2), (history.Source, history.Points.Count));
        Assert.Equal(new HistoryPoint(T0.ToUnixTimeMilliseconds(), 6.5, 6.5, 6.5), history.Points[0]);
        var query = Assert.Single(influx.Queries);
        Assert.Contains("SELECT \"do_mg_l\" FROM \"telemetry\" WHERE \"site\" = 's' AND \"gateway\" = 'g' AND \"device\" = 'tank-03'", query, StringComparison.Ordinal);
        Assert.DoesNotContain("GROUP BY", query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_day_of_history_reads_the_1_minute_rollup_and_its_newest_minutes_from_raw()
    {
        var now = T0.AddHours(24);
        var lastRollup = now.AddMinutes(-3);
        var influx = new ScriptedQuery(
            ("\"rollup_1m\".\"telemetry\"", [Row(now.AddMinutes(-4), 6.0, 5.9, 6.1), Row(lastRollup, 5.0, 4.9, 5.1)]),
            ("GROUP BY time(60s)", [Row(now.AddMinutes(-1), 4.0, 3.9, 4.1)]));

        var history = await new HistoryReader(influx).ReadAsync("s", "g", "tank-03", "do_mg_l", HistoryRange.Find("24h")!, now, CancellationToken.None);

        Assert.Equal(("rollup_1m+raw", 60), (history.Source, history.BucketSeconds));
        Assert.Equal([6.0, 5.0, 4.0], history.Points.Select(p => p.Mean));
        Assert.Contains("SELECT \"mean_do_mg_l\", \"min_do_mg_l\", \"max_do_mg_l\" FROM \"rollup_1m\".\"telemetry\"", influx.Queries[0], StringComparison.Ordinal);
        Assert.Contains($"time >= {lastRollup.AddMinutes(1).ToUnixTimeMilliseconds()}ms GROUP BY time(60s) fill(none)", influx.Queries[1], StringComparison.Ordinal);
        Assert.Contains("SELECT mean(\"do_mg_l\"), min(\"do_mg_l\"), max(\"do_mg_l\") FROM \"telemetry\"", influx.Queries[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_week_of_history_falls_back_to_raw_by_the_hour_when_the_rollup_is_empty_or_missing(bool missing)
    {
        var now = T0.AddDays(7);
        var influx = new ScriptedQuery(("GROUP BY time(3600s)", [Row(now.AddHours(-2), 6.0, 5.0, 7.0)])) { RollupMissing = missing };

        var history = await new HistoryReader(influx).ReadAsync("s", "g", "tank-03", "do_mg_l", HistoryRange.Find("7d")!, now, CancellationToken.None);

        Assert.Equal(("raw", 3600), (history.Source, history.BucketSeconds));
        Assert.Equal(new HistoryPoint(now.AddHours(-2).ToUnixTimeMilliseconds(), 6.0, 5.0, 7.0), Assert.Single(history.Points));
        Assert.Contains("\"rollup_1h\".\"telemetry\"", influx.Queries[0], StringComparison.Ordinal);
        Assert.Contains($"time >= {now.AddDays(-7).ToUnixTimeMilliseconds()}ms GROUP BY time(3600s)", influx.Queries[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_gateway_status_decodes_what_the_edge_encodes_and_refuses_a_wrong_one_with_its_reason()
    {
        var status = new GatewayStatus("site-1", "gw-1", GatewayStatus.Online, T0, 7, T0.AddMinutes(-5));
        const string Topic = "pilots/v1/site-1/gw-1/status";

        Assert.Equal(status, GatewayStatus.TryDecode(status.Encode(), Topic, out var none));
        Assert.Equal("", none);
        Assert.Equal(status with { OldestUnsent = null }, GatewayStatus.TryDecode((status with { OldestUnsent = null }).Encode(), Topic, out _));

        Assert.Null(GatewayStatus.TryDecode(status.Encode(), "pilots/v1/site-2/gw-1/status", out var error));
        Assert.Contains("differs from the topic", error, StringComparison.Ordinal);
        Assert.Null(GatewayStatus.TryDecode((status with { State = "asleep" }).Encode(), Topic, out error));
        Assert.Contains("$.state", error, StringComparison.Ordinal);
        Assert.Null(GatewayStatus.TryDecode(Encoding.UTF8.GetBytes("{\"v\":1,"), Topic, out error));
        Assert.StartsWith("malformed gateway status", error, StringComparison.Ordinal);
    }

    private static JsonElement[] Row(DateTimeOffset t, params double[] values) =>
        [JsonSerializer.SerializeToElement(t.ToUnixTimeMilliseconds()), .. values.Select(v => JsonSerializer.SerializeToElement(v))];

    /// <summary>Answers each query with the rows of the first script entry whose text it contains; records every query.</summary>
    private sealed class ScriptedQuery(params (string Contains, JsonElement[][] Rows)[] script) : ITelemetryQuery
    {
        public List<string> Queries { get; } = [];

        public bool RollupMissing { get; init; }

        public Task<IReadOnlyList<InfluxSeries>> SeriesAsync(string influxQl, CancellationToken cancellationToken)
        {
            Queries.Add(influxQl);
            if (RollupMissing && influxQl.Contains("\"rollup_", StringComparison.Ordinal))
            {
                throw new InfluxRejectedException("retention policy not found: rollup_1h");
            }

            var rows = script.FirstOrDefault(s => influxQl.Contains(s.Contains, StringComparison.Ordinal)).Rows ?? [];
            IReadOnlyList<InfluxSeries> answer = rows.Length == 0 ? [] : [new InfluxSeries(new Dictionary<string, string>(), ["time", "a", "b", "c"], rows)];
            return Task.FromResult(answer);
        }
    }
}
