using IoTPilots.Cloud.Notifications;
using IoTPilots.Rules;
using Microsoft.Data.Sqlite;

namespace IoTPilots.Cloud.Alerts;

/// <summary>One row of the outbox: one alert event to one contact on one channel, and how sending it went.</summary>
/// <param name="Status"><c>pending</c> (waiting for <see cref="NextTry"/>), <c>sending</c>, <c>sent</c> or <c>failed</c> (given up, with <see cref="LastError"/>).</param>
public sealed record OutboxItem(
    long Id,
    long AlertId,
    string Key,
    string State,
    string Contact,
    string Language,
    string Channel,
    string Address,
    int Level,
    double? Value,
    DateTimeOffset At,
    DateTimeOffset CreatedAt,
    string Status,
    int Attempts,
    DateTimeOffset NextTry,
    string? LastError,
    DateTimeOffset? SentAt)
{
    /// <summary>The same for every attempt at this row, across restarts: receivers can drop a repeat (the webhook's <c>Idempotency-Key</c>).</summary>
    public string IdempotencyKey => $"alert-{AlertId}-{Key}-{Contact}-{Channel}";
}

/// <summary>A shelf on an alert: it notifies no one until <see cref="Until"/>.</summary>
public sealed record Shelf(DateTimeOffset Until, string Reason, string By);

/// <summary>
/// The durable notification outbox (schema version 2). Rows are written in the transaction that changes the alert,
/// unique per (alert, event key, contact, channel), so planning an event twice adds nothing; a dispatcher claims
/// due rows, sends, and records the outcome. A row left <c>sending</c> by a crash is sent again after the restart
/// with the same idempotency key.
/// </summary>
public sealed partial class AlertStore
{
    private const string OutboxColumns = """
        id, alert_id, event_key, state, contact, language, channel, address, level, value, at_ms, created_at_ms,
        status, attempts, next_try_ms, last_error, sent_at_ms
        """;

    /// <summary>Queues notices; those already queued (same alert, key, contact and channel) are skipped.</summary>
    public void Enqueue(IReadOnlyList<Notice> notices)
    {
        if (notices.Count == 0)
        {
            return;
        }

        lock (_gate)
        {
            InTransaction(() =>
            {
                EnqueueInTransaction(notices);
                return 0;
            });
        }
    }

    /// <summary>Up to <paramref name="max"/> rows of <paramref name="channel"/> due at <paramref name="now"/>, marked <c>sending</c> with one more attempt counted.</summary>
    public IReadOnlyList<OutboxItem> ClaimDue(string channel, DateTimeOffset now, int max)
    {
        lock (_gate)
        {
            return InTransaction(() =>
            {
                using var cmd = Command($"""
                    UPDATE outbox SET status = 'sending', attempts = attempts + 1
                    WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND channel = $channel AND next_try_ms <= $now ORDER BY next_try_ms, id LIMIT $max)
                    RETURNING {OutboxColumns}
                    """);
                cmd.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
                cmd.Parameters.AddWithValue("$max", max);
                cmd.Parameters.AddWithValue("$channel", channel);
                return ReadOutbox(cmd).OrderBy(i => i.Id).ToList();
            });
        }
    }

    public void MarkSent(long id, DateTimeOffset at) => SetOutcome(id, "status = 'sent', sent_at_ms = $at, last_error = NULL", at, null);

    /// <summary>Back to pending until <paramref name="next"/>, keeping the reason.</summary>
    public void MarkRetry(long id, string error, DateTimeOffset next) => SetOutcome(id, "status = 'pending', next_try_ms = $at, last_error = $error", next, error);

    /// <summary>Given up: a refusal that a retry would not change (a 4xx), or too many attempts.</summary>
    public void MarkFailed(long id, string error, DateTimeOffset at) => SetOutcome(id, "status = 'failed', next_try_ms = $at, last_error = $error", at, error);

    public OutboxItem? OutboxRow(long id)
    {
        lock (_gate)
        {
            using var cmd = Command($"SELECT {OutboxColumns} FROM outbox WHERE id = $id");
            cmd.Parameters.AddWithValue("$id", id);
            return ReadOutbox(cmd).SingleOrDefault();
        }
    }

