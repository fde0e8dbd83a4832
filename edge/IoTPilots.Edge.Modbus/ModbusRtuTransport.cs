using IoTPilots.Edge.Serial;

namespace IoTPilots.Edge.Modbus;

/// <summary>
/// Modbus RTU master over one serial line (one RS-485 bus). Transactions are serialized: every unit id on the
/// line shares this one queue, as the bus carries one frame at a time. A response ends when its length is
/// known and complete, or at the inter-frame silence (t3.5, padded by <see cref="SilenceFloor"/> because
/// USB adapters and the OS deliver bytes in bursts).
/// </summary>
public sealed class ModbusRtuTransport(ISerialLine line, TimeSpan timeout) : IModbusTransport
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    public string Endpoint => $"modbus-rtu://{line.Name}?baud={line.BaudRate}";

    /// <summary>Smallest silence taken as the end of a frame; t3.5 alone is below the OS's timer resolution.</summary>
    public TimeSpan SilenceFloor { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Frames dropped for a bad CRC, wrong length or wrong address.</summary>
    public long FrameErrors { get; private set; }

    public async Task<byte[]> SendAsync(byte unitId, byte[] requestPdu, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A late answer to an earlier, timed-out request must not be taken for this one.
            line.DiscardInput();
            await line.WriteAsync(Rtu.Frame(unitId, requestPdu), cancellationToken).ConfigureAwait(false);
            if (unitId == 0)
            {
                return [];
            }

            var frame = await ReadFrameAsync(cancellationToken).ConfigureAwait(false);
            if (frame.Length == 0)
            {
                throw new ModbusTimeoutException($"{Endpoint}: unit {unitId} did not answer within {timeout.TotalMilliseconds:0} ms");
            }

            try
            {
                var (rxUnit, pdu) = Rtu.Parse(frame, Endpoint);
                if (rxUnit != unitId)
                {
                    throw new ModbusFrameException($"{Endpoint}: answer from unit {rxUnit} to a request for unit {unitId}");
                }

                return pdu;
            }
            catch (ModbusFrameException)
            {
                FrameErrors++;
                throw;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<byte[]> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var silence = Rtu.FrameSilence(line.BaudRate, line.BitsPerCharacter);
        if (silence < SilenceFloor)
        {
            silence = SilenceFloor;
        }

        var buffer = new byte[Rtu.MaxFrameLength];
        var length = 0;
        var wait = timeout;
        while (length < buffer.Length)
        {
            var n = await line.ReadAsync(buffer.AsMemory(length), wait, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            length += n;
            wait = silence;
            if (length >= 2)
            {
                var pduLength = Pdu.ExpectedResponseLength(buffer.AsSpan(1, length - 1));
                if (pduLength > 0 && length >= pduLength + 3)
                {
                    length = pduLength + 3;
                    break;
                }
            }
        }

        return buffer[..length];
    }

    public ValueTask DisposeAsync()
    {
        _lock.Dispose();
        return line.DisposeAsync();
    }
}
