using IoTPilots.Cloud.Ingestion;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Influx;

/// <summary>What the fleet-health dashboard reads that nothing else writes: gateway status and the ingestion's counters.</summary>
public static class FleetHealthSetup
{
    /// <summary>Needs <see cref="IngestionSetup.AddIngestion"/> first (message sources, InfluxDB, the counters).</summary>
    public static IServiceCollection AddFleetHealth(this IServiceCollection services, string worker)
    {
        services.AddHostedService(sp => new GatewayStatusWriter(sp.GetRequiredService<IMessageSources>(), sp.GetRequiredService<InfluxWriter>(), worker, TimeProvider.System, sp.GetRequiredService<ILogger<GatewayStatusWriter>>()));
        services.AddHostedService(sp => new IngestStatsWriter(sp.GetRequiredService<InfluxWriter>(), sp.GetRequiredService<IngestionStats>(), worker, TimeProvider.System, sp.GetRequiredService<ILogger<IngestStatsWriter>>()));
        return services;
    }
}