    /// <summary>Who was (or is to be) told about an alert, when, on which channel and how it went; in the order queued.</summary>
    public IReadOnlyList<OutboxItem> Notifications(long alertId)
    {
        lock (_gate)
        {
            using var cmd = Command($"SELECT {OutboxColumns} FROM outbox WHERE alert_id = $id ORDER BY id");
            cmd.Parameters.AddWithValue("$id", alertId);
            return ReadOutbox(cmd);
        }
    }

    /// <summary>What the outbox says was planned for an open alert: where the planner resumes after a restart; null if nothing was.</summary>
    public NoticeHistory? History(long alertId)
    {
        var rows = Notifications(alertId).Where(r => r.Contact != "integrator").ToList();
        var all = Notifications(alertId);
        if (all.Count == 0)
        {
            return null;
        }

        return new NoticeHistory(
            rows.Count == 0 ? all.Max(r => r.Level) : rows.Max(r => r.Level),
            rows.Where(r => r.State == NoticeStates.Reminder).Select(r => r.Key).Distinct().Count(),
            all.Min(r => r.CreatedAt),
            all.Max(r => r.CreatedAt),
            rows.Select(r => r.Contact).ToHashSet(),
            all.Any(r => r.State == NoticeStates.Flapping));
    }

    /// <summary>Shelves an alert (its rule and series) until <paramref name="until"/>, queuing what <paramref name="plan"/> decides, in one transaction.</summary>
    /// <exception cref="KeyNotFoundException">No alert has this id.</exception>
    /// <exception cref="InvalidOperationException">The alert has resolved: there is nothing to shelve.</exception>
    public Alert Shelve(long id, string by, string reason, DateTimeOffset until, Func<Alert, IReadOnlyList<Notice>>? plan)
    {
        lock (_gate)
        {
            return InTransaction(() =>
            {
                var alert = Get(id) ?? throw new KeyNotFoundException($"alert {id} does not exist");
                if (alert.ResolvedAt is not null)
                {
                    throw new InvalidOperationException($"alert {id} has resolved; there is nothing to shelve");
                }

                using var cmd = Command("""
                    UPDATE alerts SET shelved_until_ms = $until, shelved_reason = $reason, shelved_by = $by, written_at_ms = $written WHERE id = $id
                    """);
                cmd.Parameters.AddWithValue("$id", id);
                cmd.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
                cmd.Parameters.AddWithValue("$reason", reason);
                cmd.Parameters.AddWithValue("$by", by);
                cmd.Parameters.AddWithValue("$written", _time.GetUtcNow().ToUnixTimeMilliseconds());
                cmd.ExecuteNonQuery();
                if (plan is not null)
                {
                    EnqueueInTransaction(plan(alert));
                }

                return alert;
            });
        }
    }

