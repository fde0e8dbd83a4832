namespace IoTPilots.Cloud.Ingestion;

/// <summary>
/// Whether this process's ingestion subscription exists on the broker right now. Another subscriber to the
/// telemetry topics (the rules engine) must subscribe only while it does: a broker with any matching subscriber
/// acknowledges a publish as delivered, so an edge would delete from its queue messages that only the rules
/// engine received. The edge holds its queue on "no matching subscribers" (MQTT 5 reason 16), which is what
/// Mosquitto answers after a restart until the ingestion has subscribed again; this keeps it that way.
/// </summary>
public sealed class IngestionSubscription
{
    private TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsActive => _subscribed.Task.IsCompleted;

    /// <summary>Completes once the ingestion is subscribed (at once if it is now).</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _subscribed.Task.WaitAsync(cancellationToken);

    internal void Subscribed() => _subscribed.TrySetResult();

    internal void Lost()
    {
        if (_subscribed.Task.IsCompleted)
        {
            _subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
