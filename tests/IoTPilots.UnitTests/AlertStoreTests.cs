using IoTPilots.Cloud.Alerts;
using IoTPilots.Rules;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests;

public sealed class AlertStoreTests : IDisposable
{
    private static readonly SeriesKey Tank03 = new("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03");
    private static readonly SeriesKey Tank04 = Tank03 with { Device = "tank-04" };
    private static readonly SeriesKey Furnace1 = new("factory", "haiphong-steel-1", "gw-steel-01", "furnace-1");
    private static readonly LocalizedText LowOxygen = new("Dissolved oxygen low in tank 03", "Oxy hòa tan thấp ở bể 03");

    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-alerts-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string DbPath => Path.Combine(_dir, "state", "alerts.db");

    private AlertStore Open() => AlertStore.Open(DbPath, _time);

    /// <summary>An event at <paramref name="minutes"/> after the test's start; the condition began two minutes earlier.</summary>
    private AlertEvent Event(
        AlertTransition transition,
        double minutes,
        double? value,
        double? worst = null,
        SeriesKey? series = null,
        string rule = "do-low",
        Severity severity = Severity.Critical)
    {
        var at = _time.Start.AddMinutes(minutes);
        return new AlertEvent(transition, rule, severity, series ?? Tank03, "do_mg_l", at, at.AddMinutes(-2), value, worst, LowOxygen);
    }

    private static Alert Raise(AlertStore store, AlertEvent e) => store.Apply(e) ?? throw new InvalidOperationException("raise returned null");

