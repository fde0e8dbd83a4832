using IoTPilots.Edge.Devices;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Publishing;
using IoTPilots.Edge.Queue;
using IoTPilots.Mqtt;
using Microsoft.Extensions.DependencyInjection;

namespace IoTPilots.Edge;

public static class EdgeAgent
{
    /// <summary>The edge agent: polling appends to the disk queue, which the MQTT publisher drains.</summary>
    public static IServiceCollection AddEdgeAgent(this IServiceCollection services, Inventory inventory, MqttEndpoint broker)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(inventory);
        services.AddSingleton(broker);
        services.AddSingleton<EdgeMetrics>();
        services.AddSingleton<EdgeQueue>();
        services.AddSingleton<ISerialPorts, SystemSerialPorts>();
        services.AddSingleton<PollerFactory>();
        services.AddHostedService<PollingService>();
        services.AddHostedService<MqttTelemetryPublisher>();
        return services;
    }
}
