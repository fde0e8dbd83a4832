using IoTPilots.Cloud.Influx;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>The real cloud program (Program.cs, as deployed) on the test broker and a test database.</summary>
public static class CloudProcess
{
    public static ChildProcess Start(Servers servers, InfluxWriter influx, Dictionary<string, string>? env = null)
    {
        env ??= [];
        env.TryAdd("PILOTS_MQTT_URL", $"mqtt://127.0.0.1:{servers.MqttPort}");
        env.TryAdd("PILOTS_INFLUX_URL", servers.InfluxUrl);
        env.TryAdd("PILOTS_INFLUX_DB", influx.Endpoint.Database);
        env.TryAdd("PILOTS_ALERT_DB", Path.Combine(Directory.CreateTempSubdirectory("pilots-cloud-").FullName, "alerts.db"));
        var cloud = new ChildProcess("cloud/IoTPilots.Cloud", ["--urls", $"http://127.0.0.1:{Servers.FreePort()}"], env);
        cloud.Start();
        return cloud;
    }
}
