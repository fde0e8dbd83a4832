namespace IoTPilots.Cloud.Alerts;

/// <summary>Who holds a lease, and until when by the clock of the process that took or renewed it.</summary>
public sealed record LeaseHolder(string Holder, DateTimeOffset Until);

/// <summary>The store a lease lives in, which every candidate shares. <see cref="AlertStore"/> is the real one (Alerts/RulesLease.cs).</summary>
public interface ILeaseStore
{
    /// <summary>
    /// In one atomic step: lease <paramref name="name"/> goes to <paramref name="holder"/> until <paramref name="until"/>
    /// when nobody holds it, when its holder's time ran out at or before <paramref name="now"/>, or when
    /// <paramref name="holder"/> holds it already (a renewal). Returns who holds it afterwards: the caller, or the one it
    /// could not displace.
    /// </summary>
    /// <exception cref="LeaseUnavailableException">The store could not be asked (locked for too long, unreadable).</exception>
    LeaseHolder TryTake(string name, string holder, DateTimeOffset now, DateTimeOffset until);

    /// <summary>Ends <paramref name="holder"/>'s lease at once if it still holds it, so a standby need not wait for it to run out.</summary>
    /// <exception cref="LeaseUnavailableException">The store could not be asked.</exception>
    void Release(string name, string holder);
}

/// <summary>The lease store could not be asked; the message says why.</summary>
public sealed class LeaseUnavailableException(string message, Exception inner) : Exception(message, inner);

/// <summary>The rules lease's timing.</summary>
/// <param name="Ttl">How long a taken or renewed lease lasts without renewal: 15 s, so that a standby takes over within
/// <c>Ttl + RenewEvery</c> = 20 s of the leader's last renewal, inside issue 14's 30 s, with 10 s to spare for
/// restoring the open alerts and subscribing.</param>
/// <param name="RenewEvery">How often the leader renews and a standby asks: a third of the TTL, so two renewals in a
/// row may fail (a busy store) before the lease runs out.</param>
public sealed record LeaseOptions(string Name, TimeSpan Ttl, TimeSpan RenewEvery)
{
    public static LeaseOptions Rules { get; } = new("rules", TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5));
}

/// <summary>What the rules service waits on: to be the one process that judges the rules.</summary>
public interface IRulesLeadership
{
    /// <summary>
    /// Returns once this process holds the rules lease. The term's <see cref="LeaderTerm.Token"/> is cancelled when
    /// the lease is lost (another process took it, or it could not be renewed before it ran out) or on
    /// <paramref name="stoppingToken"/>; disposing the term stops renewing and releases the lease if still held.
    /// </summary>
    Task<LeaderTerm> WaitUntilLeaderAsync(CancellationToken stoppingToken);
}

/// <summary>
/// One active rules engine among several cloud processes, by a lease in a store they share (issue 14 part 8): the
/// holder renews it every <see cref="LeaseOptions.RenewEvery"/>; the others ask as often and take it once it has run
/// out. Pure: the store is <see cref="ILeaseStore"/>, the clock a <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// Safety does not rest on the clocks: the lease changes hands in one atomic step of the store, and the alert store
/// refuses alert events from a process that no longer holds it, in the same transaction that would store them
/// (<see cref="AlertStore.FenceAlertEvents"/>). Clocks that disagree only move the moment of a takeover: the expiry is
/// written by the holder's clock and judged by the standby's.
/// </remarks>
public sealed class RulesLeadership(ILeaseStore store, string holder, LeaseOptions options, TimeProvider time, ILogger<RulesLeadership> logger) : IRulesLeadership
{
    public string Holder => holder;

    public LeaseOptions Options => options;

    /// <summary>One attempt to take or renew the lease now; null when the store could not be asked (logged).</summary>
    public LeaseHolder? TryTake()
    {
        var now = time.GetUtcNow();
        try
        {
            return store.TryTake(options.Name, holder, now, now + options.Ttl);
        }
        catch (LeaseUnavailableException ex)
        {
            logger.LogWarning("Could not ask for the {Lease} lease: {Error}", options.Name, ex.Message);
            return null;
        }
    }

