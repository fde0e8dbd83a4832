namespace IoTPilots.Mqtt.Uplinks;

/// <summary>What both MQTT uplinks share: one <see cref="MqttSession"/> that owns the connection and its reconnects.</summary>
public abstract class SessionUplink : IUplink
{
    protected SessionUplink(MqttSession session)
    {
        Session = session;
        session.Connected += (_, e) => Connected?.Invoke(this, e);
    }

    public event EventHandler? Connected;

    /// <summary>How long a publish waits for its PUBACK before it counts as failed (then the record goes out again).</summary>
    public static readonly TimeSpan DefaultAckTimeout = TimeSpan.FromSeconds(30);

    internal MqttSession Session { get; }

    public long Connection => Session.Connections;

    public bool IsConnected => Session.IsConnected;

    public int MaxInFlight => Session.ReceiveMaximum;

    public Task WaitConnectedAsync(CancellationToken cancellationToken) => Session.WaitConnectedAsync(cancellationToken);

    public virtual Task RunAsync(CancellationToken cancellationToken) => Session.RunAsync(cancellationToken);

    public abstract Task<PublishOutcome> PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    public abstract Task PublishStatusAsync(ReadOnlyMemory<byte> status, CancellationToken cancellationToken);

    public virtual bool Subscribe(string topic, Func<ReadOnlyMemory<byte>, CancellationToken, Task> handler)
    {
        Session.Subscribe(topic, handler);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await Session.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }
}
