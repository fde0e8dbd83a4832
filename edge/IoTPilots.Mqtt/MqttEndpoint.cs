using System.Security.Cryptography.X509Certificates;

namespace IoTPilots.Mqtt;

/// <summary>
/// An MQTT broker named by a URL such as <c>mqtt://user:pass@127.0.0.1:1883</c> or <c>mqtts://host:8883</c>;
/// <c>?protocol=3.1.1</c> speaks MQTT 3.1.1 instead of 5 (NATS's MQTT gateway serves 3.1.1 only: docs/scaling.md).
/// </summary>
public sealed record MqttEndpoint(string Host, int Port, bool Tls, string? Username, string? Password)
{
    /// <summary>MQTT 3.1.1 instead of 5: no receive maximum, no session expiry, no "no matching subscribers" reason.</summary>
    public bool Mqtt311 { get; init; }

    /// <summary>The only certificate authorities the broker's chain may end at (<c>PILOTS_MQTT_CA</c>); null: the system's roots.</summary>
    public X509Certificate2Collection? TrustedCa { get; init; }

    /// <summary>Client certificate for mutual TLS (<c>PILOTS_MQTT_CLIENT_CERT</c>); it implies TLS.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    public static MqttEndpoint Parse(string url, string source = "PILOTS_MQTT_URL")
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "mqtts" or "tcp" or "ssl"))
        {
            throw new FormatException($"{source}: '{url}' is not an MQTT URL (expected mqtt://[user:pass@]host[:port] or mqtts://...)");
        }

        var tls = uri.Scheme is "mqtts" or "ssl";
        var port = uri.IsDefaultPort || uri.Port <= 0 ? (tls ? 8883 : 1883) : uri.Port;
        var (user, pass) = SplitUserInfo(uri);
        var mqtt311 = uri.Query switch
        {
            "" or "?protocol=5" => false,
            "?protocol=3.1.1" => true,
            _ => throw new FormatException($"{source}: '{uri.Query}' is not a protocol option (expected ?protocol=3.1.1 or ?protocol=5, or none for 5)"),
        };
        return new MqttEndpoint(uri.Host, port, tls, user, pass) { Mqtt311 = mqtt311 };
    }

    public override string ToString() => $"{(Tls ? "mqtts" : "mqtt")}://{Host}:{Port}{(Mqtt311 ? "?protocol=3.1.1" : "")}";

    public static (string? User, string? Password) SplitUserInfo(Uri uri)
    {
        if (string.IsNullOrEmpty(uri.UserInfo))
        {
            return (null, null);
        }

        var parts = uri.UserInfo.Split(':', 2);
        return (Uri.UnescapeDataString(parts[0]), parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : null);
    }
}
