using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Commands;

/// <summary>
/// Keeps <see cref="GatewayDirectory"/> current: every gateway's retained status (a clean session, so the broker
/// hands over each gateway's latest at subscribe: the running inventories are known at once after a restart) and the
/// gateways' answers to pushes (a persistent session, so answers given while the cloud was down are not lost). A
/// message that does not decode, or names another gateway than its topic, is logged and changes nothing.
/// </summary>
public sealed class GatewayService(IngestionOptions ingestion, IMessageSources sources, GatewayDirectory directory, ILogger<GatewayService> logger) : BackgroundService
{
    /// <summary>Messages that did not decode or did not match their topic.</summary>
    public long Rejected { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var statuses = sources.Open(new MessageSourceOptions($"cloud-gateways-{ingestion.Group}-{ingestion.Worker}", [GatewayStatus.AllTopics]) { CleanStart = true, AtMostOnce = true, AutoAck = true });
        var results = sources.Open(new MessageSourceOptions($"cloud-config-{ingestion.Group}-{ingestion.Worker}", [Topics.AllConfigResults]) { AutoAck = true });
        try
        {
            await Task.WhenAll(statuses.RunAsync(OnStatusAsync, stoppingToken), results.RunAsync(OnResultAsync, stoppingToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private ValueTask OnStatusAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        // An empty retained message is a status being cleared, not a bad one.
        if (message.Payload.Length > 0)
        {
            if (GatewayStatus.TryDecode(message.Payload.Span, message.Topic, out var error) is { } status)
            {
                directory.Seen(status);
            }
            else
            {
                Rejected++;
                logger.LogDebug("Gateway status on {Topic} dropped: {Error}", message.Topic, error);
            }
        }

        return ValueTask.CompletedTask;
    }

    private ValueTask OnResultAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        if (InventoryCodec.TryDecodeResult(message.Payload.Span, out var error) is not { } result)
        {
            Rejected++;
            logger.LogWarning("Inventory result on {Topic} dropped: {Error}", message.Topic, error);
            return ValueTask.CompletedTask;
        }

        // As for command results: the broker's ACL lets a gateway publish on its own topics only.
        if (message.Topic != Topics.ConfigResult(result.Site, result.Gateway))
        {
            Rejected++;
            logger.LogWarning("Inventory result on {Topic} dropped: it names {Site}/{Gateway}", message.Topic, result.Site, result.Gateway);
            return ValueTask.CompletedTask;
        }

        directory.Answered(result);
        logger.LogInformation(
            "Inventory push {Id} (version {Version}) at {Gateway}: {Outcome} ({Reason}) {Detail}; running version {Running}",
            result.Id, result.Version, result.Gateway, result.Outcome, result.Reason, result.Detail, result.Running);
        return ValueTask.CompletedTask;
    }
}
