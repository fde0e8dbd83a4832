using System.Net;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Notifications;
using IoTPilots.Rules;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Notifications;

public sealed class OutboxTests : IDisposable
{
    private static readonly SeriesKey Tank03 = new("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03");
    private static readonly LocalizedText LowOxygen = new("Dissolved oxygen in tank-03 is 2.6 mg/L", "Oxy hòa tan ở tank-03 còn 2,6 mg/L");

    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-outbox-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string DbPath => Path.Combine(_dir, "alerts.db");

    private AlertStore Open() => AlertStore.Open(DbPath, _time);

    private AlertNotifier Notifier(AlertStore store) =>
        new(store, new NotificationPlanner(NotificationConfig.Parse(NotificationConfigTests.Farm, "notify.yaml"), _time, NotificationPlanner.Integrator("http://127.0.0.1:9/hook")), new OutboxSignal());

    private AlertEvent Event(AlertTransition transition, double value) =>
        new(transition, "do-low", Severity.Critical, Tank03, "do_mg_l", _time.GetUtcNow(), _time.GetUtcNow().AddMinutes(-1), value, value, LowOxygen);

    [Fact]
    public void A_raised_alert_and_its_notifications_are_stored_together_one_row_per_contact_and_channel()
    {
        using var store = Open();
        var alert = Notifier(store).Apply(Event(AlertTransition.Raised, 2.6))!;

        var rows = store.Notifications(alert.Id);
        Assert.Equal(["Nguyen Van A sms", "Nguyen Van A telegram", "integrator webhook"], rows.Select(r => $"{r.Contact} {r.Channel}").Order(StringComparer.Ordinal));
        Assert.All(rows, r => Assert.Equal(("pending", 0, "raised", 2.6), (r.Status, r.Attempts, r.State, r.Value)));
        Assert.Equal($"alert-{alert.Id}-raised-integrator-webhook", rows.Single(r => r.Channel == "webhook").IdempotencyKey);
    }

    [Fact]
    public void A_redelivered_reading_or_a_restarted_planner_queues_nothing_new()
    {
        using var store = Open();
        var alert = Notifier(store).Apply(Event(AlertTransition.Raised, 2.6))!;

        // The same raise again, through the same planner and through a fresh one (as after a restart).
        Notifier(store).Apply(Event(AlertTransition.Raised, 2.6));
        var notifier = Notifier(store);
        notifier.Apply(Event(AlertTransition.Raised, 2.5));

        Assert.Equal(3, store.Notifications(alert.Id).Count);
    }

    [Fact]
    public void A_claimed_row_is_sending_and_a_crash_puts_it_back_to_pending_with_its_attempt_counted()
    {
        using (var store = Open())
        {
            Notifier(store).Apply(Event(AlertTransition.Raised, 2.6));
            var claimed = Assert.Single(store.ClaimDue(Channels.Webhook, _time.GetUtcNow(), 10));
            Assert.Equal(("sending", 1), (claimed.Status, claimed.Attempts));
            Assert.Empty(store.ClaimDue(Channels.Webhook, _time.GetUtcNow(), 10));
        }

        using var reopened = Open();
        var again = Assert.Single(reopened.ClaimDue(Channels.Webhook, _time.GetUtcNow(), 10));
        Assert.Equal(2, again.Attempts);
    }

