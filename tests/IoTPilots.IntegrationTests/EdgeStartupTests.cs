using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The edge process reads its environment once, at start: a variable given with a value it cannot use stops it
/// with exit code 2 (which systemd does not restart on) and a message naming the variable, before it connects.
/// </summary>
public sealed class EdgeStartupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-edge-startup-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("PILOTS_MQTT_URL", "http://broker.example:1883", "PILOTS_MQTT_URL")]
    [InlineData("PILOTS_MQTT_URL", "mqtt://broker.example:70000", "PILOTS_MQTT_URL")]
    [InlineData("PILOTS_UPLINK", "lorawan", "PILOTS_UPLINK")]
    [InlineData("PILOTS_MQTT_CLIENT_CERT", "/nonexistent/gw.p12", "PILOTS_MQTT_CLIENT_CERT")]
    [InlineData("PILOTS_MQTT_CLIENT_CERT", "{notes}", "PILOTS_MQTT_CLIENT_CERT_PASSWORD")]
    [InlineData("PILOTS_IOTHUB_CONNECTION_STRING", "HostName=hub.azure-devices.net", "PILOTS_IOTHUB_CONNECTION_STRING")]
    [InlineData("PILOTS_MQTT_CA", "/nonexistent/ca.crt", "PILOTS_MQTT_CA")]
    [InlineData("PILOTS_MQTT_CA", "{notes}", "PILOTS_MQTT_CA")]
    public async Task A_wrong_setting_stops_the_edge_with_exit_code_2_naming_the_variable(string name, string value, string named)
    {
        var inventory = Path.Combine(_dir, "edge.yaml");
        await File.WriteAllTextAsync(inventory, "gateway: gw-start\nsite: start-site\npilot: aquaculture\ndevices:\n  - { id: tank-01, bus: modbus-tcp, address: '127.0.0.1:9', profile: ras-tank-sim }\n");
        var notes = Path.Combine(_dir, "notes.txt");
        await File.WriteAllTextAsync(notes, "not a certificate");
        var env = new Dictionary<string, string>
        {
            ["PILOTS_EDGE_STATE_DIR"] = Path.Combine(_dir, "state"),
            [name] = value.Replace("{notes}", notes, StringComparison.Ordinal),
        };
        if (name == "PILOTS_IOTHUB_CONNECTION_STRING")
        {
            env["PILOTS_UPLINK"] = "azure-iothub";
        }

        using var edge = new ChildProcess("edge/IoTPilots.Edge", ["--inventory", inventory], env);
        edge.Start();
        var code = await edge.ExitCodeAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, code);
        Assert.Contains(named, edge.Log, StringComparison.Ordinal);
    }
}
