using System.Security.Cryptography.X509Certificates;
using IoTPilots.Mqtt;
using IoTPilots.Mqtt.AzureIotHub;
using IoTPilots.Mqtt.Uplinks;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Publishing;

/// <summary>
/// Where the gateway sends its data: an MQTT broker (<c>PILOTS_MQTT_URL</c>, the default, optionally with a client
/// certificate from <c>PILOTS_MQTT_CLIENT_CERT</c> and a private CA from <c>PILOTS_MQTT_CA</c>) or Azure IoT Hub over MQTT (<c>PILOTS_UPLINK=azure-iothub</c>
/// with <c>PILOTS_IOTHUB_CONNECTION_STRING</c>).
/// </summary>
public sealed record Uplink(MqttEndpoint Broker, IotHubConnectionString? Hub)
{
    public const string DefaultBrokerUrl = "mqtt://127.0.0.1:1883";

    /// <summary>Client certificate for a TLS broker, loaded and checked at start.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <exception cref="FormatException">A variable is set to a value that cannot be used; the message names it.</exception>
    public static Uplink FromEnvironment(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var kind = env("PILOTS_UPLINK") is { Length: > 0 } k ? k : "mqtt";
        return kind switch
        {
            "mqtt" => FromBroker(MqttEndpoint.Parse(env("PILOTS_MQTT_URL") is { Length: > 0 } url ? url : DefaultBrokerUrl).WithTlsFromEnvironment(env)),
            "azure-iothub" => FromHub(IotHubConnectionString.FromEnvironment(env)),
            _ => throw new FormatException($"PILOTS_UPLINK: '{kind}' is not mqtt or azure-iothub"),
        };
    }

    private static Uplink FromBroker(MqttEndpoint broker) => new(broker, null) { ClientCertificate = broker.ClientCertificate };

    private static Uplink FromHub(IotHubConnectionString hub) =>
        new(new MqttEndpoint(hub.ConnectHost, IotHubMqtt.Port, Tls: true, null, null), hub);

    /// <summary>The adapter for this uplink; <paramref name="will"/> is the retained status a broker publishes if the gateway vanishes.</summary>
    public IUplink Create(string clientId, string statusTopic, byte[] will, TimeProvider time, ILogger logger) =>
        Hub is { } hub
            ? new IotHubUplink(new IotHubUplinkOptions(hub, time), logger)
            : new BrokerUplink(new BrokerUplinkOptions(Broker, clientId, statusTopic, will) { ClientCertificate = ClientCertificate }, logger);

    public override string ToString() => Hub is { } hub ? $"Azure IoT Hub {hub.HostName} as {hub.DeviceId}" : Broker.ToString();
}
