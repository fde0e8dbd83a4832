using System.Globalization;
using Microsoft.AspNetCore.Identity;
using Microsoft.Data.Sqlite;

namespace IoTPilots.Cloud.Access;

/// <summary>A person who logs in to the console. <see cref="Stamp"/> changes when the password is reset or the user disabled, ending their sessions.</summary>
public sealed record User(string Name, Role Role, SiteScope Sites, bool Disabled, string Stamp, DateTimeOffset CreatedAt);

/// <summary>A machine's key, by the name it was given; the key itself is never stored, only its SHA-256.</summary>
public sealed record ApiKey(string Name, Role Role, SiteScope Sites, string Hint, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>
/// Users and API keys in their own SQLite file (<c>PILOTS_USERS_DB</c>, default <c>users.db</c> next to the alert
/// store): the alert store can be copied off for reports and analysis without its passwords, and the users survive
/// a reset of the alerts. Passwords are PBKDF2 hashes made by ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/>
/// (format v3: PBKDF2-HMAC-SHA512, 100,000 iterations, 128-bit salt); keys are SHA-256 (<see cref="ApiKeys"/>).
/// </summary>
public sealed class UserStore : IDisposable
{
    private const int SchemaVersion = 1;

    private static readonly PasswordHasher<string> Hasher = new();

    private readonly Lock _gate = new();
    private readonly SqliteConnection _db;
    private readonly TimeProvider _time;

    private UserStore(SqliteConnection db, string path, TimeProvider time)
    {
        _db = db;
        _time = time;
        FilePath = path;
    }

    public string FilePath { get; }

    /// <exception cref="InvalidDataException">The file is not a users database.</exception>
    /// <exception cref="InvalidOperationException">The file was written by a newer version of this service.</exception>
    public static UserStore Open(string path, TimeProvider time) => SqliteFile.Open(path, "a users database", (db, fullPath) =>
    {
        EnsureSchema(db, fullPath);
        return new UserStore(db, fullPath, time);
    });

    /// <exception cref="InvalidOperationException">A user of that name exists.</exception>
    public User AddUser(string name, Role role, SiteScope sites, string password)
    {
        lock (_gate)
        {
            if (FindUser(name) is not null)
            {
                throw new InvalidOperationException($"user '{name}' exists already; use reset to give them a new password");
            }

            Run("""
                INSERT INTO users (name, password_hash, role, sites, disabled, stamp, created_at_ms)
                VALUES ($name, $hash, $role, $sites, 0, $stamp, $now)
                """,
                ("$name", name), ("$hash", Hasher.HashPassword(name, password)), ("$role", RoleText.Of(role)),
                ("$sites", sites.ToString()), ("$stamp", NewStamp()), ("$now", Now()));
            return FindUser(name)!;
        }
    }

    /// <summary>A new password; re-enables a disabled user, and ends their sessions.</summary>
    /// <exception cref="KeyNotFoundException">No such user.</exception>
    public User ResetPassword(string name, string password) =>
        Change(name, "password_hash = $hash, disabled = 0", ("$hash", Hasher.HashPassword(name, password)));

    /// <summary>The user can no longer log in, and their open sessions end at their next request.</summary>
    /// <exception cref="KeyNotFoundException">No such user.</exception>
    public User Disable(string name) => Change(name, "disabled = 1");

    /// <exception cref="KeyNotFoundException">No such user.</exception>
    public User Enable(string name) => Change(name, "disabled = 0");

    public IReadOnlyList<User> Users()
    {
        lock (_gate)
        {
            return Query($"SELECT {UserColumns} FROM users ORDER BY name", ReadUser);
        }
    }

    public User? FindUser(string name)
    {
        lock (_gate)
        {
            return Query($"SELECT {UserColumns} FROM users WHERE name = $name", ReadUser, ("$name", name)).SingleOrDefault();
        }
    }

    /// <summary>The user, when the name exists, is enabled and the password is theirs; else null (the same for every reason).</summary>
    public User? CheckPassword(string name, string password)
    {
        string? hash;
        User? user;
        lock (_gate)
        {
            user = FindUser(name);
            hash = user is null ? null : Query("SELECT password_hash FROM users WHERE name = $name", r => r.GetString(0), ("$name", name)).Single();
        }

        if (user is null || hash is null)
        {
            // The same work as a real check, so the answer's time does not tell which names exist.
            Hasher.VerifyHashedPassword(name, DummyHash.Value, password);
            return null;
        }

        var result = Hasher.VerifyHashedPassword(name, hash, password);
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
        {
            lock (_gate)
            {
                Run("UPDATE users SET password_hash = $hash WHERE name = $name", ("$hash", Hasher.HashPassword(name, password)), ("$name", name));
            }
        }

        return result == PasswordVerificationResult.Failed || user.Disabled ? null : user;
    }

    /// <summary>Makes a key; returns its text, shown once and never stored.</summary>
    /// <exception cref="InvalidOperationException">A key of that name exists (revoked ones too: names stay unique in the record).</exception>
    public string AddKey(string name, Role role, SiteScope sites)
    {
        var key = ApiKeys.Generate();
        lock (_gate)
        {
            if (Query("SELECT 1 FROM api_keys WHERE name = $name", r => 1, ("$name", name)).Count > 0)
            {
                throw new InvalidOperationException($"key '{name}' exists already; revoke it and add one under another name");
            }

            Run("""
                INSERT INTO api_keys (name, key_hash, hint, role, sites, created_at_ms) VALUES ($name, $hash, $hint, $role, $sites, $now)
                """,
                ("$name", name), ("$hash", ApiKeys.Hash(key)), ("$hint", key[..(ApiKeys.Prefix.Length + 4)] + "…"),
                ("$role", RoleText.Of(role)), ("$sites", sites.ToString()), ("$now", Now()));
        }

        return key;
    }

    /// <exception cref="KeyNotFoundException">No key of that name, or it is revoked already.</exception>
    public void RevokeKey(string name)
    {
        lock (_gate)
        {
            if (Run("UPDATE api_keys SET revoked_at_ms = $now WHERE name = $name AND revoked_at_ms IS NULL", ("$now", Now()), ("$name", name)) == 0)
            {
                throw new KeyNotFoundException($"no key '{name}' that is not revoked already");
            }
        }
    }

    public IReadOnlyList<ApiKey> Keys()
    {
        lock (_gate)
        {
            return Query($"SELECT {KeyColumns} FROM api_keys ORDER BY name", ReadKey);
        }
    }

    /// <summary>The key whose text is <paramref name="key"/>, unless it is revoked or malformed.</summary>
    public ApiKey? FindKey(string key)
    {
        if (!ApiKeys.IsWellFormed(key))
        {
            return null;
        }

        lock (_gate)
        {
            return Query($"SELECT {KeyColumns} FROM api_keys WHERE key_hash = $hash AND revoked_at_ms IS NULL", ReadKey, ("$hash", ApiKeys.Hash(key))).SingleOrDefault();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _db.Dispose();
        }
    }

    private const string UserColumns = "name, role, sites, disabled, stamp, created_at_ms";
    private const string KeyColumns = "name, role, sites, hint, created_at_ms, revoked_at_ms";

    // A hash of nothing anyone can type, to check against when the name does not exist.
    private static readonly Lazy<string> DummyHash = new(() => Hasher.HashPassword("", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))));

    private User Change(string name, string assignments, params (string Name, object Value)[] values)
    {
        lock (_gate)
        {
            if (Run($"UPDATE users SET {assignments}, stamp = $stamp WHERE name = $name", [("$stamp", NewStamp()), ("$name", name), .. values]) == 0)
            {
                throw new KeyNotFoundException($"no user '{name}'");
            }

            return FindUser(name)!;
        }
    }

    private static User ReadUser(SqliteDataReader r) => new(
        r.GetString(0), RoleText.Parse(r.GetString(1), "role"), SiteScope.Parse(r.GetString(2), "sites"), r.GetInt64(3) != 0, r.GetString(4),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)));

    private static ApiKey ReadKey(SqliteDataReader r) => new(
        r.GetString(0), RoleText.Parse(r.GetString(1), "role"), SiteScope.Parse(r.GetString(2), "sites"), r.GetString(3),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)), r.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)));

    private static string NewStamp() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private int Run(string sql, params (string Name, object Value)[] values)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in values)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        return cmd.ExecuteNonQuery();
    }

    private List<T> Query<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object Value)[] values)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in values)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        using var r = cmd.ExecuteReader();
        var rows = new List<T>();
        while (r.Read())
        {
            rows.Add(read(r));
        }

        return rows;
    }

    private static void EnsureSchema(SqliteConnection db, string path)
    {
        using var version = db.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        var found = Convert.ToInt32(version.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (found > SchemaVersion)
        {
            throw new InvalidOperationException($"{path} has users schema version {found}, newer than this service's {SchemaVersion}: run a newer cloud service or restore a backup");
        }

        if (found == SchemaVersion)
        {
            return;
        }

        using var tx = db.BeginTransaction();
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            CREATE TABLE users (
                name TEXT PRIMARY KEY COLLATE NOCASE,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                sites TEXT NOT NULL,
                disabled INTEGER NOT NULL,
                stamp TEXT NOT NULL,
                created_at_ms INTEGER NOT NULL
            );
            CREATE TABLE api_keys (
                name TEXT PRIMARY KEY COLLATE NOCASE,
                key_hash TEXT NOT NULL UNIQUE,
                hint TEXT NOT NULL,
                role TEXT NOT NULL,
                sites TEXT NOT NULL,
                created_at_ms INTEGER NOT NULL,
                revoked_at_ms INTEGER
            );
            PRAGMA user_version = 1;
            """;
        cmd.ExecuteNonQuery();
        tx.Commit();
    }
}
