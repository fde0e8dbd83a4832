using System.Net;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace IoTPilots.IntegrationTests;

[Collection(ServersCollection.Name)]
public sealed class EndToEndTests(Servers servers) : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(1500);
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-e2e-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Simulated_tank_readings_arrive_in_influxdb_with_tags_fields_and_edge_timestamps()
    {
        // A simulated tank served over Modbus TCP with the shipped ras-tank-sim register map.
        await using var modbus = new ModbusTcpServer(IPAddress.Loopback, 0);
        var tank = new SimulatedModbusDevice(ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, "ras-tank-sim.yaml")), modbus.AddUnit(1));
        modbus.Start();
        tank.Set("do_mg_l", 6.52);
        tank.Set("temp_c", 28.3);
        tank.Set("ph", 7.95);
        tank.Set("salinity_ppt", 20.1);

        var inventoryFile = Path.Combine(_dir, "edge.yaml");
        await File.WriteAllTextAsync(inventoryFile, $"""
            gateway: gw-e2e-01
            site: e2e-site
            pilot: aquaculture
            queue:
              dir: {_dir}/queue
            devices:
              - id: tank-01
                bus: modbus-tcp
                address: 127.0.0.1:{modbus.Port}
                unit: 1
                poll_interval: {PollInterval.TotalMilliseconds}ms
                profile: ras-tank-sim
            """);
        var influx = await servers.NewDatabaseAsync("e2e");
        var log = new ErrorLog();
        using var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log);
        using var edge = Hosts.Edge(InventoryLoader.Load(inventoryFile), servers.Mqtt, log);
        await cloud.StartAsync();
        await edge.StartAsync();

        // The water-quality registers: the profile's coils (backup aerator, manual mode) are another request, stamped
        // at their own sampling time, so their rows carry no DO.
        const string query = "SELECT * FROM telemetry WHERE device = 'tank-01' AND do_mg_l >= 0 ORDER BY time ASC";
        var first = await Eventually.ValueAsync(
            async () => (await influx.RowsAsync(query)).FirstOrDefault(),
            TimeSpan.FromSeconds(60),
            "the first tank reading in InfluxDB");
        Assert.Equal(6.52, first["do_mg_l"].GetDouble(), 9);
        Assert.Equal(28.3, first["temp_c"].GetDouble(), 9);
        Assert.Equal(7.95, first["ph"].GetDouble(), 9);
        Assert.Equal(20.1, first["salinity_ppt"].GetDouble(), 9);
        Assert.Equal("aquaculture", first["pilot"].GetString());
        Assert.Equal("e2e-site", first["site"].GetString());
        Assert.Equal("gw-e2e-01", first["gateway"].GetString());

        // The stored time is the edge's sampling time: a value changed between t0 and t1 is first stored
        // with a timestamp no later than one poll interval after t1.
        var t0 = DateTimeOffset.UtcNow;
        tank.Set("do_mg_l", 3.21);
        var t1 = DateTimeOffset.UtcNow;
        var changed = await Eventually.ValueAsync(
            async () => (await influx.RowsAsync(query)).FirstOrDefault(r => Math.Abs(r["do_mg_l"].GetDouble() - 3.21) < 1e-9),
            TimeSpan.FromSeconds(60),
            "the changed DO value in InfluxDB");
        var stamped = DateTimeOffset.FromUnixTimeMilliseconds(changed["time"].GetInt64());
        Assert.InRange(stamped, t0.AddMilliseconds(-500), t1 + PollInterval + TimeSpan.FromMilliseconds(500));

        await edge.StopAsync();
        await cloud.StopAsync();
        var stats = cloud.Services.GetRequiredService<IngestionStats>();
        Assert.Equal(0, stats.Rejected);
        Assert.Empty(log.Errors);
    }
}
