using System.Globalization;
using System.Text;
using IoTPilots.Cloud.Notifications;
using IoTPilots.Rules;
using Microsoft.Data.Sqlite;

namespace IoTPilots.Cloud.Alerts;

/// <summary>Which alerts <see cref="AlertStore.List"/> returns, newest raised first.</summary>
/// <param name="State">One of <see cref="States"/>; <c>active</c> means open or acknowledged (not resolved).</param>
/// <param name="Since">Only alerts raised at or after this time.</param>
/// <param name="Sites">Only alerts of these sites (the caller's scope); null: every site.</param>
public sealed record AlertQuery(
    string State = "active",
    string? Pilot = null,
    string? Site = null,
    string? Device = null,
    Severity? Severity = null,
    DateTimeOffset? Since = null,
    int Limit = 100,
    IReadOnlyCollection<string>? Sites = null)
{
    public static IReadOnlyList<string> States { get; } = ["open", "acknowledged", "resolved", "active", "all"];
}

/// <summary>
/// Every alert's whole life in one SQLite file: what the rules engine raised, updated and resolved, and who
/// acknowledged it. At most one unresolved alert per rule, series and field (enforced by a partial unique index too).
/// </summary>
/// <remarks>
/// Times are Unix milliseconds, the precision of the edge's sampling times (root README, storage schema).
/// One connection behind a lock: alerts change a few times a minute, so contention is not a concern.
/// </remarks>
public sealed partial class AlertStore : IDisposable
{
    // 1: alerts. 2: the notification outbox, shelving, how an acknowledgement came in, used acknowledgement links.
    private const int SchemaVersion = 2;

    private const string InsertColumns = """
        rule_id, severity, pilot, site, gateway, device, field, since_ms, raised_at_ms, raised_value,
        last_value, worst_value, updated_at_ms, acknowledged_at_ms, acknowledged_by, note, resolved_at_ms,
        message_en, message_vi
        """;

    // The order ReadAll expects.
    private const string Columns = "id, " + InsertColumns;

    private const string OpenForRuleAndSeries = """
        rule_id = $rule AND pilot = $pilot AND site = $site AND gateway = $gateway AND device = $device AND field = $field
        AND resolved_at_ms IS NULL
        """;

    private readonly Lock _gate = new();
    private readonly SqliteConnection _db;
    private readonly TimeProvider _time;

    // The transaction in progress (under _gate), which every command must join (Microsoft.Data.Sqlite requires it).
    private SqliteTransaction? _tx;

    private AlertStore(SqliteConnection db, string filePath, TimeProvider time)
    {
        _db = db;
        _time = time;
        FilePath = filePath;
    }

    public string FilePath { get; }

    /// <summary>Opens (creating if missing) the alert database at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a SQLite database.</exception>
    /// <exception cref="InvalidOperationException">The file was written by a newer version of this service.</exception>
    public static AlertStore Open(string path, TimeProvider time) => SqliteFile.Open(path, "an alert database", (db, fullPath) =>
    {
        EnsureSchema(db, fullPath);
        EnsureLeaseTable(db);
        var store = new AlertStore(db, fullPath, time);
        store.RequeueInterrupted();
        return store;
    });

    /// <summary>Records what the rules engine decided; returns the alert it concerned, or null when there was none to update or resolve.</summary>
    public Alert? Apply(AlertEvent e) => Apply(e, null);

    /// <summary>
    /// As <see cref="Apply(AlertEvent)"/>, and in the same transaction puts the notifications <paramref name="plan"/>
    /// decides into the outbox: a crash cannot keep the alert and lose its notifications, or the reverse.
    /// </summary>
    public Alert? Apply(AlertEvent e, Func<Alert, AlertEvent, IReadOnlyList<Notice>>? plan)
    {
        ArgumentNullException.ThrowIfNull(e);
        lock (_gate)
        {
            return InTransaction(() =>
            {
                // A process that lost the rules lease stores nothing more (RulesLease.cs).
                if (!FenceHolds())
                {
                    return null;
                }

                var alert = ApplyInTransaction(e);
                if (alert is not null && plan is not null)
                {
                    EnqueueInTransaction(plan(alert, e));
                }

                return alert;
            });
        }
    }

