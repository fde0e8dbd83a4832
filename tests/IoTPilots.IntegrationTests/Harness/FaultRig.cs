using System.Net;
using IoTPilots.Cloud.Influx;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Queue;
using IoTPilots.FirmwareSim;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>
/// What the end-to-end fault tests share: one simulated RAS tank PLC, an edge inventory that polls it into its own
/// queue folder, and the cloud run as its real executable against the test servers.
/// </summary>
public static class FaultRig
{
    /// <summary>A Modbus TCP PLC with one <c>ras-tank-sim</c> tank at unit 1, answering steady values.</summary>
    public static ModbusTcpServer StartTank() => StartTank(out _);

    /// <summary>As <see cref="StartTank()"/>, handing back the tank so that a test can change its readings.</summary>
    public static ModbusTcpServer StartTank(out SimulatedModbusDevice tank)
    {
        var plc = new ModbusTcpServer(IPAddress.Loopback, 0);
        tank = new SimulatedModbusDevice(ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, "ras-tank-sim.yaml")), plc.AddUnit(1));
        tank.Set("do_mg_l", 6.5);
        tank.Set("temp_c", 28.4);
        plc.Start();
        return plc;
    }

    /// <summary>Writes <c>{dir}/edge.yaml</c>: the gateway polls tank-01 on <paramref name="plc"/>, one message per poll.</summary>
    public static async Task<string> WriteInventoryAsync(string dir, string gateway, string site, ModbusTcpServer plc, string pollInterval, string queueDir, string queueExtra = "")
    {
        var file = Path.Combine(dir, "edge.yaml");
        await File.WriteAllTextAsync(file, $"""
            gateway: {gateway}
            site: {site}
            pilot: aquaculture
            queue:
              dir: {queueDir}
              {queueExtra}
            devices:
              - id: tank-01
                bus: modbus-tcp
                address: 127.0.0.1:{plc.Port}
                poll_interval: {pollInterval}
                profile: ras-tank-sim
            """);
        return file;
    }

    /// <summary>
    /// One inventory per gateway, <c>{dir}/inventories/{gateway}.yaml</c>, each polling tank-01 on <paramref name="plc"/>
    /// every 200 ms into its own queue, <c>{dir}/queue-{gateway}</c> (<see cref="QueuedLast"/>): the gateways a test
    /// provisions broker credentials for. Returns the inventories' folder.
    /// </summary>
    public static async Task<string> WriteGatewayInventoriesAsync(string dir, ModbusTcpServer plc, params (string Gateway, string Site)[] gateways)
    {
        var inventories = Directory.CreateDirectory(Path.Combine(dir, "inventories")).FullName;
        foreach (var (gateway, site) in gateways)
        {
            var file = await WriteInventoryAsync(dir, gateway, site, plc, "200ms", Path.Combine(dir, "queue-" + gateway));
            File.Move(file, Path.Combine(inventories, gateway + ".yaml"));
        }

        return inventories;
    }

    /// <summary>How many records a gateway of <see cref="WriteGatewayInventoriesAsync"/> still queues, and its last seq.</summary>
    public static (int Count, long Last) QueuedLast(string dir, string gateway)
    {
        using var queue = DiskQueue.Open(new DiskQueueOptions { Directory = Path.Combine(dir, "queue-" + gateway) }, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        return (queue.Count, queue.LastSeq);
    }

    /// <summary>The cloud executable on the test broker and database, writing the delivery summary every second.</summary>
    /// <param name="extra">More settings (PILOTS_RULES, PILOTS_WEBHOOK_URL, ...).</param>
    public static ChildProcess Cloud(Servers servers, InfluxWriter influx, string group, string worker, string alertDb, int httpPort, Dictionary<string, string>? extra = null) => new(
        "cloud/IoTPilots.Cloud",
        ["--urls", $"http://127.0.0.1:{httpPort}"],
        new(extra ?? [])
        {
            ["PILOTS_MQTT_URL"] = $"mqtt://{servers.Mqtt.Host}:{servers.Mqtt.Port}",
            ["PILOTS_INFLUX_URL"] = servers.InfluxUrl,
            ["PILOTS_INFLUX_DB"] = influx.Endpoint.Database,
            ["PILOTS_INGEST_GROUP"] = group,
            ["PILOTS_INGEST_WORKER"] = worker,
            ["PILOTS_DELIVERY_INTERVAL_S"] = "1",
            ["PILOTS_ALERT_DB"] = alertDb,
        });
}
