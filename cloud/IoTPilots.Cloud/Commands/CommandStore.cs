using System.Globalization;
using IoTPilots.Contract;
using Microsoft.Data.Sqlite;

namespace IoTPilots.Cloud.Commands;

/// <summary>Where a command stands, as the cloud knows it.</summary>
public static class CommandStates
{
    /// <summary>The broker took it for the gateway; no answer yet.</summary>
    public const string Sent = "sent";

    /// <summary>The broker had no subscriber for it: the gateway has never subscribed (or its session is gone).</summary>
    public const string Undelivered = "undelivered";

    /// <summary>The broker did not take it (down, or refused it).</summary>
    public const string NotSent = "not-sent";
}

/// <summary>One command and its answer: the <see cref="CommandMessage"/> fields, its state (a <see cref="CommandStates"/>
/// value, or the gateway's outcome done/refused/failed) and what the gateway said.</summary>
public sealed record CommandRecord(
    string Id,
    string Site,
    string Gateway,
    string Device,
    string Point,
    double Value,
    string IssuedBy,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string State,
    string? Reason,
    string? Detail,
    double? ReadBack,
    DateTimeOffset? AnsweredAt,
    long? AlertId = null);

/// <summary>
/// Every command the cloud issued and every answer a gateway gave (also to commands it issued itself, such as a
/// max-run switch-off), in SQLite beside the alert database (<c>commands.db</c>, or <c>PILOTS_COMMANDS_DB</c>).
/// The record the console, the alert history and the report read. Thread-safe.
/// </summary>
public sealed class CommandStore : IDisposable
{
    private const int SchemaVersion = 1;
    private readonly Lock _gate = new();
    private readonly SqliteConnection _db;

    private CommandStore(SqliteConnection db, string path)
    {
        _db = db;
        FilePath = path;
    }

    public string FilePath { get; }

