using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The edge agent compiled ahead of time to native code (edge README, "Native build"): trimming removes whatever
/// the compiler cannot see used, so this build is run for real, not assumed to behave as the JIT build does.
/// <c>./run test</c> publishes it first and names it in <c>PILOTS_EDGE_NATIVE</c>; there it is required.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class NativeEdgeTests(Servers servers) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-native-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string NativeAgent()
    {
        var path = Environment.GetEnvironmentVariable("PILOTS_EDGE_NATIVE");
        if (path is { Length: > 0 } && File.Exists(path))
        {
            return path;
        }

        Assert.False(Environment.GetEnvironmentVariable("PILOTS_NATIVE_REQUIRED") == "1", $"PILOTS_EDGE_NATIVE ({path ?? "unset"}) names no native edge build, and PILOTS_NATIVE_REQUIRED=1");
        Skip.If(true, "no native edge build (PILOTS_EDGE_NATIVE); './run test' publishes one");
        return "";
    }

    [SkippableFact]
    public async Task The_native_agent_polls_a_simulated_tank_and_its_readings_are_stored()
    {
        var agent = NativeAgent();
        await using var plc = FaultRig.StartTank(out var tank);
        tank.Set("do_mg_l", 5.75);
        var inventory = await FaultRig.WriteInventoryAsync(_dir, "gw-native", "native-site", plc, "500ms", Path.Combine(_dir, "queue"));
        var influx = await servers.NewDatabaseAsync("native");
        var log = new ErrorLog();
        using var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log);
        await cloud.StartAsync();
        using var edge = ChildProcess.Native(agent, new() { ["PILOTS_MQTT_URL"] = $"mqtt://{servers.Mqtt.Host}:{servers.Mqtt.Port}" }, "--inventory", inventory);
        edge.Start();

        var row = await Eventually.ValueAsync(
            async () => (await influx.RowsAsync("SELECT * FROM telemetry WHERE device = 'tank-01' AND do_mg_l >= 0")).FirstOrDefault(),
            TimeSpan.FromSeconds(60),
            "a reading of the native agent in InfluxDB");
        Assert.Equal(5.75, row["do_mg_l"].GetDouble(), 9);
        Assert.Equal("gw-native", row["gateway"].GetString());
        Assert.Equal("native-site", row["site"].GetString());
        edge.Terminate();
        await cloud.StopAsync();
        Assert.Empty(log.Errors);
    }

    [SkippableFact]
    public async Task The_native_agent_refuses_a_bad_inventory_naming_file_line_and_field()
    {
        var agent = NativeAgent();
        var inventory = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(inventory, """
            gateway: gw-native
            site: native-site
            pilot: aquaculture
            devices:
              - id: tank-01
                bus: modbus-tcp
                address: 127.0.0.1:502
                poll_interval: soon
                profile: ras-tank-sim
            """);
        using var edge = ChildProcess.Native(agent, new() { ["PILOTS_MQTT_URL"] = "mqtt://127.0.0.1:1" }, "--inventory", inventory);
        edge.Start();

        Assert.Equal(2, await edge.ExitCodeAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(edge.Output, l => l.Contains("bad.yaml", StringComparison.Ordinal) && l.Contains("poll_interval", StringComparison.Ordinal));
    }
}