    public async Task<LeaderTerm> WaitUntilLeaderAsync(CancellationToken stoppingToken)
    {
        string? standingBehind = null;
        while (true)
        {
            stoppingToken.ThrowIfCancellationRequested();
            var asked = time.GetUtcNow();
            var current = TryTake();
            if (current?.Holder == holder)
            {
                logger.LogInformation("Took the {Lease} lease as {Holder}: this process judges the rules", options.Name, holder);
                return new LeaderTerm(this, store, asked + options.Ttl, time, logger, stoppingToken);
            }

            if (current is not null && current.Holder != standingBehind)
            {
                standingBehind = current.Holder;
                logger.LogInformation("Standing by: the {Lease} lease is held by {Other} until {Until:O}", options.Name, current.Holder, current.Until);
            }

            await Task.Delay(options.RenewEvery, time, stoppingToken).ConfigureAwait(false);
        }
    }
}

/// <summary>
/// A term as leader: renews the lease in the background, and cancels <see cref="Token"/> the moment the lease is
/// lost: another holder found at a renewal, or no renewal succeeded before the lease would run out (counted from
/// before the last successful request, so never later than the store's own expiry).
/// </summary>
public sealed class LeaderTerm : IAsyncDisposable
{
    private readonly RulesLeadership _leadership;
    private readonly ILeaseStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _expiry;
    private readonly CancellationTokenSource _ended = new();
    private readonly CancellationTokenSource _token;
    private readonly Task _renewing;
    private int _disposed;
    private bool _lostToOther;

    internal LeaderTerm(RulesLeadership leadership, ILeaseStore store, DateTimeOffset until, TimeProvider time, ILogger logger, CancellationToken stoppingToken)
    {
        _leadership = leadership;
        _store = store;
        _time = time;
        _logger = logger;
        _expiry = new CancellationTokenSource(Remaining(until), time);
        _token = CancellationTokenSource.CreateLinkedTokenSource(_expiry.Token, _ended.Token, stoppingToken);
        _renewing = RenewAsync(_token.Token);
    }

    /// <summary>Cancelled when this term is over: lease lost, process stopping, or the term disposed.</summary>
    public CancellationToken Token => _token.Token;

    /// <summary>The lease was lost (not merely given up at a stop): another holder has it, or it ran out unrenewed.</summary>
    public bool Lost => Volatile.Read(ref _lostToOther) || _expiry.IsCancellationRequested;

    private TimeSpan Remaining(DateTimeOffset until) => until - _time.GetUtcNow() is { Ticks: > 0 } left ? left : TimeSpan.Zero;

    private async Task RenewAsync(CancellationToken token)
    {
        var options = _leadership.Options;
        try
        {
            while (true)
            {
                await Task.Delay(options.RenewEvery, _time, token).ConfigureAwait(false);
                var asked = _time.GetUtcNow();
                switch (_leadership.TryTake())
                {
                    case { } h when h.Holder == _leadership.Holder:
                        _expiry.CancelAfter(Remaining(asked + options.Ttl));
                        break;
                    case { } other:
                        Volatile.Write(ref _lostToOther, true);
                        Lose($"{other.Holder} holds it until {other.Until:O}");
                        return;
                    default:
                        // The store did not answer: the term lasts until the lease would run out (the expiry timer).
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            if (_expiry.IsCancellationRequested && !_ended.IsCancellationRequested)
            {
                Lose("it could not be renewed before it ran out");
            }
        }
    }

    private void Lose(string why)
    {
        _logger.LogWarning("Lost the {Lease} lease ({Why}): this process stops judging the rules and stands by", _leadership.Options.Name, why);
        _ended.Cancel();
    }

    /// <summary>Stops renewing and, unless the lease was lost, releases it so a standby takes over at its next request.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _ended.CancelAsync().ConfigureAwait(false);
        await _renewing.ConfigureAwait(false);
        if (!Lost)
        {
            try
            {
                _store.Release(_leadership.Options.Name, _leadership.Holder);
                _logger.LogInformation("Released the {Lease} lease", _leadership.Options.Name);
            }
            catch (LeaseUnavailableException ex)
            {
                _logger.LogWarning("Could not release the {Lease} lease ({Error}); a standby takes over when it runs out", _leadership.Options.Name, ex.Message);
            }
        }

        _token.Dispose();
        _expiry.Dispose();
        _ended.Dispose();
    }
}
