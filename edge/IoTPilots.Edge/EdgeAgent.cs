using IoTPilots.Edge.Devices;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Publishing;
using IoTPilots.Mqtt;
using Microsoft.Extensions.DependencyInjection;

namespace IoTPilots.Edge;

public static class EdgeAgent
{
    /// <summary>The edge agent: polling feeds a buffer that the MQTT publisher drains.</summary>
    public static IServiceCollection AddEdgeAgent(this IServiceCollection services, Inventory inventory, MqttEndpoint broker)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(inventory);
        services.AddSingleton(broker);
        services.AddSingleton<EdgeMetrics>();
        services.AddSingleton<ReadingBuffer>();
        services.AddSingleton<ISerialPorts, SystemSerialPorts>();
        services.AddSingleton<PollerFactory>();
        services.AddHostedService<PollingService>();
        services.AddHostedService<MqttTelemetryPublisher>();
        return services;
    }
}
