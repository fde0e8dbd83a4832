using System.Globalization;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Cloud.Notifications;
using IoTPilots.Mqtt;
using IoTPilots.Rules;
using IoTPilots.UnitTests.Fakes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests;

/// <summary>
/// <see cref="RulesService"/> behind the rules lease (issue 14 part 8): it judges only in a term as leader, stops when
/// the lease is lost, and judges again from the store's state, not its own, when it leads again. The lease and the
/// alert store are the real SQLite ones, on a fake clock; the broker is a fake message source.
/// </summary>
public sealed class RulesServiceStandbyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-standby-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly FakeMessageSources _sources = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string DbPath => Path.Combine(_dir, "alerts.db");

    [Fact]
    public async Task A_service_that_loses_the_lease_stops_judging_and_when_it_leads_again_judges_from_the_store_not_its_old_state()
    {
        using var store = AlertStore.Open(DbPath, _time);
        using var other = AlertStore.Open(DbPath, _time);
        other.FenceAlertEvents("rules", "other");
        var subscription = new IngestionSubscription();
        subscription.Subscribed();
        var rules = RuleSet.Parse("rules: [{ id: do-critical, kind: threshold, field: do_mg_l, below: 3.0, clear: 3.5, severity: critical, source: A5 }]", "rules.yaml");
        store.FenceAlertEvents("rules", "me");
        var leadership = new RulesLeadership(store, "me", LeaseOptions.Rules, _time, NullLogger<RulesLeadership>.Instance);
        var inForce = new RulesInForce(new RulesEngine(rules));
        var firstEngine = inForce.Engine;
        using var http = new HttpClient();
        using var service = new RulesService(
            new IngestionOptions(MqttEndpoint.Parse("mqtt://127.0.0.1:1"), InfluxEndpoint.FromEnvironment(_ => null), "ingest", "1"),
            subscription,
            _sources,
            new RulesOptions("rules.yaml", DbPath, Evaluate: true),
            inForce,
            store,
            new NoInflux(),
            _time,
            NullLogger<RulesService>.Instance,
            new AlertNotifier(store, new NotificationPlanner(NotificationConfig.Empty, _time), new OutboxSignal()),
            // An open registry expects no series, so the seed never asks InfluxDB.
            new RulesSeed(DeviceRegistry.Open, new InfluxWriter(http, InfluxEndpoint.FromEnvironment(_ => null)), NullLogger<RulesSeed>.Instance),
            leadership);
        await service.StartAsync(CancellationToken.None);

        // First term: DO under 3 raises do-critical.
        await FakeMessageSource.Until(() => _sources.Opened.Count == 1);
        await DeliverAsync(_sources.Opened[0], 2.5);
        var first = Assert.Single(store.Unresolved());

        // Another process takes the lease (this one was paused past its expiry), and resolves the alert meanwhile.
        var takeover = _time.GetUtcNow() + LeaseOptions.Rules.Ttl;
        Assert.Equal("other", other.TryTake("rules", "other", takeover, takeover + LeaseOptions.Rules.Ttl).Holder);
        Assert.NotNull(other.Apply(new AlertEvent(AlertTransition.Resolved, "do-critical", Severity.Critical, first.Series, "do_mg_l", _time.GetUtcNow(), first.Since, 4.0, null, first.Message)));
        // This process renews at its next request, finds the other holder, and stops judging.
        await Advancing(() => _sources.Opened[0].Stopped);
        Assert.Single(_sources.Opened);

        // The other one stops (releases): this one leads again, restores from the store (nothing open), and a new crossing
        // is a new alert. With the old state it would have taken 2.4 for an update of the alert it raised itself.
        other.Release("rules", "other");
        await Advancing(() => _sources.Opened.Count == 2);
        await DeliverAsync(_sources.Opened[1], 2.4);
        var second = Assert.Single(store.Unresolved());
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(2.4, second.RaisedValue);
        // What reads the rules from outside (the confirm offers) now reads the new term's engine, whose reloads it must follow.
        Assert.NotSame(firstEngine, inForce.Engine);
        Assert.Equal(["do-critical"], inForce.Engine.Rules.Select(r => r.Id));

        await service.StopAsync(CancellationToken.None);
        // A stop releases the lease: the other process may take it at once.
        Assert.Equal("other", other.TryTake("rules", "other", _time.GetUtcNow(), _time.GetUtcNow() + LeaseOptions.Rules.Ttl).Holder);
    }

    /// <summary>A reading of tank-03's DO, stamped with the fake clock's time.</summary>
    private Task DeliverAsync(FakeMessageSource source, double doMgL)
    {
        var ts = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return source.DeliverAsync("pilots/v1/s/g/tank-03/telemetry", $"{{\"v\":1,\"pilot\":\"aquaculture\",\"site\":\"s\",\"gateway\":\"g\",\"device\":\"tank-03\",\"seq\":{ts},\"readings\":[{{\"field\":\"do_mg_l\",\"ts\":{ts},\"value\":{doMgL.ToString(CultureInfo.InvariantCulture)},\"unit\":\"mg/L\",\"q\":\"good\"}}]}}");
    }

    /// <summary>Moves the fake clock a second at a time until <paramref name="condition"/> holds (the service's loops run on their own).</summary>
    private async Task Advancing(Func<bool> condition)
    {
        for (var i = 0; i < 120 && !condition(); i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(5);
        }

        Assert.True(condition());
    }

    private sealed class NoInflux : IPointWriter
    {
        public Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
