namespace IoTPilots.Edge.Publishing;

/// <summary>How the <see cref="UplinkDrainer"/> paces itself (the inventory's <c>queue:</c> section sets the first two).</summary>
/// <param name="Window">Publishes in flight at once, unacknowledged. One round trip carries at most this many, so the
/// live ceiling is Window / RTT (256 at 200 ms: 1280 messages/s).</param>
/// <param name="BackfillRate">Backlog messages per second, alongside live data, after an outage.</param>
public sealed record DrainerOptions(int Window, int BackfillRate)
{
    /// <summary>How often the retained status is refreshed while connected.</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often acknowledgements are made durable; a crash re-sends at most this much (the cloud drops repeats by sequence).</summary>
    public TimeSpan SaveInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Pause after the broker said nobody subscribes, before one record probes again (as before the window existed).</summary>
    public TimeSpan HoldPause { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Pause after a failed publish before the record goes out again (a dropped link usually reconnects meanwhile).</summary>
    public TimeSpan RetryPause { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>On a clean stop, how long queued records may still be sent before the rest waits on disk.</summary>
    public TimeSpan FinalDrainTime { get; init; } = TimeSpan.FromSeconds(5);
}
