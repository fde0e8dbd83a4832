namespace IoTPilots.Edge.Queue;

/// <summary>
/// Tells a waiting reader that something was appended. A signal given while nobody waits is kept for the next
/// wait, so an append between two waits is never missed.
/// </summary>
public sealed class AppendSignal
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set()
    {
        lock (_gate)
        {
            _appended.TrySetResult();
        }
    }

    /// <summary>Completes when something is appended after the call (or at once if something was since the last wait), or after <paramref name="timeout"/>.</summary>
    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task appended;
        lock (_gate)
        {
            if (_appended.Task.IsCompleted)
            {
                _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return Task.CompletedTask;
            }

            appended = _appended.Task;
        }

        return Task.WhenAny(appended, Task.Delay(timeout, cancellationToken));
    }
}
