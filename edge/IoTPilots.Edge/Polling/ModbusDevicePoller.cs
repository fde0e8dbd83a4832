using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Polling;

/// <summary>
/// Polls one Modbus device: reads its planned blocks, decodes each signal, and stamps every reading with the
/// time the block was read. Honest quality: a failed block yields comm-failure readings with no value (the
/// last value is never re-sent with a new timestamp); a sensor-break value yields bad quality.
/// After <see cref="DeviceConfig.OfflineAfter"/> consecutive failed polls the device is offline until it answers.
/// </summary>
public sealed class ModbusDevicePoller : IDevicePoller
{
    private readonly ModbusClient _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<ReadBlock> _plan;
    private readonly Dictionary<string, (double Value, DateTimeOffset At)> _lastPublished = [];
    private readonly DeviceHealth _health;

    public ModbusDevicePoller(DeviceConfig device, ModbusClient client, TimeProvider time, ILogger logger)
    {
        Device = device;
        _client = client;
        _time = time;
        _logger = logger;
        _plan = ReadPlanner.Plan(device.Signals.Where(s => s.Type != SignalType.String), device.MaxGap);
        _health = new DeviceHealth(device.Id, device.Address, device.OfflineAfter, device.PollInterval, time, logger);
    }

    public DeviceConfig Device { get; }

    public bool Online => _health.Online;

    public IReadOnlyList<ReadBlock> Plan => _plan;

    /// <summary>A value is republished at least this often even inside its deadband, so "no data" means no data.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromMinutes(1);

    public async Task<IReadOnlyList<Reading>> PollAsync(CancellationToken cancellationToken)
    {
        var readings = new List<Reading>(Device.Signals.Count);
        if (_health.BackingOff)
        {
            // An offline device is not asked on every poll, so it cannot hold up its line; its signals
            // still report comm-failure, so the gap is visible.
            var now = _time.GetUtcNow();
            readings.AddRange(_plan.SelectMany(b => b.Signals).Select(s => new Reading(s.Name, now, null, s.Unit, Quality.CommFailure)));
            return readings;
        }

        var failedBlocks = 0;
        var lastError = "";
        foreach (var block in _plan)
        {
            var (values, error, at) = await ReadBlockAsync(block, cancellationToken).ConfigureAwait(false);
            if (values is null)
            {
                failedBlocks++;
                lastError = error;
                foreach (var s in block.Signals)
                {
                    readings.Add(new Reading(s.Name, at, null, s.Unit, Quality.CommFailure));
                }

                _logger.LogDebug("Device {Device}: {Table} {Address}+{Count} failed: {Error}", Device.Id, block.Table, block.Address, block.Count, error);
                continue;
            }

            foreach (var s in block.Signals)
            {
                var reading = Decode(s, block, values, at);
                if (reading is not null)
                {
                    readings.Add(reading);
                }
            }
        }

        if (failedBlocks == _plan.Count && _plan.Count > 0)
        {
            _health.Failed(lastError);
        }
        else
        {
            _health.Succeeded();
        }

        return readings;
    }

    private Reading? Decode(SignalDefinition s, ReadBlock block, object values, DateTimeOffset at)
    {
        var offset = s.Address - block.Address;
        double raw = values switch
        {
            ushort[] regs => RegisterCodec.Decode(regs.AsSpan(offset, s.RegisterCount), s.Type, s.Order, s.BitIndex),
            bool[] bits => bits[offset] ? 1 : 0,
            _ => double.NaN,
        };
        if (s.BadValues.Contains(raw))
        {
            return new Reading(s.Name, at, null, s.Unit, Quality.Bad);
        }

        var value = s.ToEngineering(raw);
        if (!double.IsFinite(value))
        {
            return new Reading(s.Name, at, null, s.Unit, Quality.Bad);
        }

        if (s.Deadband > 0 && _lastPublished.TryGetValue(s.Name, out var last)
            && Math.Abs(value - last.Value) < s.Deadband && at - last.At < Heartbeat)
        {
            return null;
        }

        _lastPublished[s.Name] = (value, at);
        return new Reading(s.Name, at, value, s.Unit, Quality.Good);
    }

    private async Task<(object? Values, string Error, DateTimeOffset At)> ReadBlockAsync(ReadBlock block, CancellationToken cancellationToken)
    {
        var error = "";
        for (var attempt = 0; attempt <= Device.Retries; attempt++)
        {
            var at = _time.GetUtcNow();
            try
            {
                object values = block.Table is Table.Coil or Table.DiscreteInput
                    ? await _client.ReadBitsAsync(Device.UnitId, block.Table, block.Address, block.Count, cancellationToken).ConfigureAwait(false)
                    : await _client.ReadRegistersAsync(Device.UnitId, block.Table, block.Address, block.Count, cancellationToken).ConfigureAwait(false);
                return (values, "", at);
            }
            catch (ModbusExceptionResponse ex)
            {
                // The device answered: retrying will not change its mind.
                return (null, ex.Message, at);
            }
            catch (Exception ex) when (ex is ModbusTimeoutException or ModbusFrameException or IOException or System.Net.Sockets.SocketException)
            {
                error = ex.Message;
            }
        }

        return (null, error, _time.GetUtcNow());
    }
}
