using System.Diagnostics.CodeAnalysis;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace IoTPilots.Mqtt.AzureIotHub;

/// <summary>
/// What a device (or module) sends IoT Hub over plain MQTT, without the Azure device SDK, as "Communicate with
/// an IoT hub using the MQTT protocol" (learn.microsoft.com/azure/iot/iot-mqtt-connect-to-iot-hub, cited below
/// as "MQTT article") documents it: the CONNECT fields, the telemetry and cloud-to-device topics, and the
/// limits where IoT Hub differs from a general MQTT 3.1.1 broker.
/// </summary>
public static class IotHubMqtt
{
    /// <summary>The api-version the MQTT article puts in the username ("It's recommended to include api-version").</summary>
    public const string ApiVersion = "2021-04-12";

    /// <summary>MQTT over TLS; the hub has no plain port 1883 and refuses connections that skip TLS (MQTT article).</summary>
    public const int Port = 8883;

    /// <summary>The hub speaks MQTT v3.1.1 on 8883 (MQTT article); its MQTT 5 support was a preview, now deprecated.</summary>
    public const MqttProtocolVersion ProtocolVersion = MqttProtocolVersion.V311;

    /// <summary>
    /// Largest device-to-cloud message, 256 KB ("256-kb max message size", MQTT article; "Device-to-cloud
    /// messages can be at most 256 KB", "Create and read IoT Hub messages"; the Python SDK's
    /// TELEMETRY_MESSAGE_SIZE_LIMIT is 262144). The hub counts properties as well as the body.
    /// </summary>
    public const int MaxMessageBytes = 256 * 1024;

    /// <summary>"IoT Hub doesn't support QoS 2 messages. If a device app publishes a message with QoS 2, IoT Hub closes the network connection." (MQTT article)</summary>
    public const MqttQualityOfServiceLevel MaxQualityOfService = MqttQualityOfServiceLevel.AtLeastOnce;

    /// <summary>"IoT Hub doesn't persist Retain messages"; it forwards them with an mqtt-retain property instead (MQTT article).</summary>
    public const bool RetainSupported = false;

    /// <summary>"A device can only subscribe to five topics at a time." (MQTT article)</summary>
    public const int MaxSubscriptions = 5;

    /// <summary>
    /// System property for the body's content type. With <see cref="ContentEncodingProperty"/> it lets the hub
    /// route on, and store as JSON, the message body (MQTT article: <c>$.ct=application%2Fjson&amp;$.ce=utf-8</c>).
    /// </summary>
    public const string ContentTypeProperty = "$.ct";

    public const string ContentEncodingProperty = "$.ce";

    /// <summary>
    /// The largest keep-alive the hub honours: it waits 1.5 keep-alives and caps that wait at 1767 s, the Azure
    /// load balancer's idle timeout, so 1767 / 1.5 = 1177 s (MQTT article, "Default keep-alive timeout").
    /// </summary>
    public static readonly TimeSpan MaxKeepAlive = TimeSpan.FromSeconds(1177);

    /// <summary>One hour, the Azure device SDKs' default token lifetime.</summary>
    public static readonly TimeSpan DefaultTokenTtl = TimeSpan.FromHours(1);

    /// <summary>The property bag that marks a body as UTF-8 JSON: <c>$.ct=application%2Fjson&amp;$.ce=utf-8</c>.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> JsonUtf8Properties { get; } =
        [new(ContentTypeProperty, "application/json"), new(ContentEncodingProperty, "utf-8")];

    /// <summary>CONNECT client id: the device ID, or <c>{deviceId}/{moduleId}</c> for a module (MQTT article).</summary>
    public static string ClientId(IotHubConnectionString connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.ModuleId is null ? connection.DeviceId : $"{connection.DeviceId}/{connection.ModuleId}";
    }

    /// <summary>
    /// CONNECT username: <c>{iotHub-hostname}/{device-id}/?api-version=2021-04-12</c>, or
    /// <c>{hostname}/{device_id}/{module_id}/?api-version=2021-04-12</c> for a module (MQTT article). The host is
    /// the hub's full name even when connecting through a gateway.
    /// </summary>
    public static string Username(IotHubConnectionString connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var identity = connection.ModuleId is null ? connection.DeviceId : $"{connection.DeviceId}/{connection.ModuleId}";
        return $"{connection.HostName}/{identity}/?api-version={ApiVersion}";
    }

    /// <summary>
    /// Telemetry topic: <c>devices/{device-id}/messages/events/</c> (module:
    /// <c>devices/{device-id}/modules/{module-id}/messages/events/</c>) followed by the optional property bag
    /// (MQTT article, "Sending device-to-cloud messages"). The trailing slash is part of the topic.
    /// </summary>
    public static string TelemetryTopic(IotHubConnectionString connection, IEnumerable<KeyValuePair<string, string>>? properties = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var prefix = connection.ModuleId is null
            ? $"devices/{connection.DeviceId}/messages/events/"
            : $"devices/{connection.DeviceId}/modules/{connection.ModuleId}/messages/events/";
        return properties is null ? prefix : prefix + PropertyBag(properties);
    }

