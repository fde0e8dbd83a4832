using System.Text.Json;

namespace IoTPilots.Contract;

/// <summary>
/// The edge's own account of data it had to drop (a full or expired store-and-forward queue), published on
/// <c>pilots/v1/{site}/{gateway}/gap</c> with the gateway's next sequence number. Sequence numbers
/// <see cref="FirstSeq"/>..<see cref="LastSeq"/> that never arrive are explained by it, so nothing is lost silently.
/// </summary>
public sealed record GapReport(string Site, string Gateway, long Seq, long FirstSeq, long LastSeq, int Messages, long Readings, DateTimeOffset From, DateTimeOffset To, string Reason)
{
    /// <summary>The numbering <see cref="Seq"/>, <see cref="FirstSeq"/> and <see cref="LastSeq"/> belong to (see <see cref="TelemetryMessage.Epoch"/>).</summary>
    public string Epoch { get; init; } = "";

    /// <summary>
    /// Of <see cref="Messages"/>, how many were refused before they got a sequence number (a full queue in
    /// drop-newest mode): they leave no hole in the numbering, so they must not explain one. Null in reports from
    /// edges older than this field; <see cref="NumberedMessages"/> then infers it.
    /// </summary>
    public int? Unnumbered { get; init; }

    /// <summary>
    /// Dropped messages that had a sequence number, so the holes they explain. Older edges did not say: their
    /// drop-newest reports carry <c>first_seq</c> 0 (no seq at all), and a numbered drop spans at most
    /// <c>last_seq − first_seq + 1</c> numbers.
    /// </summary>
    public long NumberedMessages => Unnumbered is { } u
        ? Math.Max(0, Messages - u)
        : FirstSeq <= 0 ? 0 : Math.Min(Messages, LastSeq - FirstSeq + 1);

    public static string Topic(string site, string gateway) => Topics.Status(site, gateway)[..^"status".Length] + "gap";

    public byte[] Encode() => GatewayJson.Encode(Site, Gateway, json =>
    {
        json.WriteNumber("seq", Seq);
        if (Epoch.Length > 0)
        {
            json.WriteString("epoch", Epoch);
        }

        json.WriteNumber("first_seq", FirstSeq);
        json.WriteNumber("last_seq", LastSeq);
        json.WriteNumber("messages", Messages);
        if (Unnumbered is { } unnumbered)
        {
            json.WriteNumber("unnumbered", unnumbered);
        }

        json.WriteNumber("readings", Readings);
        json.WriteNumber("from", From.ToUnixTimeMilliseconds());
        json.WriteNumber("to", To.ToUnixTimeMilliseconds());
        json.WriteString("reason", Reason);
    });

    /// <summary>Parses a gap report, or returns null with the reason in <paramref name="error"/>.</summary>
    public static GapReport? TryDecode(ReadOnlySpan<byte> payload, out string error)
    {
        error = "";
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var r = doc.RootElement;
            if (r.GetProperty("v").GetInt32() != TelemetryMessage.CurrentVersion)
            {
                error = "$.v: unsupported contract version";
                return null;
            }

            var epoch = r.TryGetProperty("epoch", out var e) ? e.GetString() ?? "" : "";
            int? unnumbered = r.TryGetProperty("unnumbered", out var u) ? u.GetInt32() : null;
            var messages = r.GetProperty("messages").GetInt32();
            if (unnumbered is < 0 || unnumbered > messages)
            {
                error = $"$.unnumbered: {unnumbered} is not between 0 and messages ({messages})";
                return null;
            }

            if (!TelemetryMessage.IsValidEpoch(epoch))
            {
                error = $"$.epoch: '{epoch}' is not a valid epoch";
                return null;
            }

            return new GapReport(
                r.GetProperty("site").GetString()!,
                r.GetProperty("gateway").GetString()!,
                r.GetProperty("seq").GetInt64(),
                r.GetProperty("first_seq").GetInt64(),
                r.GetProperty("last_seq").GetInt64(),
                messages,
                r.GetProperty("readings").GetInt64(),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetProperty("from").GetInt64()),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetProperty("to").GetInt64()),
                r.GetProperty("reason").GetString() ?? "") { Epoch = epoch, Unnumbered = unnumbered };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            error = $"malformed gap report: {ex.Message}";
            return null;
        }
    }
}
