using IoTPilots.Cloud.Influx;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Ingestion;

public static class IngestionSetup
{
    /// <summary>MQTT to InfluxDB ingestion, with its stats and an InfluxDB client.</summary>
    public static IServiceCollection AddIngestion(this IServiceCollection services, IngestionOptions options, DeviceRegistry? registry = null)
    {
        services.AddSingleton(registry ?? DeviceRegistry.Open);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(options.Influx);
        services.AddSingleton<IngestionStats>();
        services.AddSingleton<IngestionSubscription>();
        services.AddSingleton<IMessageSources>(sp => options.Nats is { } nats
            ? new Nats.JetStreamMessageSources(nats, new MqttMessageSources(options.Broker, sp.GetRequiredService<ILoggerFactory>()), options.Broker, sp.GetRequiredService<ILoggerFactory>())
            : new MqttMessageSources(options.Broker, sp.GetRequiredService<ILoggerFactory>()));
        services.AddHttpClient<InfluxWriter>(c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<IPointWriter>(sp => ActivatorUtilities.CreateInstance<StoringPointWriter>(sp, options.Worker));
        services.AddHostedService<IngestionService>();
        services.AddSingleton<DeliveryAccountant>();
        services.AddHostedService(sp => sp.GetRequiredService<DeliveryAccountant>());
        return services;
    }
}
