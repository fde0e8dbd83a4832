using System.Collections.Concurrent;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Serial;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// Modbus RTU slave side for simulators: several units on one serial line, as on a real RS-485 bus. Frames
/// are delimited by silence; a frame with a bad CRC, or for a unit not on this line, gets no answer, exactly
/// as real devices behave. Broadcasts (unit 0) are executed by every unit and answered by none.
/// </summary>
public sealed class ModbusRtuServer(ISerialLine line)
{
    private readonly ConcurrentDictionary<byte, ModbusSlave> _units = new();

    /// <summary>Units that hear but never answer (a dead slave on a live bus).</summary>
    public ConcurrentDictionary<byte, bool> Silent { get; } = new();

    public long BadFrames { get; private set; }

    public ModbusSlave AddUnit(byte unitId, ModbusSlave? slave = null)
    {
        slave ??= new ModbusSlave();
        _units[unitId] = slave;
        return slave;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var silence = Rtu.FrameSilence(line.BaudRate, line.BitsPerCharacter);
        var floor = TimeSpan.FromMilliseconds(5);
        silence = silence < floor ? floor : silence;
        var buffer = new byte[Rtu.MaxFrameLength];
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await ReadRequestAsync(buffer, silence, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (length == 0)
            {
                continue;
            }

            byte unit;
            byte[] pdu;
            try
            {
                (unit, pdu) = Rtu.Parse(buffer.AsSpan(0, length), line.Name);
            }
            catch (ModbusFrameException)
            {
                BadFrames++;
                continue;
            }

            if (unit == 0)
            {
                foreach (var slave in _units.Values)
                {
                    slave.Handle(pdu);
                }

                continue;
            }

            if (!_units.TryGetValue(unit, out var target) || Silent.ContainsKey(unit))
            {
                continue;
            }

            await line.WriteAsync(Rtu.Frame(unit, target.Handle(pdu)), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<int> ReadRequestAsync(byte[] buffer, TimeSpan silence, CancellationToken cancellationToken)
    {
        var length = await line.ReadAsync(buffer, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        if (length == 0)
        {
            return 0;
        }

        while (length < buffer.Length)
        {
            if (length >= 2)
            {
                var pduLength = Pdu.ExpectedRequestLength(buffer.AsSpan(1, length - 1));
                if (pduLength > 0 && length >= pduLength + 3)
                {
                    return pduLength + 3;
                }
            }

            var n = await line.ReadAsync(buffer.AsMemory(length), silence, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            length += n;
        }

        return length;
    }
}
