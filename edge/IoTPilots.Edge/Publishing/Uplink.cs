using IoTPilots.Mqtt;
using IoTPilots.Mqtt.AzureIotHub;

namespace IoTPilots.Edge.Publishing;

/// <summary>
/// Where the gateway sends its data: an MQTT broker (<c>PILOTS_MQTT_URL</c>, the default) or Azure IoT Hub
/// over MQTT (<c>PILOTS_UPLINK=azure-iothub</c> with <c>PILOTS_IOTHUB_CONNECTION_STRING</c>).
/// </summary>
public sealed record Uplink(MqttEndpoint Broker, IotHubConnectionString? Hub)
{
    public static Uplink FromEnvironment(Func<string, string?> env)
    {
        var kind = env("PILOTS_UPLINK") is { Length: > 0 } k ? k : "mqtt";
        return kind switch
        {
            "mqtt" => new Uplink(MqttEndpoint.Parse(env("PILOTS_MQTT_URL") ?? "mqtt://127.0.0.1:1883"), null),
            "azure-iothub" => FromHub(IotHubConnectionString.FromEnvironment(env)),
            _ => throw new FormatException($"PILOTS_UPLINK: '{kind}' is not mqtt or azure-iothub"),
        };
    }

    private static Uplink FromHub(IotHubConnectionString hub) =>
        new(new MqttEndpoint(hub.ConnectHost, IotHubMqtt.Port, Tls: true, null, null), hub);

    public override string ToString() => Hub is { } hub ? $"Azure IoT Hub {hub.HostName} as {hub.DeviceId}" : Broker.ToString();
}