    private Alert? ApplyInTransaction(AlertEvent e)
    {
        var open = FindOpen(e.RuleId, e.Series, e.Field);
        switch (e.Transition)
        {
            case AlertTransition.Raised when open is null:
                return Insert(e);
            case AlertTransition.Raised or AlertTransition.Updated when open is not null:
                // A second raise (e.g. the engine restarted without reloading) must not open a duplicate.
                Update(open.Id, """
                    last_value = $value, worst_value = coalesce($worst, worst_value), updated_at_ms = $at
                    """, e);
                return Get(open.Id);
            case AlertTransition.Resolved when open is not null:
                Update(open.Id, "last_value = $value, resolved_at_ms = $at", e);
                return Get(open.Id);
            default:
                return null;
        }
    }

    public Alert? Get(long id)
    {
        lock (_gate)
        {
            using var cmd = Command($"SELECT {Columns} FROM alerts WHERE id = $id");
            cmd.Parameters.AddWithValue("$id", id);
            return ReadAll(cmd).SingleOrDefault();
        }
    }

    public IReadOnlyList<Alert> List(AlertQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(query.Limit);
        var where = new StringBuilder(query.State switch
        {
            "open" => "resolved_at_ms IS NULL AND acknowledged_at_ms IS NULL",
            "acknowledged" => "resolved_at_ms IS NULL AND acknowledged_at_ms IS NOT NULL",
            "resolved" => "resolved_at_ms IS NOT NULL",
            "active" => "resolved_at_ms IS NULL",
            "all" => "1 = 1",
            _ => throw new ArgumentException($"state '{query.State}' is not one of {string.Join(", ", AlertQuery.States)}", nameof(query)),
        });
        lock (_gate)
        {
            using var cmd = Command("");
            void Filter(string column, object? value)
            {
                if (value is not null)
                {
                    where.Append(CultureInfo.InvariantCulture, $" AND {column} = ${column}");
                    cmd.Parameters.AddWithValue($"${column}", value);
                }
            }

            Filter("pilot", query.Pilot);
            Filter("site", query.Site);
            Filter("device", query.Device);
            Filter("severity", query.Severity is { } s ? SeverityText.Of(s) : null);
            if (query.Sites is { } sites)
            {
                // Filtered in SQL, not after: a scoped caller's limit counts their own alerts.
                var names = sites.Select((site, i) =>
                {
                    cmd.Parameters.AddWithValue($"$scope{i}", site);
                    return $"$scope{i}";
                });
                where.Append(CultureInfo.InvariantCulture, $" AND site IN ({string.Join(", ", names.DefaultIfEmpty("NULL"))})");
            }

            if (query.Since is { } since)
            {
                where.Append(" AND raised_at_ms >= $since");
                cmd.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
            }

            cmd.CommandText = $"SELECT {Columns} FROM alerts WHERE {where} ORDER BY raised_at_ms DESC, id DESC LIMIT $limit";
            cmd.Parameters.AddWithValue("$limit", query.Limit);
            return ReadAll(cmd);
        }
    }

    /// <summary>Every alert not yet resolved, oldest first: what the rules engine must be able to resolve after a restart.</summary>
    public IReadOnlyList<Alert> Unresolved()
    {
        lock (_gate)
        {
            using var cmd = Command($"SELECT {Columns} FROM alerts WHERE resolved_at_ms IS NULL ORDER BY id");
            return ReadAll(cmd);
        }
    }

    /// <summary>A person takes the alert. Allowed after it resolved: a late acknowledgement still counts for time-to-acknowledge.</summary>
    /// <exception cref="KeyNotFoundException">No alert has this id.</exception>
    /// <exception cref="InvalidOperationException">Someone already acknowledged it; the message says who and when.</exception>
    public Alert Acknowledge(long id, string by, string? note, DateTimeOffset at) => Acknowledge(id, by, note, at, "api", null);

