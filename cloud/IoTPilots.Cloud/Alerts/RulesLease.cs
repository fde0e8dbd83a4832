using IoTPilots.Cloud.Ingestion;
using Microsoft.Data.Sqlite;

namespace IoTPilots.Cloud.Alerts;

/// <summary>
/// The rules lease in the alert store (issue 14 part 8): a row per lease with its holder and expiry, taken or renewed
/// by one conditional upsert in a write transaction, and a fence that refuses alert events from a process that does
/// not hold the lease, checked in the transaction that would store them.
/// </summary>
/// <remarks>
/// Why the alert store and not the broker: the alert store is what the two processes must agree on (one open alert
/// per rule and series), and SQLite gives the compare-and-set a lease needs, serialised with the alert writes
/// themselves, so a process that lost the lease cannot slip one more alert in. MQTT has no conditional publish: two
/// standbys that both see an expired retained lease would both claim it, and nothing ties the claim to the writes.
/// The table lives outside the schema version (<c>CREATE TABLE IF NOT EXISTS</c>): an older cloud opens the file as
/// before and ignores it.
/// </remarks>
public sealed partial class AlertStore : ILeaseStore
{
    // Set in the rules process only: alert events are stored only while this holder holds this lease.
    private (string Lease, string Holder)? _fence;

    /// <summary>The rules lease of the process whose ingestion is <paramref name="ingestion"/>; alert events it stores are fenced by it.</summary>
    /// <remarks>
    /// The holder is the ingestion worker's identity (<c>group/worker@host</c>), which must already be unique among the
    /// broker's clients (its MQTT client id is <c>cloud-{group}-{worker}</c>): a worker restarted after a crash takes its
    /// own lease back at once instead of waiting for it to run out.
    /// </remarks>
    public static RulesLeadership Leadership(AlertStore store, IngestionOptions ingestion, TimeProvider time, ILogger<RulesLeadership> logger)
    {
        var holder = $"{ingestion.Group}/{ingestion.Worker}@{Environment.MachineName}";
        store.FenceAlertEvents(LeaseOptions.Rules.Name, holder);
        return new RulesLeadership(store, holder, LeaseOptions.Rules, time, logger);
    }

    /// <summary>From now on, <see cref="Apply(IoTPilots.Rules.AlertEvent, Func{IoTPilots.Rules.Alert, IoTPilots.Rules.AlertEvent, IReadOnlyList{Notifications.Notice}}?)"/> stores nothing (returns null) unless <paramref name="holder"/> holds <paramref name="lease"/>.</summary>
    public void FenceAlertEvents(string lease, string holder)
    {
        lock (_gate)
        {
            _fence = (lease, holder);
        }
    }

    public LeaseHolder TryTake(string name, string holder, DateTimeOffset now, DateTimeOffset until)
    {
        lock (_gate)
        {
            return Leased(() => InTransaction(() =>
            {
                // The brief's "UPDATE ... WHERE holder = me OR expired", as an upsert so that the first taker needs no
                // row made beforehand. since_ms is when the current holder's unbroken term began (kept on renewal).
                using var take = Command("""
                    INSERT INTO leases (name, holder, expires_ms, since_ms) VALUES ($name, $holder, $until, $now)
                    ON CONFLICT (name) DO UPDATE SET
                        holder = excluded.holder,
                        expires_ms = excluded.expires_ms,
                        since_ms = CASE WHEN leases.holder = excluded.holder AND leases.expires_ms > excluded.since_ms THEN leases.since_ms ELSE excluded.since_ms END
                    WHERE leases.holder = excluded.holder OR leases.expires_ms <= excluded.since_ms
                    """);
                take.Parameters.AddWithValue("$name", name);
                take.Parameters.AddWithValue("$holder", holder);
                take.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
                take.Parameters.AddWithValue("$until", until.ToUnixTimeMilliseconds());
                take.ExecuteNonQuery();

                using var read = Command("SELECT holder, expires_ms FROM leases WHERE name = $name");
                read.Parameters.AddWithValue("$name", name);
                using var r = read.ExecuteReader();
                r.Read();
                return new LeaseHolder(r.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)));
            }));
        }
    }

    public void Release(string name, string holder)
    {
        lock (_gate)
        {
            Leased(() =>
            {
                using var cmd = Command("UPDATE leases SET expires_ms = 0 WHERE name = $name AND holder = $holder");
                cmd.Parameters.AddWithValue("$name", name);
                cmd.Parameters.AddWithValue("$holder", holder);
                return cmd.ExecuteNonQuery();
            });
        }
    }

    /// <summary>Whether the fence, if any, lets an alert event through: in the caller's transaction, under <see cref="_gate"/>.</summary>
    private bool FenceHolds()
    {
        if (_fence is not { } fence)
        {
            return true;
        }

        // Only the holder, not the expiry: a leader whose renewal is late but not yet overtaken still stores, and the
        // takeover (a change of holder in this same file) is what ends its right to, atomically.
        using var cmd = Command("SELECT 1 FROM leases WHERE name = $name AND holder = $holder");
        cmd.Parameters.AddWithValue("$name", fence.Lease);
        cmd.Parameters.AddWithValue("$holder", fence.Holder);
        return cmd.ExecuteScalar() is not null;
    }

    private static void EnsureLeaseTable(SqliteConnection db) => Execute(db, """
        CREATE TABLE IF NOT EXISTS leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_ms INTEGER NOT NULL,
            since_ms INTEGER NOT NULL
        )
        """);

    private T Leased<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (SqliteException ex)
        {
            throw new LeaseUnavailableException($"{FilePath}: {ex.Message}", ex);
        }
    }
}
