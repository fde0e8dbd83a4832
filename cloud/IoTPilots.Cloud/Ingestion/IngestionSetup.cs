using IoTPilots.Cloud.Influx;

namespace IoTPilots.Cloud.Ingestion;

public static class IngestionSetup
{
    /// <summary>MQTT to InfluxDB ingestion, with its stats and an InfluxDB client.</summary>
    public static IServiceCollection AddIngestion(this IServiceCollection services, IngestionOptions options)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(options.Influx);
        services.AddSingleton<IngestionStats>();
        services.AddHttpClient<InfluxWriter>(c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<IPointWriter>(sp => sp.GetRequiredService<InfluxWriter>());
        services.AddHostedService<IngestionService>();
        return services;
    }
}
