using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;

namespace IoTPilots.Edge.Commands;

/// <summary>How a write ended: confirmed (with the value read back, or the value written when the point asks for no read-back), or failed with a reason code.</summary>
public sealed record WriteOutcome(bool Confirmed, string Reason, string Detail, double? ReadBack);

/// <summary>
/// Writes one engineering value to a writable Modbus point and reads it back. Coils take FC05; a one-register value
/// FC06 and a longer one FC16 (Modbus Application Protocol v1.1b3 §6.5, 6.6, 6.12); a bit inside a holding register is
/// read, changed and written back with FC06, leaving its neighbours as they were. Engineering → raw through the
/// point's scale and offset and <see cref="RegisterCodec"/>, the same map the poller reads with. Timeouts and broken
/// frames are retried as the device's polls are (these writes set absolute values, so a repeat does no harm).
/// </summary>
public static class PointWriter
{
    public static async Task<WriteOutcome> WriteAsync(ModbusClient client, DeviceConfig device, SignalDefinition point, double value, CancellationToken cancellationToken)
    {
        try
        {
            await RetryAsync(device, () => WriteOnceAsync(client, device, point, value, cancellationToken)).ConfigureAwait(false);
            if (point.Write is { ReadBack: false })
            {
                return new WriteOutcome(true, CommandReasons.Ok, "written; the point asks for no read-back", null);
            }

            var readBack = await RetryAsync(device, () => ReadAsync(client, device, point, cancellationToken)).ConfigureAwait(false);
            var tolerance = HalfStep(point, value);
            return Math.Abs(readBack - value) <= tolerance
                ? new WriteOutcome(true, CommandReasons.Ok, $"written and read back {readBack}", readBack)
                : new WriteOutcome(false, CommandReasons.ReadBackMismatch, $"{device.Id}.{point.Name}: wrote {value}, read back {readBack}: the device did not take it", readBack);
        }
        catch (ModbusExceptionResponse ex)
        {
            return new WriteOutcome(false, CommandReasons.DeviceRefused, $"{device.Id}: {ex.Message}", null);
        }
        catch (Exception ex) when (IsLinkFailure(ex))
        {
            return new WriteOutcome(false, CommandReasons.Unreachable, $"{device.Id} at {device.Address} did not answer: {ex.Message}", null);
        }
    }

    /// <summary>
    /// How far a read-back may lie from the value asked for and still confirm it: half a raw step in engineering units
    /// (an integer register holds the nearest step), or the rounding of a float register.
    /// </summary>
    public static double HalfStep(SignalDefinition point, double value) => point.Type switch
    {
        SignalType.Float32 => (Math.Abs(value) * 1e-6) + 1e-9,
        SignalType.Float64 => (Math.Abs(value) * 1e-12) + 1e-12,
        SignalType.Bit => 0.5,
        _ => (Math.Abs(point.Scale) / 2) + 1e-9,
    };

    private static async Task WriteOnceAsync(ModbusClient client, DeviceConfig device, SignalDefinition point, double value, CancellationToken cancellationToken)
    {
        if (point.Table == Table.Coil)
        {
            await client.WriteSingleCoilAsync(device.UnitId, point.Address, value != 0, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (point.Type == SignalType.Bit)
        {
            var word = (await client.ReadHoldingRegistersAsync(device.UnitId, point.Address, 1, cancellationToken).ConfigureAwait(false))[0];
            var mask = (ushort)(1 << point.BitIndex);
            await client.WriteSingleRegisterAsync(device.UnitId, point.Address, value != 0 ? (ushort)(word | mask) : (ushort)(word & ~mask), cancellationToken).ConfigureAwait(false);
            return;
        }

        var registers = RegisterCodec.Encode(point.ToRaw(value), point.Type, point.Order);
        if (registers.Length == 1)
        {
            await client.WriteSingleRegisterAsync(device.UnitId, point.Address, registers[0], cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await client.WriteMultipleRegistersAsync(device.UnitId, point.Address, registers, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<double> ReadAsync(ModbusClient client, DeviceConfig device, SignalDefinition point, CancellationToken cancellationToken)
    {
        if (point.Table == Table.Coil)
        {
            return (await client.ReadBitsAsync(device.UnitId, Table.Coil, point.Address, 1, cancellationToken).ConfigureAwait(false))[0] ? 1 : 0;
        }

        var registers = await client.ReadHoldingRegistersAsync(device.UnitId, point.Address, (ushort)point.RegisterCount, cancellationToken).ConfigureAwait(false);
        return point.ToEngineering(RegisterCodec.Decode(registers, point.Type, point.Order, point.BitIndex));
    }

    private static async Task<T> RetryAsync<T>(DeviceConfig device, Func<Task<T>> action)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await action().ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < device.Retries && ex is ModbusTimeoutException or ModbusFrameException)
            {
            }
        }
    }

    private static Task RetryAsync(DeviceConfig device, Func<Task> action) =>
        RetryAsync(device, async () =>
        {
            await action().ConfigureAwait(false);
            return true;
        });

    /// <summary>The device or its line is not there (or is going away as the agent stops).</summary>
    private static bool IsLinkFailure(Exception ex) =>
        ex is ModbusTimeoutException or ModbusFrameException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException or TimeoutException;
}
