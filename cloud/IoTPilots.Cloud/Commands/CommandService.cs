using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Commands;

/// <summary>
/// Commands: <c>PILOTS_COMMAND_KEYS</c> (the per-gateway keys; without it this process issues none) and
/// <c>PILOTS_COMMANDS_DB</c> (the record, default <c>commands.db</c> beside the alert database). Issuing needs the
/// device registry, which says what each gateway may write.
/// </summary>
public sealed record CommandsOptions(string KeysFile, string DatabasePath)
{
    /// <summary>
    /// Null when <c>PILOTS_COMMAND_KEYS</c> is unset, or when there is no device registry to say what may be written
    /// (then a warning goes to <paramref name="warnings"/>: a provisioned cloud.env names the keys, and a cloud without
    /// a registry must still ingest). A bad value throws <see cref="FormatException"/> naming the variable.
    /// </summary>
    public static CommandsOptions? FromEnvironment(Func<string, string?> env, string alertDatabasePath, DeviceRegistry registry, TextWriter? warnings = null)
    {
        if (env("PILOTS_COMMAND_KEYS") is not { Length: > 0 } keys)
        {
            return null;
        }

        if (!File.Exists(keys))
        {
            throw new FormatException($"PILOTS_COMMAND_KEYS: '{keys}' is not a file (./run provision writes .secrets/cloud/command-keys)");
        }

        if (registry.IsOpen)
        {
            warnings?.WriteLine("cloud: warning: PILOTS_COMMAND_KEYS is set but commands stay off: they need the device registry (PILOTS_DEVICE_REGISTRY), which says what each gateway may write");
            return null;
        }

        var db = env("PILOTS_COMMANDS_DB") is { Length: > 0 } path
            ? path
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(alertDatabasePath))!, "commands.db");
        return new CommandsOptions(keys, db);
    }
}

/// <summary>
/// Sends signed commands to gateways and records their answers. Publishing is QoS 1 on a clean session of its own; the
/// broker's answer says whether the gateway's persistent session took it (sent), whether nobody subscribes
/// (undelivered: the gateway never connected with commands on) or whether the broker is away (not sent). Answers
/// come on a persistent subscription to every gateway's <c>command/result</c>, so those given while the cloud was
/// down are not lost. A result that does not decode is logged and dropped: it changes no record.
/// </summary>
public sealed class CommandService(
    IngestionOptions ingestion,
    IMessageSources sources,
    CommandStore store,
    ILogger<CommandService> logger) : BackgroundService
{
    private static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(10);

    private readonly MqttPublisher _publisher = new(ingestion.Broker, $"cloud-commander-{ingestion.Group}-{ingestion.Worker}", logger);

    /// <summary>Results that did not decode, for the log and the tests.</summary>
    public long BadResults { get; private set; }

    /// <summary>Publishes a signed command, records it with what the broker said, and returns that state.</summary>
    public async Task<string> IssueAsync(CommandMessage command, CancellationToken cancellationToken, long? alertId = null)
    {
        var state = await SendAsync(Topics.Command(command.Site, command.Gateway), CommandCodec.Encode(command), cancellationToken).ConfigureAwait(false);
        store.Issued(command, state, alertId);
        logger.LogInformation(
            "Command {Id} by {User}: {Gateway}/{Device}.{Point} = {Value}, valid until {Expires:O}: {State}",
            command.Id, command.IssuedBy, command.Gateway, command.Device, command.Point, command.Value, command.ExpiresAt, state);
        return state;
    }

    /// <summary>Publishes at QoS 1, not retained, to a gateway's persistent session (a command, an inventory push); returns what the broker said as a <see cref="CommandStates"/> value.</summary>
    public async Task<string> SendAsync(string topic, byte[] payload, CancellationToken cancellationToken)
    {
        var outcome = await ConnectedAsync(cancellationToken).ConfigureAwait(false)
            ? await _publisher.PublishAsync(topic, payload, AckTimeout, cancellationToken).ConfigureAwait(false)
            : PublishOutcome.Failed;
        return outcome switch
        {
            PublishOutcome.Acked => CommandStates.Sent,
            PublishOutcome.NoSubscriber => CommandStates.Undelivered,
            _ => CommandStates.NotSent,
        };
    }

    /// <summary>Waits up to the ack timeout for the publisher's connection (just started, or reconnecting after a broker restart).</summary>
    private async Task<bool> ConnectedAsync(CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(AckTimeout);
        try
        {
            await _publisher.WaitConnectedAsync(wait.Token).ConfigureAwait(false);
            return _publisher.IsConnected;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var publishing = _publisher.RunAsync(stoppingToken);
        var results = sources.Open(new MessageSourceOptions($"cloud-commands-{ingestion.Group}-{ingestion.Worker}", [Topics.AllCommandResults]) { AutoAck = true });
        try
        {
            await results.RunAsync(OnResultAsync, stoppingToken).ConfigureAwait(false);
            await publishing.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private ValueTask OnResultAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        if (CommandCodec.TryDecodeResult(message.Payload.Span, out var error) is not { } result)
        {
            BadResults++;
            logger.LogWarning("Command result on {Topic} dropped: {Error}", message.Topic, error);
            return ValueTask.CompletedTask;
        }

        // The broker's ACL lets each gateway publish on its own topics only; a result naming another gateway than its
        // topic is forged or broken, and would otherwise overwrite that gateway's record.
        if (message.Topic != Topics.CommandResult(result.Site, result.Gateway))
        {
            BadResults++;
            logger.LogWarning("Command result on {Topic} dropped: it names {Site}/{Gateway}", message.Topic, result.Site, result.Gateway);
            return ValueTask.CompletedTask;
        }

        store.Answered(result);
        logger.LogInformation("Command {Id} at {Gateway}: {Outcome} ({Reason}) {Detail}", result.Id, result.Gateway, result.Outcome, result.Reason, result.Detail);
        return ValueTask.CompletedTask;
    }

    public override void Dispose()
    {
        _publisher.DisposeAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose();
    }
}