    [Fact]
    public void Stores_opened_at_the_same_moment_on_a_new_file_make_its_schema_once()
    {
        // Workers started together on one alert database (./run bench fleet) once failed with "table alerts already exists".
        using var start = new Barrier(4);
        var stores = new AlertStore?[4];
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                stores[i] = Open();
            }
            catch (Exception ex)
            {
                errors.Enqueue(ex);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Empty(errors);
        foreach (var store in stores)
        {
            Assert.Empty(store!.Unresolved());
            store.Dispose();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void A_raised_alert_is_stored_with_everything_the_event_said()
    {
        using var store = Open();
        var raised = Raise(store, Event(AlertTransition.Raised, 0, 2.8, worst: 2.6));

        var got = store.Get(raised.Id);
        Assert.Equal(raised, got);
        Assert.Equal("do-low", got!.RuleId);
        Assert.Equal(Severity.Critical, got.Severity);
        Assert.Equal(Tank03, got.Series);
        Assert.Equal("do_mg_l", got.Field);
        Assert.Equal(_time.Start.AddMinutes(-2), got.Since);
        Assert.Equal(_time.Start, got.RaisedAt);
        Assert.Equal(_time.Start, got.UpdatedAt);
        Assert.Equal(2.8, got.RaisedValue);
        Assert.Equal(2.8, got.LastValue);
        Assert.Equal(2.6, got.WorstValue);
        Assert.Null(got.AcknowledgedAt);
        Assert.Null(got.ResolvedAt);
        Assert.Equal("open", got.State);
        Assert.Null(store.Get(raised.Id + 1));
    }

    [Fact]
    public void Without_a_worst_value_the_raised_value_is_the_worst()
    {
        using var store = Open();
        Assert.Equal(2.8, Raise(store, Event(AlertTransition.Raised, 0, 2.8)).WorstValue);
    }

    [Fact]
    public void A_missing_data_alert_has_no_values()
    {
        using var store = Open();
        var raised = Raise(store, Event(AlertTransition.Raised, 0, value: null));
        Assert.Null(store.Get(raised.Id)!.RaisedValue);
        Assert.Null(store.Get(raised.Id)!.WorstValue);
    }

    [Fact]
    public void Raising_twice_keeps_one_alert_and_updates_it()
    {
        using var store = Open();
        var first = Raise(store, Event(AlertTransition.Raised, 0, 2.8));
        var second = Raise(store, Event(AlertTransition.Raised, 1, 2.5, worst: 2.5));

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(2.8, second.RaisedValue);
        Assert.Equal(2.5, second.LastValue);
        Assert.Equal(_time.Start, second.RaisedAt);
        Assert.Equal(_time.Start.AddMinutes(1), second.UpdatedAt);
        Assert.Single(store.List(new AlertQuery(State: "all")));
    }

    [Fact]
    public void The_same_rule_on_another_device_or_field_is_another_alert()
    {
        using var store = Open();
        var tank03 = Raise(store, Event(AlertTransition.Raised, 0, 2.8));
        var tank04 = Raise(store, Event(AlertTransition.Raised, 0, 2.9, series: Tank04));
        var otherRule = Raise(store, Event(AlertTransition.Raised, 0, 2.8, rule: "do-very-low"));
        // A rule with a field pattern (shell_temp_*_c) watches each matching field on its own.
        var otherField = Raise(store, Event(AlertTransition.Raised, 0, 2.8) with { Field = "do_sat_pct" });

        Assert.Equal(4, new[] { tank03.Id, tank04.Id, otherRule.Id, otherField.Id }.Distinct().Count());
    }

    [Fact]
    public void An_update_moves_the_last_value_and_the_worst_only_when_given()
    {
        using var store = Open();
        var raised = Raise(store, Event(AlertTransition.Raised, 0, 2.8, worst: 2.6));

        var updated = store.Apply(Event(AlertTransition.Updated, 1, 2.4, worst: 2.4))!;
        Assert.Equal(raised.Id, updated.Id);
        Assert.Equal(2.4, updated.LastValue);
        Assert.Equal(2.4, updated.WorstValue);
        Assert.Equal(2.8, updated.RaisedValue);
        Assert.Equal(_time.Start.AddMinutes(1), updated.UpdatedAt);

        var noWorst = store.Apply(Event(AlertTransition.Updated, 2, 2.7))!;
        Assert.Equal(2.7, noWorst.LastValue);
        Assert.Equal(2.4, noWorst.WorstValue);
        Assert.Equal(noWorst, store.Get(raised.Id));
    }

    [Fact]
    public void Updating_or_resolving_with_nothing_open_returns_null_and_stores_nothing()
    {
        using var store = Open();
        Assert.Null(store.Apply(Event(AlertTransition.Updated, 0, 2.5)));
        Assert.Null(store.Apply(Event(AlertTransition.Resolved, 1, 5.5)));
        Assert.Empty(store.List(new AlertQuery(State: "all")));
    }

    [Fact]
    public void Resolving_closes_the_alert_and_the_next_raise_opens_a_new_one()
    {
        using var store = Open();
        var first = Raise(store, Event(AlertTransition.Raised, 0, 2.8));

        var resolved = store.Apply(Event(AlertTransition.Resolved, 10, 5.6))!;
        Assert.Equal(first.Id, resolved.Id);
        Assert.Equal(_time.Start.AddMinutes(10), resolved.ResolvedAt);
        Assert.Equal(5.6, resolved.LastValue);
        Assert.Equal("resolved", resolved.State);
        Assert.Null(store.Apply(Event(AlertTransition.Resolved, 11, 5.7)));

        var second = Raise(store, Event(AlertTransition.Raised, 20, 2.9));
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal("open", second.State);
        Assert.Equal("resolved", store.Get(first.Id)!.State);
    }

    [Fact]
    public void Acknowledging_records_who_when_and_why_and_keeps_the_alert_active()
    {
        using var store = Open();
        var raised = Raise(store, Event(AlertTransition.Raised, 0, 2.8));
        var at = _time.Start.AddMinutes(4);

        var acked = store.Acknowledge(raised.Id, "Nguyen Van A", "đã khởi động lại máy sục khí", at);

        Assert.Equal(at, acked.AcknowledgedAt);
        Assert.Equal("Nguyen Van A", acked.AcknowledgedBy);
        Assert.Equal("đã khởi động lại máy sục khí", acked.Note);
        Assert.Equal("acknowledged", acked.State);
        Assert.Equal(acked, store.Get(raised.Id));
        Assert.Single(store.List(new AlertQuery()));

        // Acknowledging does not stop the rules engine from updating or resolving it.
        Assert.Equal(raised.Id, store.Apply(Event(AlertTransition.Resolved, 9, 5.5))!.Id);
        Assert.Equal("resolved", store.Get(raised.Id)!.State);
        Assert.Equal(at, store.Get(raised.Id)!.AcknowledgedAt);
    }

    [Fact]
    public void Acknowledging_twice_says_by_whom_and_when_and_keeps_the_first()
    {
        using var store = Open();
        var raised = Raise(store, Event(AlertTransition.Raised, 0, 2.8));
        store.Acknowledge(raised.Id, "Nguyen Van A", null, _time.Start.AddMinutes(4));

        var ex = Assert.Throws<InvalidOperationException>(() => store.Acknowledge(raised.Id, "Tran Thi B", "me too", _time.Start.AddMinutes(5)));

        Assert.Contains("Nguyen Van A", ex.Message, StringComparison.Ordinal);
        Assert.Contains("2026-11-23T08:04:00Z", ex.Message, StringComparison.Ordinal);
        Assert.Equal("Nguyen Van A", store.Get(raised.Id)!.AcknowledgedBy);
        Assert.Null(store.Get(raised.Id)!.Note);
    }

    [Fact]
    public void Acknowledging_an_unknown_alert_throws_KeyNotFound()
    {
        using var store = Open();
        var ex = Assert.Throws<KeyNotFoundException>(() => store.Acknowledge(42, "Nguyen Van A", null, _time.Start));
        Assert.Contains("42", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_resolved_alert_can_still_be_acknowledged_late()
    {
        using var store = Open();
        var raised = Raise(store, Event(AlertTransition.Raised, 0, 2.8));
        store.Apply(Event(AlertTransition.Resolved, 5, 5.5));

        var acked = store.Acknowledge(raised.Id, "Nguyen Van A", "seen after the fact", _time.Start.AddMinutes(30));

        Assert.Equal("resolved", acked.State);
        Assert.Equal(TimeSpan.FromMinutes(30), acked.AcknowledgedAt - acked.RaisedAt);
    }

    [Fact]
    public void List_filters_by_state()
    {
        using var store = Open();
        var open = Raise(store, Event(AlertTransition.Raised, 0, 2.8));
        var acked = Raise(store, Event(AlertTransition.Raised, 1, 2.8, series: Tank04));
        store.Acknowledge(acked.Id, "Nguyen Van A", null, _time.Start.AddMinutes(2));
        var resolved = Raise(store, Event(AlertTransition.Raised, 2, 1250, series: Furnace1, rule: "zone-hot"));
        store.Apply(Event(AlertTransition.Resolved, 3, 1100, series: Furnace1, rule: "zone-hot"));

        long[] Ids(string state) => store.List(new AlertQuery(State: state)).Select(a => a.Id).ToArray();

        Assert.Equal([open.Id], Ids("open"));
        Assert.Equal([acked.Id], Ids("acknowledged"));
        Assert.Equal([resolved.Id], Ids("resolved"));
        Assert.Equal([acked.Id, open.Id], Ids("active"));
        Assert.Equal([resolved.Id, acked.Id, open.Id], Ids("all"));
        Assert.Equal(Ids("active"), store.List(new AlertQuery()).Select(a => a.Id));
        Assert.Throws<ArgumentException>(() => store.List(new AlertQuery(State: "closed")));
    }

    [Fact]
    public void List_filters_by_pilot_site_device_severity_and_since_newest_first_up_to_the_limit()
    {
        using var store = Open();
        var tank03 = Raise(store, Event(AlertTransition.Raised, 0, 2.8));
        var tank04 = Raise(store, Event(AlertTransition.Raised, 10, 2.9, series: Tank04, severity: Severity.Warning));
        var furnace = Raise(store, Event(AlertTransition.Raised, 20, 1250, series: Furnace1, rule: "zone-hot"));

        long[] Ids(AlertQuery q) => store.List(q).Select(a => a.Id).ToArray();

        Assert.Equal([furnace.Id, tank04.Id, tank03.Id], Ids(new AlertQuery()));
        Assert.Equal([tank04.Id, tank03.Id], Ids(new AlertQuery(Pilot: "aquaculture")));
        Assert.Equal([furnace.Id], Ids(new AlertQuery(Site: "haiphong-steel-1")));
        Assert.Equal([tank04.Id], Ids(new AlertQuery(Device: "tank-04")));
        Assert.Equal([furnace.Id, tank03.Id], Ids(new AlertQuery(Severity: Severity.Critical)));
        Assert.Equal([tank03.Id], Ids(new AlertQuery(Pilot: "aquaculture", Severity: Severity.Critical)));
        Assert.Equal([furnace.Id, tank04.Id], Ids(new AlertQuery(Since: _time.Start.AddMinutes(10))));
        Assert.Equal([furnace.Id, tank04.Id], Ids(new AlertQuery(Limit: 2)));
        Assert.Empty(Ids(new AlertQuery(Pilot: "port")));
    }

    [Fact]
    public void Everything_survives_a_reopen_and_Unresolved_returns_the_open_alerts()
    {
        long open, acked, resolved;
        using (var store = Open())
        {
            open = Raise(store, Event(AlertTransition.Raised, 0, 2.8)).Id;
            acked = Raise(store, Event(AlertTransition.Raised, 1, 2.9, series: Tank04)).Id;
            store.Acknowledge(acked, "Nguyen Van A", "aerator restarted", _time.Start.AddMinutes(2));
            resolved = Raise(store, Event(AlertTransition.Raised, 2, 1250, series: Furnace1, rule: "zone-hot")).Id;
            store.Apply(Event(AlertTransition.Resolved, 3, 1100, series: Furnace1, rule: "zone-hot"));
        }

        using var reopened = Open();
        Assert.Equal([open, acked], reopened.Unresolved().Select(a => a.Id));
        Assert.Equal("aerator restarted", reopened.Get(acked)!.Note);
        Assert.Equal(_time.Start.AddMinutes(3), reopened.Get(resolved)!.ResolvedAt);

        // The reloaded open alert is still the one the engine updates: no duplicate after a restart.
        Assert.Equal(open, reopened.Apply(Event(AlertTransition.Raised, 5, 2.7))!.Id);
        Assert.Equal(3, reopened.List(new AlertQuery(State: "all")).Count);
    }

    [Fact]
    public void Vietnamese_text_round_trips_exactly()
    {
        using (var store = Open())
        {
            Raise(store, Event(AlertTransition.Raised, 0, 2.8));
        }

        using var reopened = Open();
        var alert = Assert.Single(reopened.Unresolved());
        Assert.Equal("Oxy hòa tan thấp ở bể 03", alert.Message.Vi);
        Assert.Equal("Dissolved oxygen low in tank 03", alert.Message.En);
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_refused_naming_the_file()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        File.WriteAllText(DbPath, "tank-03,do_mg_l,2.8\n".PadRight(4096, '#'));

        var ex = Assert.Throws<InvalidDataException>(Open);

        Assert.Contains(DbPath, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("tank-03", File.ReadAllText(DbPath), StringComparison.Ordinal);
    }

    [Fact]
    public void A_database_from_a_newer_version_is_refused_naming_the_file()
    {
        Open().Dispose();
        using (var db = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA user_version = 3";
            cmd.ExecuteNonQuery();
        }

        var ex = Assert.Throws<InvalidOperationException>(Open);

        Assert.Contains(DbPath, ex.Message, StringComparison.Ordinal);
        Assert.Contains("version 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_creates_the_folder_and_uses_write_ahead_logging()
    {
        using var store = Open();
        Assert.True(File.Exists(DbPath));
        Assert.Equal(DbPath, store.FilePath);

        using var db = new SqliteConnection($"Data Source={DbPath};Pooling=False;Mode=ReadOnly");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", cmd.ExecuteScalar());
    }

    [Fact]
    public void Concurrent_raises_for_one_rule_and_series_open_one_alert()
    {
        using var store = Open();
        var ids = new long[64];
        Parallel.For(0, ids.Length, i => ids[i] = Raise(store, Event(AlertTransition.Raised, i, 2.8)).Id);

        Assert.Single(ids.Distinct());
        Assert.Single(store.List(new AlertQuery(State: "all")));
    }
}
