using IoTPilots.Devices;
using IoTPilots.Edge.Commands;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Publishing;
using IoTPilots.Edge.Queue;
using IoTPilots.Edge.RemoteConfig;
using IoTPilots.Mqtt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge;

public static class EdgeAgent
{
    /// <summary>The edge agent: polling appends to the disk queue, which the MQTT publisher drains.</summary>
    public static IServiceCollection AddEdgeAgent(this IServiceCollection services, Inventory inventory, Uplink uplink) =>
        services.AddEdgeAgent(inventory, new EdgeSettings(uplink, EdgeSettings.DefaultStateDir));

    /// <summary>The edge agent with the settings Program.cs read and checked at start.</summary>
    /// <param name="remote">The pushed inventories' files and state, when remote configuration is on (Program.cs); null leaves it off.</param>
    public static IServiceCollection AddEdgeAgent(this IServiceCollection services, Inventory inventory, EdgeSettings settings, RemoteInventory? remote = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(inventory);
        services.AddSingleton(new InventoryHolder(inventory));
        services.AddSingleton(settings);
        services.AddSingleton(settings.Uplink);
        services.AddSingleton<EdgeMetrics>();
        services.AddSingleton<EdgeQueue>();
        services.AddSingleton<ISerialPorts, SystemSerialPorts>();
        services.AddSingleton<PollerFactory>();
        services.AddSingleton<LatestValues>();
        services.AddSingleton(sp => MqttTelemetryPublisher.CreateUplink(
            inventory,
            settings.Uplink,
            sp.GetRequiredService<EdgeQueue>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<MqttTelemetryPublisher>>()));
        // Registered before polling so it stops after it: on a clean stop polling ends first, then the
        // publisher sends what is still queued (for a few seconds) before it disconnects.
        services.AddHostedService<MqttTelemetryPublisher>();
        services.AddHostedService<PollingService>();
        // After polling, so it stops first (hosts stop services in reverse): no write is begun on a line being closed.
        services.AddHostedService<CommandService>();
        if (remote is not null)
        {
            services.AddSingleton(remote.Files);
            services.AddSingleton(remote.Options);
            services.AddHostedService<RemoteConfigService>();
        }

        return services;
    }
}