    public static CommandStore Open(string path) => SqliteFile.Open(path, "a commands database", (db, fullPath) =>
    {
        using var version = db.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        var found = Convert.ToInt32(version.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (found > SchemaVersion)
        {
            throw new InvalidOperationException($"{fullPath} has commands schema version {found}, newer than this service's {SchemaVersion}: run a newer cloud service");
        }

        if (found < SchemaVersion)
        {
            using var create = db.CreateCommand();
            create.CommandText = """
                CREATE TABLE IF NOT EXISTS commands (
                    id TEXT PRIMARY KEY,
                    site TEXT NOT NULL,
                    gateway TEXT NOT NULL,
                    device TEXT NOT NULL,
                    point TEXT NOT NULL,
                    value REAL NOT NULL,
                    issued_by TEXT NOT NULL,
                    issued_at_ms INTEGER NOT NULL,
                    expires_at_ms INTEGER NOT NULL,
                    state TEXT NOT NULL,
                    reason TEXT,
                    detail TEXT,
                    read_back REAL,
                    answered_at_ms INTEGER,
                    alert_id INTEGER
                );
                CREATE INDEX IF NOT EXISTS commands_by_alert ON commands (alert_id) WHERE alert_id IS NOT NULL;
                CREATE INDEX IF NOT EXISTS commands_by_issued_at ON commands (issued_at_ms);
                PRAGMA user_version = 1;
                """;
            create.ExecuteNonQuery();
        }

        return new CommandStore(db, fullPath);
    });

    /// <summary>Records a command the cloud issued, in <paramref name="state"/>; <paramref name="alertId"/> when a rule's action sent it for that alert.</summary>
    public void Issued(CommandMessage c, string state, long? alertId = null)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = """
                INSERT INTO commands (id, site, gateway, device, point, value, issued_by, issued_at_ms, expires_at_ms, state, alert_id)
                VALUES ($id, $site, $gateway, $device, $point, $value, $by, $at, $expires, $state, $alert)
                ON CONFLICT (id) DO UPDATE SET state = excluded.state WHERE commands.answered_at_ms IS NULL
                """;
            Bind(cmd, c.Id, c.Site, c.Gateway, c.Device, c.Point, c.Value, c.IssuedBy, c.IssuedAt, c.ExpiresAt, state);
            cmd.Parameters.AddWithValue("$alert", alertId is { } a ? a : DBNull.Value);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Records a gateway's answer. A result for a command the cloud did not issue (the gateway's own max-run
    /// switch-off, or one issued by another cloud process) is kept too, with what the result says of it.
    /// </summary>
    public void Answered(CommandResult r)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = """
                INSERT INTO commands (id, site, gateway, device, point, value, issued_by, issued_at_ms, expires_at_ms, state, reason, detail, read_back, answered_at_ms)
                VALUES ($id, $site, $gateway, $device, $point, $value, $by, $answered, $answered, $state, $reason, $detail, $readBack, $answered)
                ON CONFLICT (id) DO UPDATE SET state = excluded.state, reason = excluded.reason, detail = excluded.detail,
                    read_back = excluded.read_back, answered_at_ms = excluded.answered_at_ms
                """;
            cmd.Parameters.AddWithValue("$id", r.Id);
            cmd.Parameters.AddWithValue("$site", r.Site);
            cmd.Parameters.AddWithValue("$gateway", r.Gateway);
            cmd.Parameters.AddWithValue("$answered", r.At.ToUnixTimeMilliseconds());
            // What the result says of a command this cloud did not issue (the gateway's own max-run switch-off).
            cmd.Parameters.AddWithValue("$device", r.Device ?? "");
            cmd.Parameters.AddWithValue("$point", r.Point ?? "");
            cmd.Parameters.AddWithValue("$value", r.Value ?? 0);
            cmd.Parameters.AddWithValue("$by", r.IssuedBy ?? "");
            cmd.Parameters.AddWithValue("$state", r.Outcome.ToString().ToLowerInvariant());
            cmd.Parameters.AddWithValue("$reason", r.Reason);
            cmd.Parameters.AddWithValue("$detail", r.Detail);
            cmd.Parameters.AddWithValue("$readBack", r.ReadBack is { } v ? v : DBNull.Value);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>The actions rules took for one alert, oldest first.</summary>
    public IReadOnlyList<CommandRecord> ForAlert(long alertId) =>
        [.. Query("WHERE alert_id = $alert", c => c.Parameters.AddWithValue("$alert", alertId), 100).OrderBy(r => r.IssuedAt)];

    public CommandRecord? Get(string id) => Query("WHERE id = $id", c => c.Parameters.AddWithValue("$id", id), 1).SingleOrDefault();

    /// <summary>The newest commands first, of <paramref name="sites"/> only when given.</summary>
    public IReadOnlyList<CommandRecord> List(int limit, IReadOnlyCollection<string>? sites) =>
        sites is null
            ? Query("", _ => { }, limit)
            : Query($"WHERE site IN ({string.Join(", ", sites.Select((_, i) => $"$s{i}"))})", c =>
            {
                var i = 0;
                foreach (var site in sites)
                {
                    c.Parameters.AddWithValue($"$s{i++}", site);
                }
            }, limit);

    public void Dispose() => _db.Dispose();

    private List<CommandRecord> Query(string where, Action<SqliteCommand> bind, int limit)
    {
        lock (_gate)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = $"SELECT id, site, gateway, device, point, value, issued_by, issued_at_ms, expires_at_ms, state, reason, detail, read_back, answered_at_ms, alert_id FROM commands {where} ORDER BY issued_at_ms DESC, id LIMIT $limit";
            bind(cmd);
            cmd.Parameters.AddWithValue("$limit", limit);
            using var reader = cmd.ExecuteReader();
            var records = new List<CommandRecord>();
            while (reader.Read())
            {
                records.Add(new CommandRecord(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetString(2),
                    reader.GetString(3),
                    reader.GetString(4),
                    reader.GetDouble(5),
                    reader.GetString(6),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
                    reader.GetString(9),
                    reader.IsDBNull(10) ? null : reader.GetString(10),
                    reader.IsDBNull(11) ? null : reader.GetString(11),
                    reader.IsDBNull(12) ? null : reader.GetDouble(12),
                    reader.IsDBNull(13) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(13)),
                    reader.IsDBNull(14) ? null : reader.GetInt64(14)));
            }

            return records;
        }
    }

    private static void Bind(SqliteCommand cmd, string id, string site, string gateway, string device, string point, double value, string by, DateTimeOffset at, DateTimeOffset expires, string state)
    {
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$site", site);
        cmd.Parameters.AddWithValue("$gateway", gateway);
        cmd.Parameters.AddWithValue("$device", device);
        cmd.Parameters.AddWithValue("$point", point);
        cmd.Parameters.AddWithValue("$value", value);
        cmd.Parameters.AddWithValue("$by", by);
        cmd.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$expires", expires.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$state", state);
    }
}
