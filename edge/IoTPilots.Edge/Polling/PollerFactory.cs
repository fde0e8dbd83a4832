using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Serial;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Polling;

/// <summary>Opens serial lines; the real one wraps System.IO.Ports, tests hand in pseudo-terminals or pipes.</summary>
public interface ISerialPorts
{
    ISerialLine Open(SerialSettings settings);
}

/// <summary>
/// Builds one poller per device and the transports they share: one Modbus TCP connection per endpoint, and
/// one serialized transaction queue per serial line, shared by every unit id on that RS-485 bus.
/// </summary>
public sealed class PollerFactory(TimeProvider time, ILoggerFactory loggers, ISerialPorts serialPorts) : IAsyncDisposable
{
    private readonly Dictionary<string, IModbusTransport> _transports = [];

    public IReadOnlyList<IDevicePoller> CreateAll(IReadOnlyList<DeviceConfig> devices)
    {
        // Devices sharing a serial line must agree on its settings: the line has one baud rate.
        foreach (var line in devices.Where(d => d.Serial is not null).GroupBy(d => d.Serial!.Path))
        {
            var settings = line.Select(d => d.Serial!).Distinct().ToList();
            if (settings.Count > 1)
            {
                throw new InvalidOperationException(
                    $"devices {string.Join(", ", line.Select(d => d.Id))} share {line.Key} but disagree on its settings ({string.Join(" vs ", settings)})");
            }
        }

        return devices.Select(d => Create(d, devices)).ToList();
    }

    private IDevicePoller Create(DeviceConfig device, IReadOnlyList<DeviceConfig> all) => device.Bus switch
    {
        Buses.ModbusTcp or Buses.ModbusRtu => new ModbusDevicePoller(device, ClientFor(device, all), time, loggers.CreateLogger<ModbusDevicePoller>()),
        Buses.Ezo => Sensor(device, EzoPoller.Create(device, serialPorts, time)),
        Buses.Ds18b20 => Sensor(device, GpioPollers.Ds18b20(device)),
        Buses.Bme280 => Sensor(device, GpioPollers.Bme280(device)),
        Buses.Max31855 => Sensor(device, GpioPollers.Max31855(device)),
        Buses.DigitalInput => Sensor(device, GpioPollers.DigitalInput(device, time)),
        _ => throw new NotSupportedException($"device {device.Id}: bus {device.Bus} is not supported by this build of the edge agent"),
    };

    private SensorPoller Sensor(DeviceConfig device, (IReadOnlyList<(string, string)> Fields, Func<CancellationToken, Task<SensorSample>> Read) driver) =>
        new(device, driver.Fields, driver.Read, time, loggers.CreateLogger<SensorPoller>());

    /// <summary>
    /// A client on the transport the device's poller uses, opened now if polling has not opened it yet. Commands
    /// write through it, so a write waits its turn behind the polls: an RS-485 line carries one transaction at a time.
    /// </summary>
    public ModbusClient ClientFor(DeviceConfig device, IReadOnlyList<DeviceConfig> all)
    {
        var key = device.Bus == Buses.ModbusRtu ? $"serial:{device.Serial!.Path}" : $"tcp:{device.Address}";
        lock (_transports)
        {
            if (!_transports.TryGetValue(key, out var transport))
            {
                transport = Open(device, all);
                _transports[key] = transport;
            }

            return new ModbusClient(transport);
        }
    }

    private IModbusTransport Open(DeviceConfig device, IReadOnlyList<DeviceConfig> all)
    {
        if (device.Bus == Buses.ModbusRtu)
        {
            // One timeout per line: the longest any of its devices asks for.
            var timeout = all.Where(d => d.Serial?.Path == device.Serial!.Path).Max(d => d.Timeout);
            return new ModbusRtuTransport(serialPorts.Open(device.Serial!), timeout);
        }

        InventoryLoader.TryParseHostPort(device.Address, out var host, out var port);
        return new ModbusTcpTransport(host, port, device.Timeout, time: time);
    }

    public async ValueTask DisposeAsync()
    {
        List<IModbusTransport> transports;
        lock (_transports)
        {
            transports = [.. _transports.Values];
            _transports.Clear();
        }

        foreach (var t in transports)
        {
            await t.DisposeAsync().ConfigureAwait(false);
        }
    }
}
