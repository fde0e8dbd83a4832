namespace IoTPilots.Edge.Gpio;

/// <summary>
/// Debounces a sampled two-level signal: a new level is accepted only once every sample has shown it for at least
/// the debounce time. Pure logic; time comes from the <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// Relay and contactor contacts bounce for a few milliseconds when they switch, and long cable runs beside
/// motor leads pick up spikes, so a raw sample can be wrong for a short while. Sample at least a few times per
/// debounce period: a glitch that falls entirely between two samples is invisible to any sampler.
/// The first sample sets the state without counting as a transition (there is no earlier level to protect).
/// </remarks>
public sealed class Debouncer
{
    public static readonly TimeSpan DefaultDebounceTime = TimeSpan.FromMilliseconds(50);

    private readonly TimeProvider _timeProvider;
    private bool _hasCandidate;
    private long _candidateSince;

    public Debouncer(TimeProvider timeProvider, TimeSpan? debounceTime = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        var time = debounceTime ?? DefaultDebounceTime;
        ArgumentOutOfRangeException.ThrowIfLessThan(time, TimeSpan.Zero, nameof(debounceTime));
        _timeProvider = timeProvider;
        DebounceTime = time;
    }

    public TimeSpan DebounceTime { get; }

    /// <summary>False until the first sample.</summary>
    public bool HasState { get; private set; }

    /// <summary>The accepted (debounced) level.</summary>
    public bool State { get; private set; }

    /// <summary>Feeds one sample; returns true when it completes an accepted change of <see cref="State"/>.</summary>
    public bool Update(bool level)
    {
        var now = _timeProvider.GetTimestamp();
        if (!HasState)
        {
            HasState = true;
            State = level;
            return false;
        }

        if (level == State)
        {
            // Back to the accepted level before the debounce time ran out: that was chatter.
            _hasCandidate = false;
            return false;
        }

        if (!_hasCandidate)
        {
            _hasCandidate = true;
            _candidateSince = now;
        }

        if (_timeProvider.GetElapsedTime(_candidateSince, now) < DebounceTime)
        {
            return false;
        }

        State = level;
        _hasCandidate = false;
        return true;
    }
}
