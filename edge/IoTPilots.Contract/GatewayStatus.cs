using System.Text.Json;

namespace IoTPilots.Contract;

/// <summary>
/// Retained per-gateway status on <see cref="Topics.Status"/>: a birth message on connect, the broker's
/// last will ("offline") when the gateway vanishes, and "offline" again on a clean shutdown.
/// </summary>
public sealed record GatewayStatus(string Site, string Gateway, string State, DateTimeOffset Timestamp, int QueueDepth, DateTimeOffset? OldestUnsent)
{
    public const string Online = "online";
    public const string Offline = "offline";

    public byte[] Encode() => GatewayJson.Encode(Site, Gateway, json =>
    {
        json.WriteString("state", State);
        json.WriteNumber("ts", Timestamp.ToUnixTimeMilliseconds());
        json.WriteNumber("queue", QueueDepth);
        if (OldestUnsent is { } oldest)
        {
            json.WriteNumber("oldest_unsent", oldest.ToUnixTimeMilliseconds());
        }
        else
        {
            json.WriteNull("oldest_unsent");
        }
    });

    /// <summary>
    /// Parses a status published on <paramref name="topic"/>, or returns null with the reason in <paramref name="error"/>:
    /// a version other than 1, a state other than online/offline, a negative queue, or a site or gateway that differs
    /// from the topic's.
    /// </summary>
    public static GatewayStatus? TryDecode(ReadOnlySpan<byte> payload, string topic, out string error)
    {
        var parts = topic.Split('/');
        if (parts.Length != 5 || parts[0] != Topics.Root || parts[1] != Topics.Version || parts[4] != "status")
        {
            error = $"'{topic}' is not a status topic";
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var r = doc.RootElement;
            var site = r.GetProperty("site").GetString();
            var gateway = r.GetProperty("gateway").GetString();
            var state = r.GetProperty("state").GetString();
            var queue = r.GetProperty("queue").GetInt32();
            error = r.GetProperty("v").GetInt32() != TelemetryMessage.CurrentVersion ? "$.v: unsupported contract version"
                : site != parts[2] || gateway != parts[3] ? $"$.site/$.gateway: {site}/{gateway} differs from the topic's {parts[2]}/{parts[3]}"
                : state is not (Online or Offline) ? $"$.state: '{state}' is not '{Online}' or '{Offline}'"
                : queue < 0 ? $"$.queue: {queue} is negative"
                : "";
            if (error.Length > 0)
            {
                return null;
            }

            var oldest = r.TryGetProperty("oldest_unsent", out var o) && o.ValueKind == JsonValueKind.Number ? DateTimeOffset.FromUnixTimeMilliseconds(o.GetInt64()) : (DateTimeOffset?)null;
            return new GatewayStatus(site!, gateway!, state!, DateTimeOffset.FromUnixTimeMilliseconds(r.GetProperty("ts").GetInt64()), queue, oldest);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            error = $"malformed gateway status: {ex.Message}";
            return null;
        }
    }

    /// <summary>Subscription filter that matches every gateway's status.</summary>
    public const string AllTopics = Topics.Root + "/" + Topics.Version + "/+/+/status";
}
