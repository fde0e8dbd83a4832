using IoTPilots.Contract;
using IoTPilots.Devices;
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

    /// <summary>
    /// A USB RS-485 adapter, seen as udev's stable link (/dev/serial/by-id/...), that is missing when the agent
    /// starts, then plugged in, unplugged and plugged back in, coming back as a different /dev node each time.
    /// </summary>
    [Fact]
    public async Task Rtu_adapter_missing_at_start_then_unplugged_and_replugged_is_found_again()
    {
        var link = Path.Combine(_dir, "usb-FTDI_RS485-if00-port0");
        var inventory = Load($"""
            gateway: gw-1
            site: s
            pilot: aquaculture
            devices:
              - {"{"} id: do-1, bus: modbus-rtu, address: "{link}?baud=9600", unit: 1, profile: renke-rs-ldo, timeout: 300ms, retries: 0, offline_after: 1000 {"}"}
            """);
        await using var factory = new PollerFactory(TimeProvider.System, NullLoggerFactory.Instance, new SystemSerialPorts());
        var poller = factory.CreateAll(inventory.Devices)[0];

        var absent = await poller.PollAsync(default);
        var first = Plug(link, 6.52);
        var present = await PollUntilAsync(poller, Quality.Good, "a good reading once the adapter is plugged in");
        await first.DisposeAsync();
        var unplugged = await PollUntilAsync(poller, Quality.CommFailure, "comm-failure once the adapter is unplugged");
        await using var second = Plug(link, 7.25);
        var back = await PollUntilAsync(poller, Quality.Good, "a good reading once the adapter is plugged back in");

        Assert.All(absent, r => Assert.Equal(Quality.CommFailure, r.Quality));
        Assert.Equal(6.52, present.Single(r => r.Field == "do_mg_l").Value!.Value, 5);
        Assert.All(unplugged, r => Assert.Null(r.Value));
        Assert.Equal(7.25, back.Single(r => r.Field == "do_mg_l").Value!.Value, 5);
    }

    private static async Task<IReadOnlyList<Reading>> PollUntilAsync(IDevicePoller poller, Quality quality, string what)
    {
        IReadOnlyList<Reading> readings = [];
        await Harness.Eventually.TrueAsync(
            async () => (readings = await poller.PollAsync(default)).Count > 0 && readings.All(r => r.Quality == quality),
            TimeSpan.FromSeconds(30),
            what);
        return readings;
    }

    /// <summary>A simulated Renke probe on a new pty, linked from <paramref name="link"/>; disposing unplugs it.</summary>
    private static Plugged Plug(string link, double doMgL)
    {
        var pty = PseudoTerminal.Open(9600);
        var server = new ModbusRtuServer(pty.Master);
        var probe = new SimulatedModbusDevice(ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, "renke-rs-ldo.yaml")), server.AddUnit(1));
        probe.Set("do_mg_l", doMgL);
        probe.Set("do_sat_pct", 88.5);
        probe.Set("temp_c", 28.25);
        File.Delete(link);
        File.CreateSymbolicLink(link, pty.SlavePath);
        var stop = new CancellationTokenSource();
        return new Plugged(link, pty, stop, server.RunAsync(stop.Token));
    }

    private sealed record Plugged(string Link, PseudoTerminal Pty, CancellationTokenSource Stop, Task Serving) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            File.Delete(Link);
            await Stop.CancelAsync();
            await Serving;
            await Pty.DisposeAsync();
            Stop.Dispose();
        }
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