    /// <summary>
    /// Topic filter for cloud-to-device messages: <c>devices/{device-id}/messages/devicebound/#</c>. The hub
    /// delivers on <c>devices/{device-id}/messages/devicebound/{property-bag}</c>; the <c>#</c> only admits the
    /// bag. For a module it is the MQTT article's receive filter, <c>devices/{device-id}/modules/{module-id}/#</c>.
    /// </summary>
    public static string CloudToDeviceFilter(IotHubConnectionString connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.ModuleId is null
            ? $"devices/{connection.DeviceId}/messages/devicebound/#"
            : $"devices/{connection.DeviceId}/modules/{connection.ModuleId}/#";
    }

    /// <summary>
    /// Encodes message properties as the MQTT article's <c>{property-bag}</c>:
    /// <c>name1=value1&amp;name2=value2</c>, each name and value URL-encoded "as query strings in the HTTPS
    /// protocol". Names keep a leading <c>$</c>, which marks IoT Hub system properties and which the article
    /// writes unescaped (<c>$.ct=application%2Fjson&amp;$.ce=utf-8</c>); everything outside RFC 3986's unreserved
    /// set is escaped, so a value containing <c>&amp;</c>, <c>=</c> or <c>/</c> cannot split the bag or the topic.
    /// </summary>
    public static string PropertyBag(IEnumerable<KeyValuePair<string, string>> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var bag = new StringBuilder();
        foreach (var (name, value) in properties)
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new ArgumentException("a message property name is empty", nameof(properties));
            }

            ArgumentNullException.ThrowIfNull(value, $"value of message property '{name}'");
            if (bag.Length > 0)
            {
                bag.Append('&');
            }

            bag.Append(PercentEncoding.Escape(name, keepDollar: true)).Append('=').Append(PercentEncoding.Escape(value));
        }

        return bag.ToString();
    }

    /// <summary>
    /// Points an MQTTnet client at the hub as a device (or module) without the SDK: server (the gateway if the
    /// connection string names one, else the hub) on 8883 with TLS, MQTT 3.1.1, client id, and a username and
    /// SAS password from the returned <see cref="IotHubSasCredentials"/>, which mints a token valid for
    /// <paramref name="tokenTtl"/> at every CONNECT. Ask it <see cref="IotHubSasCredentials.MustRenew"/> to know
    /// when to reconnect. Safe to call as <see cref="MqttSession"/>'s <c>configure</c> callback: it overrides
    /// that session's server, client id, protocol, TLS and credentials, and zeroes its MQTT 5 session expiry
    /// interval, which a 3.1.1 CONNECT has no field for (MQTTnet 5.2 drops it silently; zeroed so the options
    /// say what goes on the wire). Clean-session and keep-alive stay as the caller set them; the SDKs connect
    /// with CleanSession 0 so the hub keeps the cloud-to-device subscription across reconnects.
    /// </summary>
    /// <param name="useTls">False only for tests against a local plain-TCP broker.</param>
    /// <param name="host">Overrides the server (default: <see cref="IotHubConnectionString.ConnectHost"/>).</param>
    /// <param name="port">Overrides the port (default: <see cref="Port"/>).</param>
    public static IotHubSasCredentials ConfigureClient(
        MqttClientOptionsBuilder builder,
        IotHubConnectionString connection,
        TimeProvider time,
        TimeSpan tokenTtl,
        bool useTls = true,
        string? host = null,
        int? port = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connection);
        var credentials = new IotHubSasCredentials(connection, time, tokenTtl);
        var server = host ?? connection.ConnectHost;
        builder
            .WithTcpServer(server, port ?? Port)
            .WithClientId(ClientId(connection))
            .WithProtocolVersion(ProtocolVersion)
            .WithSessionExpiryInterval(0)
            .WithCredentials(credentials)
            .WithTlsOptions(tls =>
            {
                tls.UseTls(useTls);
                if (useTls)
                {
                    // Check the certificate against the name dialled (hub or gateway), with the system's trust
                    // store; Azure's DigiCert Global Root G2 ships in the usual CA bundles.
                    tls.WithTargetHost(server);
                }
            });
        return credentials;
    }

    /// <summary>
    /// Whether the hub will take <paramref name="message"/> as telemetry: QoS 0 or 1, no retain flag, and
    /// payload plus topic (where the property bag travels) within <see cref="MaxMessageBytes"/>. Counting the
    /// whole topic is conservative: the hub counts the properties but not the <c>devices/.../</c> prefix.
    /// </summary>
    public static bool IsSendable(MqttApplicationMessage message, [NotNullWhen(false)] out string? reason)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.QualityOfServiceLevel > MaxQualityOfService)
        {
            reason = "IoT Hub does not support QoS 2 and closes the connection on it";
            return false;
        }

        if (message.Retain)
        {
            reason = "IoT Hub does not retain messages";
            return false;
        }

        var size = message.Payload.Length + Encoding.UTF8.GetByteCount(message.Topic ?? "");
        if (size > MaxMessageBytes)
        {
            reason = $"message is {size} bytes with its properties; IoT Hub takes at most {MaxMessageBytes}";
            return false;
        }

        reason = null;
        return true;
    }
}
