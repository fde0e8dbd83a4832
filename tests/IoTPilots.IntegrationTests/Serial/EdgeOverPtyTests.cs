using IoTPilots.Contract;
using IoTPilots.Edge.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Serial;
using IoTPilots.Edge.Serial.Ezo;
using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Serial;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPilots.IntegrationTests.Serial;

/// <summary>The edge's real serial path (System.IO.Ports on a pty slave) against simulated devices on the master.</summary>
public sealed class EdgeOverPtyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-pty-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Inventory Load(string yaml)
    {
        var file = Path.Combine(_dir, "inventory.yaml");
        File.WriteAllText(file, yaml);
        return InventoryLoader.Load(file);
    }

    [Fact]
    public async Task Rtu_probe_answers_over_a_pty_while_a_dead_unit_on_the_same_line_is_comm_failure()
    {
        await using var pty = PseudoTerminal.Open(4800);
        var server = new ModbusRtuServer(pty.Master);
        var probe = new SimulatedModbusDevice(ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, "renke-rs-ldo.yaml")), server.AddUnit(1));
        probe.Set("do_mg_l", 6.52);
        probe.Set("do_sat_pct", 88.5);
        probe.Set("temp_c", 28.25);
        using var stop = new CancellationTokenSource();
        var serving = server.RunAsync(stop.Token);
        var inventory = Load($"""
            gateway: gw-1
            site: s
            pilot: aquaculture
            devices:
              - {"{"} id: do-1, bus: modbus-rtu, address: "{pty.SlavePath}?baud=4800", unit: 1, profile: renke-rs-ldo, timeout: 300ms, retries: 0 {"}"}
              - {"{"} id: do-2, bus: modbus-rtu, address: "{pty.SlavePath}?baud=4800", unit: 2, profile: renke-rs-ldo, timeout: 300ms, retries: 0 {"}"}
            """);
        await using var factory = new PollerFactory(TimeProvider.System, NullLoggerFactory.Instance, new SystemSerialPorts());
        var pollers = factory.CreateAll(inventory.Devices);

        var good = await pollers[0].PollAsync(default);
        var dead = await pollers[1].PollAsync(default);
        var goodAgain = await pollers[0].PollAsync(default);

        Assert.All(good.Concat(goodAgain), r => Assert.Equal(Quality.Good, r.Quality));
        Assert.Equal(6.52, good.Single(r => r.Field == "do_mg_l").Value!.Value, 5);
        Assert.Equal(28.25, good.Single(r => r.Field == "temp_c").Value!.Value, 5);
        Assert.All(dead, r => Assert.Equal((Quality.CommFailure, (double?)null), (r.Quality, r.Value)));
        await stop.CancelAsync();
        await serving;
    }

    [Fact]
    public async Task Ezo_ph_circuit_is_read_by_the_edge_poller_in_both_modes()
    {
        foreach (var mode in new[] { "poll", "continuous" })
        {
            await using var pty = PseudoTerminal.Open(9600);
            var emulator = new EzoEmulator(pty.Master, EzoKind.Ph, () => [7.93]);
            using var stop = new CancellationTokenSource();
            var running = emulator.RunAsync(stop.Token);
            var inventory = Load($"""
                gateway: gw-1
                site: s
                pilot: aquaculture
                devices:
                  - {"{"} id: ph-1, bus: ezo, address: "{pty.SlavePath}", profile: atlas-ezo-ph, mode: {mode}, poll_interval: 1s {"}"}
                """);
            await using var factory = new PollerFactory(TimeProvider.System, NullLoggerFactory.Instance, new SystemSerialPorts());
            var poller = factory.CreateAll(inventory.Devices)[0];

            IReadOnlyList<Reading> readings = [];
            await Harness.Eventually.TrueAsync(
                async () => (readings = await poller.PollAsync(stop.Token)).Any(r => r.Quality == Quality.Good),
                TimeSpan.FromSeconds(20),
                $"a good pH reading in {mode} mode");

            var ph = Assert.Single(readings);
            Assert.Equal(("ph", 7.93), (ph.Field, ph.Value!.Value));
            await stop.CancelAsync();
            await running;
        }
    }
}
