using IoTPilots.Devices;
using IoTPilots.Edge.Queue;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Polling;

/// <summary>
/// Runs one polling loop per device, each on its own schedule. Devices on one line share its serialized
/// transport; different lines and endpoints poll independently, so a dead device never stalls another bus.
/// </summary>
public sealed class PollingService(
    RemoteConfig.InventoryHolder holder,
    PollerFactory factory,
    EdgeQueue queue,
    EdgeMetrics metrics,
    LatestValues latest,
    TimeProvider time,
    ILogger<PollingService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // A pushed inventory (or its rollback) swaps the set: this one's loops end, its transports close, the new set starts.
            var (inventory, swapped) = holder.Take();
            using var run = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, swapped);
            var pollers = factory.CreateAll(inventory.Devices);
            logger.LogInformation("Gateway {Gateway} at {Site}: polling {Devices} devices from {File}", inventory.Gateway, inventory.Site, pollers.Count, inventory.SourceFile);
            await Task.WhenAll(pollers.Select(p => RunAsync(p, run.Token))).ConfigureAwait(false);
            if (!stoppingToken.IsCancellationRequested)
            {
                await factory.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task RunAsync(IDevicePoller poller, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(poller.Device.PollInterval, time);
        do
        {
            try
            {
                var readings = await poller.PollAsync(cancellationToken).ConfigureAwait(false);
                if (readings.Count == 0)
                {
                    continue;
                }

                latest.Update(poller.Device.Id, readings);
                metrics.Readings.Add(readings.Count);
                metrics.CommFailures.Add(readings.Count(r => r.Quality == Contract.Quality.CommFailure));
                queue.Enqueue(new DeviceBatch(poller.Device, readings));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Polling {Device} failed unexpectedly; it keeps its schedule", poller.Device.Id);
            }
        }
        while (await WaitAsync(timer, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await factory.DisposeAsync().ConfigureAwait(false);
    }
}
