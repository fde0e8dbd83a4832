using System.Text.Json;

namespace IoTPilots.Contract;

/// <summary>The envelope of the gateway-level messages (status, gap report): contract version, site and gateway, then their own fields.</summary>
internal static class GatewayJson
{
    public static byte[] Encode(string site, string gateway, Action<Utf8JsonWriter> fields)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("v", TelemetryMessage.CurrentVersion);
            json.WriteString("site", site);
            json.WriteString("gateway", gateway);
            fields(json);
            json.WriteEndObject();
        }

        return stream.ToArray();
    }
}
