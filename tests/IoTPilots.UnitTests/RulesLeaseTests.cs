using IoTPilots.Cloud.Alerts;
using IoTPilots.Rules;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests;

/// <summary>
/// The standby rules engine's lease (issue 14 part 8): <see cref="RulesLeadership"/> over an in-memory store with the
/// store's contract, each process on a fake clock of its own (a paused process is a clock that does not move), and the
/// SQLite adapter (<see cref="AlertStore"/>, Alerts/RulesLease.cs) with two connections on one file, as two processes have.
/// </summary>
public sealed class RulesLeaseTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly LeaseOptions Options = LeaseOptions.Rules;
    private readonly FakeLeaseStore _store = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-lease-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>One cloud process: its own clock (a paused process is a clock that stands still) and its leadership.</summary>
    private sealed class Candidate
    {
        private readonly FakeLeaseStore _store;

        public Candidate(FakeLeaseStore store, string holder)
        {
            _store = store;
            Holder = holder;
            Leadership = new RulesLeadership(store, holder, Options, Clock, NullLogger<RulesLeadership>.Instance);
        }

        public string Holder { get; }

        public FakeTimeProvider Clock { get; } = new(Start);

        public RulesLeadership Leadership { get; }

        /// <summary>Moves this process's clock by <paramref name="span"/> and waits until it has made the request that fell due.</summary>
        public async Task AdvanceAsync(TimeSpan span)
        {
            var asked = _store.AskedBy(Holder);
            Clock.Advance(span);
            await Until(() => _store.AskedBy(Holder) > asked, $"{Holder} to ask for the lease");
        }
    }

    private Candidate Process(string holder) => new(_store, holder);

    /// <summary>a takes the free lease; b starts waiting for it (until <paramref name="stopB"/>).</summary>
    private async Task<(Candidate A, Candidate B, LeaderTerm ATerm, Task<LeaderTerm> BWaiting)> LeaderAndStandbyAsync(CancellationToken stopB = default)
    {
        var a = Process("g/1@a");
        var b = Process("g/2@b");
        var aTerm = await a.Leadership.WaitUntilLeaderAsync(CancellationToken.None);
        return (a, b, aTerm, b.Leadership.WaitUntilLeaderAsync(stopB));
    }

    /// <summary>Runs <paramref name="b"/>'s clock, request by request, until its wait for the lease ends.</summary>
    private static async Task<LeaderTerm> TakeOverAsync(Candidate b, Task<LeaderTerm> waiting)
    {
        while (!waiting.IsCompleted)
        {
            await b.AdvanceAsync(Options.RenewEvery);
        }

        return await waiting;
    }

    /// <summary>Waits for the leadership's continuations, which fake timers complete, to run; fails after 10 s.</summary>
    private static async Task Until(Func<bool> condition, string what)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), $"gave up waiting for {what}");
            await Task.Yield();
            await Task.Delay(1);
        }
    }

    [Fact]
    public async Task A_free_lease_is_taken_at_once_and_renewed_while_the_leader_lives()
    {
        var a = Process("g/1@a");
        await using var term = await a.Leadership.WaitUntilLeaderAsync(CancellationToken.None);

        for (var i = 0; i < 12; i++)
        {
            await a.AdvanceAsync(Options.RenewEvery);
        }

        Assert.False(term.Token.IsCancellationRequested);
        Assert.Equal(new LeaseHolder("g/1@a", a.Clock.GetUtcNow() + Options.Ttl), _store.Row);
    }

    [Fact]
    public async Task A_standby_waits_while_the_leader_renews_and_takes_over_within_20_s_of_its_last_renewal()
    {
        var (a, b, leading, waiting) = await LeaderAndStandbyAsync();
        for (var i = 0; i < 6; i++)
        {
            await a.AdvanceAsync(Options.RenewEvery);
            await b.AdvanceAsync(Options.RenewEvery);
            Assert.False(waiting.IsCompleted);
        }

        // a dies (kill -9): no release, no more renewals. Its last renewal was at b's now, and lasts 15 s.
        var lastRenewal = b.Clock.GetUtcNow();
        await using var term = await TakeOverAsync(b, waiting);
        Assert.InRange(b.Clock.GetUtcNow() - lastRenewal, Options.Ttl, Options.Ttl + Options.RenewEvery);
        Assert.Equal("g/2@b", _store.Row!.Holder);
        Assert.False(term.Token.IsCancellationRequested);
        GC.KeepAlive(leading);
    }

    [Fact]
    public async Task A_paused_leader_that_wakes_after_a_takeover_cannot_renew_and_its_term_ends()
    {
        var (a, b, aTerm, waiting) = await LeaderAndStandbyAsync();

        // a is paused (a stopped process, a long GC): its clock, and so its timers, stand still while b's runs.
        await using var bTerm = await TakeOverAsync(b, waiting);
        Assert.False(aTerm.Token.IsCancellationRequested);

        // a wakes: its next renewal finds b's lease, and it stands down at once.
        await a.AdvanceAsync(Options.RenewEvery);
        await Until(() => aTerm.Token.IsCancellationRequested, "a's term to end");
        Assert.True(aTerm.Lost);
        Assert.Equal("g/2@b", _store.Row!.Holder);
        await aTerm.DisposeAsync();
        Assert.Equal("g/2@b", _store.Row!.Holder);
        Assert.False(bTerm.Token.IsCancellationRequested);
    }

    [Fact]
    public async Task A_leader_whose_store_stops_answering_stands_down_when_its_lease_would_run_out_and_not_before()
    {
        var a = Process("g/1@a");
        var term = await a.Leadership.WaitUntilLeaderAsync(CancellationToken.None);
        _store.Cut.Add("g/1@a");

        await a.AdvanceAsync(Options.RenewEvery);
        await a.AdvanceAsync(Options.RenewEvery);
        Assert.False(term.Token.IsCancellationRequested);

        // 15 s after the last successful request: the store would let a standby take it now.
        a.Clock.Advance(Options.RenewEvery);
        await Until(() => term.Token.IsCancellationRequested, "the term to end at the lease's expiry");
        Assert.True(term.Lost);
        await term.DisposeAsync();
    }

    [Fact]
    public async Task A_leader_that_stops_releases_the_lease_and_the_standby_takes_it_at_its_next_request()
    {
        var (_, b, aTerm, waiting) = await LeaderAndStandbyAsync();

        await aTerm.DisposeAsync();
        Assert.False(aTerm.Lost);
        await b.AdvanceAsync(Options.RenewEvery);

        await using var bTerm = await waiting;
        Assert.Equal("g/2@b", _store.Row!.Holder);
    }

    [Fact]
    public async Task A_worker_restarted_after_a_crash_takes_its_own_lease_back_at_once()
    {
        var before = Process("g/1@a");
        _ = await before.Leadership.WaitUntilLeaderAsync(CancellationToken.None);

        // Killed, and started again by systemd with the same identity, well inside the lease's 15 s.
        var after = Process("g/1@a");
        var waiting = after.Leadership.WaitUntilLeaderAsync(CancellationToken.None);

        Assert.True(waiting.IsCompletedSuccessfully);
        await (await waiting).DisposeAsync();
    }

    [Fact]
    public async Task Waiting_for_the_lease_ends_when_the_process_stops()
    {
        using var stop = new CancellationTokenSource();
        var (_, _, aTerm, waiting) = await LeaderAndStandbyAsync(stop.Token);
        await using var leading = aTerm;

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    private AlertStore OpenStore(FakeTimeProvider time) => AlertStore.Open(Path.Combine(_dir, "alerts.db"), time);

    [Fact]
    public void Two_stores_on_one_file_hand_the_lease_over_only_once_it_has_run_out_or_been_released()
    {
        var time = new FakeTimeProvider(Start);
        using var a = OpenStore(time);
        using var b = OpenStore(time);
        var ttl = Options.Ttl;

        Assert.Equal(new LeaseHolder("a", Start + ttl), a.TryTake("rules", "a", Start, Start + ttl));
        Assert.Equal(new LeaseHolder("a", Start + ttl), b.TryTake("rules", "b", Start.AddSeconds(5), Start.AddSeconds(5) + ttl));
        // A renewal moves the expiry; a standby still cannot take it a millisecond before.
        var renewed = Start.AddSeconds(10);
        Assert.Equal(new LeaseHolder("a", renewed + ttl), a.TryTake("rules", "a", renewed, renewed + ttl));
        Assert.Equal("a", b.TryTake("rules", "b", renewed + ttl - TimeSpan.FromMilliseconds(1), renewed + (2 * ttl)).Holder);

        // Run out: b takes it, and a stale a cannot renew it back.
        var expired = renewed + ttl;
        Assert.Equal(new LeaseHolder("b", expired + ttl), b.TryTake("rules", "b", expired, expired + ttl));
        Assert.Equal(new LeaseHolder("b", expired + ttl), a.TryTake("rules", "a", expired.AddSeconds(1), expired.AddSeconds(1) + ttl));

        // Released: a takes it at once. Releasing a lease one does not hold changes nothing.
        a.Release("rules", "b-impostor");
        Assert.Equal("b", a.TryTake("rules", "a", expired.AddSeconds(2), expired.AddSeconds(2) + ttl).Holder);
        b.Release("rules", "b");
        Assert.Equal("a", a.TryTake("rules", "a", expired.AddSeconds(3), expired.AddSeconds(3) + ttl).Holder);
    }

    [Fact]
    public void A_fenced_store_refuses_alert_events_once_another_process_holds_the_lease()
    {
        var time = new FakeTimeProvider(Start);
        using var a = OpenStore(time);
        using var b = OpenStore(time);
        a.FenceAlertEvents("rules", "a");
        b.FenceAlertEvents("rules", "b");
        var series = new SeriesKey("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03");
        AlertEvent Raised(string rule) => new(AlertTransition.Raised, rule, Severity.Critical, series, "do_mg_l", time.GetUtcNow(), time.GetUtcNow(), 2.8, 2.8, new("DO low", "Oxy thấp"));

        // Nobody holds it yet: a fenced store stores nothing.
        Assert.Null(a.Apply(Raised("do-low")));
        a.TryTake("rules", "a", Start, Start + Options.Ttl);
        Assert.NotNull(a.Apply(Raised("do-low")));
        Assert.Null(b.Apply(Raised("do-critical")));

        var takeover = Start + Options.Ttl;
        b.TryTake("rules", "b", takeover, takeover + Options.Ttl);
        Assert.Null(a.Apply(Raised("do-critical")));
        Assert.NotNull(b.Apply(Raised("do-critical")));

        var stored = b.List(new AlertQuery(State: "all"));
        Assert.Equal(["do-critical", "do-low"], stored.Select(s => s.RuleId).Order());
    }

    [Fact]
    public void An_unfenced_store_stores_alert_events_as_before()
    {
        using var store = OpenStore(new FakeTimeProvider(Start));
        var e = new AlertEvent(AlertTransition.Raised, "do-low", Severity.Critical, new SeriesKey("aquaculture", "s", "g", "d"), "do_mg_l", Start, Start, 2.8, 2.8, new("DO low", "Oxy thấp"));

        Assert.NotNull(store.Apply(e));
    }

    /// <summary>The store's contract (<see cref="ILeaseStore"/>) in memory; <see cref="Cut"/> holders get the store's failure.</summary>
    private sealed class FakeLeaseStore : ILeaseStore
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, int> _asked = [];

        public HashSet<string> Cut { get; } = [];

        public LeaseHolder? Row { get; private set; }

        public int AskedBy(string holder)
        {
            lock (_gate)
            {
                return _asked.GetValueOrDefault(holder);
            }
        }

        public LeaseHolder TryTake(string name, string holder, DateTimeOffset now, DateTimeOffset until)
        {
            lock (_gate)
            {
                _asked[holder] = _asked.GetValueOrDefault(holder) + 1;
                if (Cut.Contains(holder))
                {
                    throw new LeaseUnavailableException("database is locked", new IOException("locked"));
                }

                if (Row is null || Row.Holder == holder || Row.Until <= now)
                {
                    Row = new LeaseHolder(holder, until);
                }

                return Row;
            }
        }

        public void Release(string name, string holder)
        {
            lock (_gate)
            {
                if (Row?.Holder == holder)
                {
                    Row = Row with { Until = DateTimeOffset.MinValue };
                }
            }
        }
    }
}
