using IoTPilots.Edge.Devices;
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

    public void Set(string signal, double engineeringValue)
    {
        var s = Profile.Signals.FirstOrDefault(x => x.Name == signal)
            ?? throw new ArgumentException($"profile {Profile.Id} has no signal '{signal}'", nameof(signal));
        if (s.IsBitTable)
        {
            Slave.SetBit(s.Table, s.Address, engineeringValue != 0);
            return;
        }

        Slave.SetRegisters(s.Table, s.Address, RegisterCodec.Encode(s.ToRaw(engineeringValue), s.Type, s.Order));
    }
}
