using IoTPilots.Edge.Devices;
using IoTPilots.Edge.Modbus;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Polling;

/// <summary>
/// Runs one polling loop per device. Devices behind the same Modbus TCP endpoint share one connection, whose
/// transport serializes their transactions; different endpoints poll independently, so a dead device never
/// stalls another bus.
/// </summary>
public sealed class PollingService(
    Inventory inventory,
    ReadingBuffer buffer,
    EdgeMetrics metrics,
    TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<PollingService>();
    private readonly Dictionary<string, IModbusTransport> _transports = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pollers = inventory.Devices.Select(CreatePoller).ToList();
        _logger.LogInformation("Gateway {Gateway} at {Site}: polling {Devices} devices from {File}", inventory.Gateway, inventory.Site, pollers.Count, inventory.SourceFile);
        await Task.WhenAll(pollers.Select(p => RunAsync(p, stoppingToken))).ConfigureAwait(false);
    }

    private DevicePoller CreatePoller(DeviceConfig device)
    {
        if (!_transports.TryGetValue(device.Address, out var transport))
        {
            InventoryLoader.TryParseHostPort(device.Address, out var host, out var port);
            transport = new ModbusTcpTransport(host, port, device.Timeout, time: time);
            _transports[device.Address] = transport;
        }

        return new DevicePoller(device, new ModbusClient(transport), time, loggers.CreateLogger<DevicePoller>());
    }

    private async Task RunAsync(DevicePoller poller, CancellationToken cancellationToken)
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

                metrics.Readings.Add(readings.Count);
                metrics.CommFailures.Add(readings.Count(r => r.Quality == Contract.Quality.CommFailure));
                await buffer.Writer.WriteAsync(new DeviceBatch(poller.Device, readings), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Polling {Device} failed unexpectedly; it keeps its schedule", poller.Device.Id);
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
        foreach (var t in _transports.Values)
        {
            await t.DisposeAsync().ConfigureAwait(false);
        }

        buffer.Writer.TryComplete();
    }
}
