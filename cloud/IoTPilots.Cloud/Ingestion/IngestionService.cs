using IoTPilots.Cloud.Influx;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>
/// The ingestion worker: this process's share of the telemetry and gap topics (a persistent session in the shared
/// group, so a restart loses nothing and several workers split the stream) fed through an
/// <see cref="IngestionPipeline"/> into InfluxDB. It reports to <see cref="IngestionSubscription"/> whether its
/// subscription exists, which the rules engine waits for.
/// </summary>
public sealed class IngestionService(
    IngestionOptions options,
    IMessageSources sources,
    IPointWriter writer,
    IngestionStats stats,
    IngestionSubscription subscription,
    DeviceRegistry registry,
    TimeProvider time,
    ILogger<IngestionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pipeline = new IngestionPipeline(options, writer, stats, registry, time, logger);
        var source = sources.Open(new MessageSourceOptions($"cloud-{options.Group}-{options.Worker}", [options.Filter, options.GapFilter])
        {
            ReceiveMaximum = options.MaxInFlight,
            Subscribed = () =>
            {
                subscription.Subscribed();
                logger.LogInformation("Subscribed to {Filter} and {GapFilter}; device registry {Registry}", options.Filter, options.GapFilter, registry.Source);
            },
            Lost = subscription.Lost,
        });
        var writing = pipeline.RunAsync(stoppingToken);
        await source.RunAsync(pipeline.AcceptAsync, stoppingToken).ConfigureAwait(false);
        await writing.ConfigureAwait(false);
    }
}
