using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Polling;
using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Scenarios;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPilots.IntegrationTests;

/// <summary>The simulator over real protocols (TCP, RTU and EZO on ptys, 1-Wire files), read by the edge's own pollers.</summary>
public sealed class SimulatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-sim-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<Dictionary<string, IReadOnlyList<Reading>>> PollAllAsync(IEnumerable<Inventory> inventories, PollerFactory factory)
    {
        var results = new Dictionary<string, IReadOnlyList<Reading>>();
        foreach (var inventory in inventories)
        {
            foreach (var poller in factory.CreateAll(inventory.Devices))
            {
                IReadOnlyList<Reading> readings = [];
                // The continuous-mode EZO circuit needs a second or two before its first line arrives.
                await Harness.Eventually.TrueAsync(
                    async () => (readings = await poller.PollAsync(default)).All(r => r.Quality != Quality.CommFailure),
                    TimeSpan.FromSeconds(20),
                    $"{poller.Device.Id} to answer");
                results[poller.Device.Id] = readings;
            }
        }

        return results;
    }

    [Fact]
    public async Task Every_simulated_device_answers_the_edge_through_its_written_inventory()
    {
        var fleet = new Fleet(DateTimeOffset.UtcNow, 5);
        await using var host = await SimHost.StartAsync(fleet, new SimOptions { W1Directory = Path.Combine(_dir, "w1") });
        var inventories = host.WriteInventories(_dir).Select(f => InventoryLoader.Load(f)).ToList();
        await using var factory = new PollerFactory(TimeProvider.System, NullLoggerFactory.Instance, new SystemSerialPorts());

        var readings = await PollAllAsync(inventories, factory);

        Assert.Equal(["aquaculture", "factory", "port"], inventories.Select(i => i.Devices[0].Pilot));
        Assert.All(readings, kv => Assert.All(kv.Value, r => Assert.Equal(Quality.Good, r.Quality)));
        Assert.InRange(readings["tank-03"].Single(r => r.Field == "do_mg_l").Value!.Value, 6, 7);
        Assert.InRange(readings["tank-01-ph"].Single(r => r.Field == "ph").Value!.Value, 7.4, 8.6);
        Assert.InRange(readings["tank-02-probe"].Single(r => r.Field == "water_temp_c").Value!.Value, 27, 30);
        Assert.InRange(readings["furnace-2-bath"].Single(r => r.Field == "zone_temp_c").Value!.Value, 1500, 1700);
        Assert.InRange(readings["furnace-1-aux"].Single(r => r.Field == "cooling_flow_in_m3_h").Value!.Value, 33, 34);
        Assert.Contains(readings["sts-01"], r => r.Field == "vib_mm_s");
        Assert.Contains(readings["rtg-01"], r => r.Field == "wind_m_s");
    }

    [Fact]
    public async Task Sensor_fault_reaches_the_edge_as_bad_quality_from_the_controllers_sensor_break_value()
    {
        var fleet = new Fleet(DateTimeOffset.UtcNow, 5);
        await using var host = await SimHost.StartAsync(fleet, new SimOptions { W1Directory = Path.Combine(_dir, "w1") });
        new SensorFault("furnace-1", 1).Apply(fleet, SensorFault.At);
        host.Update();
        var factoryInventory = InventoryLoader.Load(host.WriteInventories(_dir).Single(f => f.EndsWith("gw-factory-01.yaml", StringComparison.Ordinal)));
        await using var factory = new PollerFactory(TimeProvider.System, NullLoggerFactory.Instance, new SystemSerialPorts());
        var zone2 = factory.CreateAll(factoryInventory.Devices).Single(p => p.Device.Id == "furnace-1-zone-2");

        var readings = await zone2.PollAsync(default);

        var pv = readings.Single(r => r.Field == "zone_temp_c");
        Assert.Equal((Quality.Bad, (double?)null), (pv.Quality, pv.Value));
        Assert.Equal(Quality.Good, readings.Single(r => r.Field == "zone_sp_c").Quality);
    }

    [Fact]
    public async Task Link_outage_cuts_the_gateways_uplink_and_restores_it()
    {
        using var upstream = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        upstream.Start();
        var port = ((System.Net.IPEndPoint)upstream.LocalEndpoint).Port;
        var fleet = new Fleet(DateTimeOffset.UtcNow, 5);
        await using var host = await SimHost.StartAsync(fleet, new SimOptions { W1Directory = Path.Combine(_dir, "w1"), Broker = Mqtt.MqttEndpoint.Parse($"mqtt://127.0.0.1:{port}") });
        var proxy = host.Proxies["gw-port-01"];
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, proxy.Port);
        using var relayed = await upstream.AcceptTcpClientAsync();

        new LinkOutage("gw-port-01").Apply(fleet, LinkOutage.From);
        host.Update();
        Assert.True(proxy.Down);
        var buffer = new byte[1];
        Assert.Equal(0, await client.GetStream().ReadAsync(buffer));

        new LinkOutage("gw-port-01").Apply(fleet, LinkOutage.Until);
        host.Update();
        Assert.False(proxy.Down);
        Assert.False(host.Proxies["gw-aqua-01"].Down);
    }
}
