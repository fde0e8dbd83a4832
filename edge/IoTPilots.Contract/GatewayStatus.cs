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
}
