using IoTPilots.Devices;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Publishing;
using IoTPilots.Edge.Queue;
using IoTPilots.Mqtt;
using Microsoft.Extensions.DependencyInjection;

namespace IoTPilots.Edge;

public static class EdgeAgent
{
    /// <summary>The edge agent: polling appends to the disk queue, which the MQTT publisher drains.</summary>
    public static IServiceCollection AddEdgeAgent(this IServiceCollection services, Inventory inventory, Uplink uplink)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(inventory);
        services.AddSingleton(uplink);
        services.AddSingleton<EdgeMetrics>();
        services.AddSingleton<EdgeQueue>();
        services.AddSingleton<ISerialPorts, SystemSerialPorts>();
        services.AddSingleton<PollerFactory>();
        // Registered before polling so it stops after it: on a clean stop polling ends first, then the
        // publisher sends what is still queued (for a few seconds) before it disconnects.
        services.AddHostedService<MqttTelemetryPublisher>();
        services.AddHostedService<PollingService>();
        return services;
    }
}