    public Shelf? ShelfOf(long alertId)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT shelved_until_ms, shelved_reason, shelved_by FROM alerts WHERE id = $id AND shelved_until_ms IS NOT NULL");
            cmd.Parameters.AddWithValue("$id", alertId);
            using var r = cmd.ExecuteReader();
            return r.Read() ? new Shelf(DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)), r.GetString(1), r.GetString(2)) : null;
        }
    }

    /// <summary>How the acknowledgement came in (<c>api</c>, <c>link</c>, <c>telegram</c>...), or null.</summary>
    public string? AcknowledgedVia(long alertId)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT acknowledged_via FROM alerts WHERE id = $id");
            cmd.Parameters.AddWithValue("$id", alertId);
            return cmd.ExecuteScalar() as string;
        }
    }

    /// <summary>Marks an acknowledgement link's nonce used; false when it already was (a link works once).</summary>
    public bool UseLink(string nonce, DateTimeOffset at)
    {
        lock (_gate)
        {
            using var cmd = Command("INSERT OR IGNORE INTO ack_links (nonce, used_at_ms) VALUES ($nonce, $at)");
            cmd.Parameters.AddWithValue("$nonce", nonce);
            cmd.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    private static void MigrateToVersion2(SqliteConnection db, SqliteTransaction tx)
    {
        // created_at_ms and next_try_ms are the cloud's clock (people's time); at_ms is the event's time as the planner gave it.
        Execute(db, """
            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                alert_id INTEGER NOT NULL REFERENCES alerts (id),
                event_key TEXT NOT NULL,
                state TEXT NOT NULL,
                contact TEXT NOT NULL,
                language TEXT NOT NULL,
                channel TEXT NOT NULL,
                address TEXT NOT NULL,
                level INTEGER NOT NULL,
                value REAL,
                at_ms INTEGER NOT NULL,
                created_at_ms INTEGER NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_try_ms INTEGER NOT NULL,
                last_error TEXT,
                sent_at_ms INTEGER
            );
            CREATE UNIQUE INDEX outbox_once ON outbox (alert_id, event_key, contact, channel);
            CREATE INDEX outbox_due ON outbox (status, next_try_ms);
            CREATE TABLE ack_links (nonce TEXT PRIMARY KEY, used_at_ms INTEGER NOT NULL);
            ALTER TABLE alerts ADD COLUMN acknowledged_via TEXT;
            ALTER TABLE alerts ADD COLUMN shelved_until_ms INTEGER;
            ALTER TABLE alerts ADD COLUMN shelved_reason TEXT;
            ALTER TABLE alerts ADD COLUMN shelved_by TEXT;
            PRAGMA user_version = 2;
            """, tx);
    }

    /// <summary>Rows a crash left <c>sending</c> go back to pending: they are sent again, with the same idempotency key.</summary>
    private void RequeueInterrupted()
    {
        lock (_gate)
        {
            using var cmd = Command("UPDATE outbox SET status = 'pending' WHERE status = 'sending'");
            cmd.ExecuteNonQuery();
        }
    }

    private void EnqueueInTransaction(IReadOnlyList<Notice> notices)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var n in notices)
        {
            using var cmd = Command("""
                INSERT OR IGNORE INTO outbox (alert_id, event_key, state, contact, language, channel, address, level, value, at_ms,
                                              created_at_ms, status, attempts, next_try_ms)
                VALUES ($alert, $key, $state, $contact, $language, $channel, $address, $level, $value, $at, $now, 'pending', 0, $now)
                """);
            cmd.Parameters.AddWithValue("$alert", n.AlertId);
            cmd.Parameters.AddWithValue("$key", n.Key);
            cmd.Parameters.AddWithValue("$state", n.State);
            cmd.Parameters.AddWithValue("$contact", n.Contact);
            cmd.Parameters.AddWithValue("$language", n.Language);
            cmd.Parameters.AddWithValue("$channel", n.Channel);
            cmd.Parameters.AddWithValue("$address", n.Address);
            cmd.Parameters.AddWithValue("$level", n.Level);
            cmd.Parameters.AddWithValue("$value", (object?)n.Value ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$at", n.At.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$now", now);
            cmd.ExecuteNonQuery();
        }
    }

    private void SetOutcome(long id, string assignments, DateTimeOffset at, string? error)
    {
        lock (_gate)
        {
            using var cmd = Command($"UPDATE outbox SET {assignments} WHERE id = $id");
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            // An error is for people reading the API; a receiver's whole answer body is not.
            cmd.Parameters.AddWithValue("$error", error is null ? DBNull.Value : error.Length > 300 ? error[..300] : error);
            cmd.ExecuteNonQuery();
        }
    }

    private static List<OutboxItem> ReadOutbox(SqliteCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var items = new List<OutboxItem>();
        while (r.Read())
        {
            DateTimeOffset Time(int i) => DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i));
            items.Add(new OutboxItem(
                r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7),
                r.GetInt32(8), r.IsDBNull(9) ? null : r.GetDouble(9), Time(10), Time(11), r.GetString(12), r.GetInt32(13), Time(14),
                r.IsDBNull(15) ? null : r.GetString(15), r.IsDBNull(16) ? null : Time(16)));
        }

        return items;
    }
}