    /// <summary>As <see cref="Acknowledge(long, string, string?, DateTimeOffset)"/>, recording the channel it came through
    /// (<c>api</c>, <c>console</c>, <c>link</c>, <c>telegram</c>) and queuing what <paramref name="plan"/> decides, in one transaction.</summary>
    public Alert Acknowledge(long id, string by, string? note, DateTimeOffset at, string via, Func<Alert, IReadOnlyList<Notice>>? plan)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        lock (_gate)
        {
            return InTransaction(() =>
            {
                var alert = AcknowledgeInTransaction(id, by, note, at, via);
                if (plan is not null)
                {
                    EnqueueInTransaction(plan(alert));
                }

                return alert;
            });
        }
    }

    private Alert AcknowledgeInTransaction(long id, string by, string? note, DateTimeOffset at, string via)
    {
        var alert = Get(id) ?? throw new KeyNotFoundException($"alert {id} does not exist");
        if (alert.AcknowledgedAt is { } when)
        {
            throw new InvalidOperationException(
                $"alert {id} was already acknowledged by {alert.AcknowledgedBy} at {when.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}");
        }

        using var cmd = Command("""
            UPDATE alerts SET acknowledged_at_ms = $at, acknowledged_by = $by, acknowledged_via = $via, note = $note,
                written_at_ms = $written
            WHERE id = $id
            """);
        cmd.Parameters.AddWithValue("$via", via);
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$by", by);
        cmd.Parameters.AddWithValue("$note", (object?)note ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$written", _time.GetUtcNow().ToUnixTimeMilliseconds());
        cmd.ExecuteNonQuery();
        return Get(id)!;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _db.Dispose();
        }
    }

    private static void EnsureSchema(SqliteConnection db, string path)
    {
        // Read and made under SQLite's write lock (BEGIN IMMEDIATE): cloud processes that open a new database at the
        // same moment (workers started together) make it once; the others wait, then find it made. Read outside the
        // lock, both saw version 0 and the second failed with "table alerts already exists".
        using var tx = db.BeginTransaction(deferred: false);
        using var version = db.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        version.Transaction = tx;
        var found = Convert.ToInt32(version.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (found > SchemaVersion)
        {
            throw new InvalidOperationException(
                $"{path} has alert schema version {found}, newer than this service's {SchemaVersion}: run a newer cloud service or restore a backup");
        }

        if (found == 0)
        {
            CreateVersion1(db, tx);
        }

        if (found < SchemaVersion)
        {
            MigrateToVersion2(db, tx);
        }

        tx.Commit();
    }

    private static void CreateVersion1(SqliteConnection db, SqliteTransaction tx)
    {
        // written_at_ms is the cloud's clock when a row last changed; the other times are the edge's sampling
        // times, which lag behind after a link outage. It is kept for diagnosis and not exposed.
        Execute(db, $"""
            CREATE TABLE alerts (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                rule_id TEXT NOT NULL,
                severity TEXT NOT NULL,
                pilot TEXT NOT NULL,
                site TEXT NOT NULL,
                gateway TEXT NOT NULL,
                device TEXT NOT NULL,
                field TEXT NOT NULL,
                since_ms INTEGER NOT NULL,
                raised_at_ms INTEGER NOT NULL,
                raised_value REAL,
                last_value REAL,
                worst_value REAL,
                updated_at_ms INTEGER NOT NULL,
                acknowledged_at_ms INTEGER,
                acknowledged_by TEXT,
                note TEXT,
                resolved_at_ms INTEGER,
                message_en TEXT NOT NULL,
                message_vi TEXT NOT NULL,
                written_at_ms INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX alerts_one_open_per_rule_and_series
                ON alerts (rule_id, pilot, site, gateway, device, field) WHERE resolved_at_ms IS NULL;
            CREATE INDEX alerts_by_raised_at ON alerts (raised_at_ms);
            PRAGMA user_version = 1;
            """, tx);
    }

    private static void Execute(SqliteConnection db, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql)
    {
        var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = _tx;
        return cmd;
    }

    /// <summary>Runs <paramref name="work"/> in one transaction (under <see cref="_gate"/>); nested calls join the outer one.</summary>
    private T InTransaction<T>(Func<T> work)
    {
        if (_tx is not null)
        {
            return work();
        }

        using var tx = _db.BeginTransaction();
        _tx = tx;
        try
        {
            var result = work();
            tx.Commit();
            return result;
        }
        finally
        {
            _tx = null;
        }
    }

    private Alert? FindOpen(string ruleId, SeriesKey series, string field)
    {
        using var cmd = Command($"SELECT {Columns} FROM alerts WHERE {OpenForRuleAndSeries}");
        AddRuleAndSeries(cmd, ruleId, series, field);
        return ReadAll(cmd).SingleOrDefault();
    }

    private Alert Insert(AlertEvent e)
    {
        using var cmd = Command($"""
            INSERT INTO alerts ({InsertColumns}, written_at_ms)
            VALUES ($rule, $severity, $pilot, $site, $gateway, $device, $field, $since, $at, $value,
                    $value, coalesce($worst, $value), $at, NULL, NULL, NULL, NULL, $en, $vi, $written)
            RETURNING {Columns}
            """);
        AddRuleAndSeries(cmd, e.RuleId, e.Series, e.Field);
        AddEventValues(cmd, e);
        cmd.Parameters.AddWithValue("$severity", SeverityText.Of(e.Severity));
        cmd.Parameters.AddWithValue("$since", e.Since.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$en", e.Message.En);
        cmd.Parameters.AddWithValue("$vi", e.Message.Vi);
        return ReadAll(cmd).Single();
    }

    private void Update(long id, string assignments, AlertEvent e)
    {
        using var cmd = Command($"UPDATE alerts SET {assignments}, written_at_ms = $written WHERE id = $id");
        cmd.Parameters.AddWithValue("$id", id);
        AddEventValues(cmd, e);
        cmd.ExecuteNonQuery();
    }

    private static void AddRuleAndSeries(SqliteCommand cmd, string ruleId, SeriesKey series, string field)
    {
        cmd.Parameters.AddWithValue("$rule", ruleId);
        cmd.Parameters.AddWithValue("$field", field);
        cmd.Parameters.AddWithValue("$pilot", series.Pilot);
        cmd.Parameters.AddWithValue("$site", series.Site);
        cmd.Parameters.AddWithValue("$gateway", series.Gateway);
        cmd.Parameters.AddWithValue("$device", series.Device);
    }

    private void AddEventValues(SqliteCommand cmd, AlertEvent e)
    {
        cmd.Parameters.AddWithValue("$at", e.At.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$value", (object?)e.Value ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$worst", (object?)e.Worst ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$written", _time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    private static List<Alert> ReadAll(SqliteCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var alerts = new List<Alert>();
        while (r.Read())
        {
            double? Number(int i) => r.IsDBNull(i) ? null : r.GetDouble(i);
            DateTimeOffset? Time(int i) => r.IsDBNull(i) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i));
            string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
            alerts.Add(new Alert(
                Id: r.GetInt64(0),
                RuleId: r.GetString(1),
                Severity: SeverityText.Parse(r.GetString(2)),
                Series: new SeriesKey(r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6)),
                Field: r.GetString(7),
                Since: Time(8)!.Value,
                RaisedAt: Time(9)!.Value,
                RaisedValue: Number(10),
                LastValue: Number(11),
                WorstValue: Number(12),
                UpdatedAt: Time(13)!.Value,
                AcknowledgedAt: Time(14),
                AcknowledgedBy: Text(15),
                Note: Text(16),
                ResolvedAt: Time(17),
                Message: new LocalizedText(r.GetString(18), r.GetString(19))));
        }

        return alerts;
    }
}

/// <summary>Severity as stored and as the API shows it: lowercase English.</summary>
internal static class SeverityText
{
    public static IReadOnlyList<string> Names { get; } = Enum.GetValues<Severity>().Select(Of).ToArray();

    public static string Of(Severity severity) => severity.ToString().ToLowerInvariant();

    public static Severity Parse(string text) => TryParse(text, out var severity)
        ? severity
        : throw new FormatException($"'{text}' is not one of {string.Join(", ", Names)}");

    /// <summary>Names only: unlike <see cref="Enum.TryParse{TEnum}(string, bool, out TEnum)"/>, "1" is not a severity.</summary>
    public static bool TryParse(string text, out Severity severity)
    {
        foreach (var candidate in Enum.GetValues<Severity>())
        {
            if (string.Equals(Of(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                severity = candidate;
                return true;
            }
        }

        severity = default;
        return false;
    }
}
