using IoTPilots.Devices;

namespace IoTPilots.UnitTests.Commands;

/// <summary>A farm gateway with one relay board: a backup aerator coil behind a hand switch, a writable setpoint, a read-only probe.</summary>
internal static class RelayInventory
{
    public static Inventory Load(string dir)
    {
        var file = Path.Combine(dir, "edge.yaml");
        File.WriteAllText(file, """
            gateway: gw-aqua-01
            site: ras-1
            pilot: aquaculture
            devices:
              - id: tank-03-relay
                bus: modbus-tcp
                address: 127.0.0.1:5020
                registers:
                  - { name: backup_aerator_on, table: coil, address: 16, unit: bool, write: { min_interval: 30s, max_run: 30m, lock: manual_mode } }
                  - { name: manual_mode, table: discrete, address: 0, unit: bool }
                  - { name: setpoint_c, table: holding, address: 4, type: int16, scale: 0.1, unit: degC, write: { min: 20, max: 32 } }
                  - { name: water_temp_c, table: input, address: 0, type: int16, scale: 0.1, unit: degC }
            """);
        return InventoryLoader.Load(file);
    }
}
