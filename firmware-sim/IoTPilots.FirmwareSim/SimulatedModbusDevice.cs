using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// Writes engineering values into a <see cref="ModbusSlave"/> through a device profile, the same register
/// map the edge reads with, so simulated and real devices share one map.
/// </summary>
public sealed class SimulatedModbusDevice(DeviceProfile profile, ModbusSlave slave)
{
    public DeviceProfile Profile { get; } = profile;

    public ModbusSlave Slave { get; } = slave;

    public void Set(string signal, double engineeringValue) => SetRaw(signal, Signal(signal).ToRaw(engineeringValue));

    /// <summary>Stores a raw value as the device would, e.g. a controller's sensor-break code.</summary>
    public void SetRaw(string signal, double raw)
    {
        var s = Signal(signal);
        if (s.IsBitTable)
        {
            Slave.SetBit(s.Table, s.Address, raw != 0);
            return;
        }

        if (s.Type == SignalType.Bit)
        {
            // A bit inside a status word: change only that bit.
            var word = Slave.GetRegisters(s.Table, s.Address, 1)[0];
            var mask = (ushort)(1 << s.BitIndex);
            Slave.SetRegisters(s.Table, s.Address, [raw != 0 ? (ushort)(word | mask) : (ushort)(word & ~mask)]);
            return;
        }

        Slave.SetRegisters(s.Table, s.Address, RegisterCodec.Encode(raw, s.Type, s.Order));
    }

    /// <summary>The engineering value the registers hold now, e.g. a coil a master has written.</summary>
    public double Get(string signal)
    {
        var s = Signal(signal);
        if (s.IsBitTable)
        {
            return s.ToEngineering(Slave.GetBit(s.Table, s.Address) ? 1 : 0);
        }

        return s.ToEngineering(RegisterCodec.Decode(Slave.GetRegisters(s.Table, s.Address, s.RegisterCount), s.Type, s.Order, s.BitIndex));
    }

    private SignalDefinition Signal(string name) =>
        Profile.Signals.FirstOrDefault(x => x.Name == name)
        ?? throw new ArgumentException($"profile {Profile.Id} has no signal '{name}'", nameof(name));
}
