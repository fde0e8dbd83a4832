using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Queue;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Publishing;

/// <summary>
/// Wires the store-and-forward queue to the configured uplink (broker or IoT Hub) through the pipelined
/// <see cref="UplinkDrainer"/>, which holds all the delivery logic; this only builds the two and runs them.
/// </summary>
public sealed class MqttTelemetryPublisher(
    Inventory inventory,
    RemoteConfig.InventoryHolder holder,
    Uplink uplink,
    IUplink link,
    EdgeQueue queue,
    EdgeMetrics metrics,
    TimeProvider time,
    ILogger<MqttTelemetryPublisher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (uplink.ClientCertificate is { } certificate)
        {
            logger.LogInformation("MQTT client certificate {Subject}", certificate.Subject);
        }

        var drainer = new UplinkDrainer(
            queue,
            link,
            new DrainerOptions(inventory.Queue.UplinkWindow, inventory.Queue.BackfillRate),
            Status,
            metrics,
            time,
            logger);
        var connection = link.RunAsync(stoppingToken);
        await drainer.RunAsync(stoppingToken).ConfigureAwait(false);
        await connection.ConfigureAwait(false);
    }

    /// <summary>
    /// The gateway's one uplink, shared by this publisher and the command path (<c>Commands/CommandService</c>); the
    /// host disposes it (a clean disconnect) after every service has stopped.
    /// </summary>
    public static IUplink CreateUplink(Inventory inventory, Uplink uplink, EdgeQueue queue, TimeProvider time, ILogger logger) =>
        uplink.Create(
            $"edge-{inventory.Gateway}",
            Topics.Status(inventory.Site, inventory.Gateway),
            Status(inventory, queue, time, GatewayStatus.Offline),
            time,
            logger);

    private byte[] Status(string state) => Status(inventory, queue, time, state, holder.Status);

    /// <summary>The gateway's status; with the running inventory's version and state when remote configuration is on.</summary>
    internal static byte[] Status(Inventory inventory, EdgeQueue queue, TimeProvider time, string state, RunningInventory? running = null) =>
        new GatewayStatus(inventory.Site, inventory.Gateway, state, time.GetUtcNow(), queue.Count, queue.OldestUnsent) { Inventory = running }.Encode();
}