    [Fact]
    public async Task A_4xx_is_failed_with_its_reason_and_never_retried_and_a_5xx_backs_off_exponentially()
    {
        using var store = Open();
        var notifier = Notifier(store);
        var alert = notifier.Apply(Event(AlertTransition.Raised, 2.6))!;
        var webhook = new ScriptedChannel(Channels.Webhook, SendResult.FromHttp(HttpStatusCode.ServiceUnavailable, "down"));
        var sms = new ScriptedChannel(Channels.Sms, SendResult.FromHttp(HttpStatusCode.BadRequest, "phone: not a number"));
        var telegram = new ScriptedChannel(Channels.Telegram, SendResult.Sent);
        var dispatcher = new NotificationDispatcher(notifier, [webhook, sms, telegram], new OutboxSignal(), new Backoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), 5), _time, NullLogger<NotificationDispatcher>.Instance);

        foreach (var channel in Channels.All)
        {
            await dispatcher.SendDueAsync(channel, CancellationToken.None);
        }

        var rows = store.Notifications(alert.Id).ToDictionary(r => r.Channel);
        Assert.Equal("sent", rows["telegram"].Status);
        Assert.Equal(_time.GetUtcNow(), rows["telegram"].SentAt);
        Assert.Equal(("failed", "HTTP 400 BadRequest: phone: not a number"), (rows["sms"].Status, rows["sms"].LastError));
        Assert.Equal(("pending", "HTTP 503 ServiceUnavailable: down"), (rows["webhook"].Status, rows["webhook"].LastError));

        // Retries at +2 s, +4 s, +8 s, +16 s; the fifth attempt is the last.
        var waits = new List<TimeSpan>();
        for (var attempt = 1; attempt < 5; attempt++)
        {
            var row = store.Notifications(alert.Id).Single(r => r.Channel == "webhook");
            waits.Add(row.NextTry - _time.GetUtcNow());
            _time.Advance(row.NextTry - _time.GetUtcNow() - TimeSpan.FromMilliseconds(1));
            Assert.Equal(0, await dispatcher.SendDueAsync(Channels.Webhook, CancellationToken.None));
            _time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.Equal(1, await dispatcher.SendDueAsync(Channels.Webhook, CancellationToken.None));
        }

        Assert.Equal([2, 4, 8, 16], waits.Select(w => w.TotalSeconds));
        Assert.Equal(("failed", 5), store.Notifications(alert.Id).Single(r => r.Channel == "webhook") is var w ? (w.Status, w.Attempts) : default);
        Assert.Equal(1, sms.Calls);
        Assert.Equal(5, webhook.Calls);
    }

    [Fact]
    public async Task A_row_of_a_channel_nobody_configured_fails_naming_the_channel()
    {
        using var store = Open();
        var notifier = Notifier(store);
        var alert = notifier.Apply(Event(AlertTransition.Raised, 2.6))!;
        var dispatcher = new NotificationDispatcher(notifier, [new ScriptedChannel(Channels.Webhook, SendResult.Sent)], new OutboxSignal(), Backoff.Default, _time, NullLogger<NotificationDispatcher>.Instance);

        Assert.Equal(2, dispatcher.FailUnconfigured());
        await dispatcher.SendDueAsync(Channels.Webhook, CancellationToken.None);

        Assert.Contains(store.Notifications(alert.Id), r => r.Channel == "sms" && r.Status == "failed" && r.LastError!.Contains("channel sms is not configured", StringComparison.Ordinal));
        Assert.Equal("sent", store.Notifications(alert.Id).Single(r => r.Channel == "webhook").Status);
    }

    [Fact]
    public void Acknowledging_records_the_channel_and_tells_those_who_were_told_in_the_same_transaction()
    {
        using var store = Open();
        var notifier = Notifier(store);
        var alert = notifier.Apply(Event(AlertTransition.Raised, 2.6))!;

        notifier.Acknowledge(alert.Id, "Nguyen Van A", null, _time.GetUtcNow(), "sms link");

        Assert.Equal("sms link", store.AcknowledgedVia(alert.Id));
        Assert.Equal(3, store.Notifications(alert.Id).Count(r => r.State == "acknowledged"));
    }

    [Fact]
    public void A_shelf_is_recorded_with_reason_and_expiry()
    {
        using var store = Open();
        var notifier = Notifier(store);
        var alert = notifier.Apply(Event(AlertTransition.Raised, 2.6))!;

        notifier.Shelve(alert.Id, "Tran Thi B", "probe being cleaned", _time.GetUtcNow().AddHours(1));

        Assert.Equal(new Shelf(_time.GetUtcNow().AddHours(1), "probe being cleaned", "Tran Thi B"), store.ShelfOf(alert.Id));
        Assert.Single(store.Notifications(alert.Id), r => r.State == "shelved");
    }

    [Fact]
    public void A_version_1_database_is_upgraded_keeping_its_alerts()
    {
        using (var db = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            // Version 1's schema, as AlertStore created it before the outbox.
            cmd.CommandText = """
                CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, rule_id TEXT NOT NULL, severity TEXT NOT NULL, pilot TEXT NOT NULL,
                    site TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL, field TEXT NOT NULL, since_ms INTEGER NOT NULL,
                    raised_at_ms INTEGER NOT NULL, raised_value REAL, last_value REAL, worst_value REAL, updated_at_ms INTEGER NOT NULL,
                    acknowledged_at_ms INTEGER, acknowledged_by TEXT, note TEXT, resolved_at_ms INTEGER, message_en TEXT NOT NULL,
                    message_vi TEXT NOT NULL, written_at_ms INTEGER NOT NULL);
                INSERT INTO alerts VALUES (1, 'do-low', 'critical', 'aquaculture', 'haiphong-ras-1', 'gw-aqua-01', 'tank-03', 'do_mg_l',
                    0, 0, 2.8, 2.8, 2.8, 0, NULL, NULL, NULL, NULL, 'en', 'vi', 0);
                PRAGMA user_version = 1;
                """;
            cmd.ExecuteNonQuery();
        }

        using var store = Open();
        Assert.Equal("tank-03", store.Get(1)!.Series.Device);
        Notifier(store).Acknowledge(1, "Nguyen Van A", null, _time.GetUtcNow(), "api");
        Assert.Equal("api", store.AcknowledgedVia(1));
    }

    private sealed class ScriptedChannel(string name, SendResult result) : INotificationChannel
    {
        public int Calls { get; private set; }

        public string Name => name;

        public Task<SendResult> SendAsync(OutboxItem item, Alert alert, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromResult(result);
        }
    }
}
