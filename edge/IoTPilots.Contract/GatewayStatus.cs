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

    /// <summary>The inventory the gateway runs (version, hash, probation state); null from gateways without remote configuration.</summary>
    public RunningInventory? Inventory { get; init; }

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

        Inventory?.Write(json);
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
            return new GatewayStatus(site!, gateway!, state!, DateTimeOffset.FromUnixTimeMilliseconds(r.GetProperty("ts").GetInt64()), queue, oldest)
            {
                Inventory = r.TryGetProperty("inventory", out var i) && i.ValueKind == JsonValueKind.Object ? RunningInventory.Read(i) : null,
            };
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

/// <summary>
/// The inventory a gateway runs, in its status: <see cref="Version"/> (0 for one installed by hand), the
/// <see cref="Sha256"/> of its text, its <see cref="State"/> (running, probation, rolled-back) and, after a rollback,
/// <see cref="Detail"/> with the reason. <see cref="Highest"/> is the highest version it has run or tried: a new push must exceed it.
/// </summary>
public sealed record RunningInventory(long Version, string Sha256, string State, long Highest, string? Detail = null)
{
    public const string Running = "running";
    public const string Probation = "probation";
    public const string RolledBack = "rolled-back";

    internal void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject("inventory");
        json.WriteNumber("version", Version);
        json.WriteString("sha256", Sha256);
        json.WriteString("state", State);
        json.WriteNumber("highest", Highest);
        if (Detail is { } detail)
        {
            json.WriteString("detail", detail);
        }

        json.WriteEndObject();
    }

    internal static RunningInventory Read(JsonElement i) => new(
        i.GetProperty("version").GetInt64(),
        i.GetProperty("sha256").GetString() ?? "",
        i.GetProperty("state").GetString() ?? "",
        i.TryGetProperty("highest", out var h) && h.ValueKind == JsonValueKind.Number ? h.GetInt64() : i.GetProperty("version").GetInt64(),
        i.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null);
}
