using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Notifications;

/// <summary>
/// The webhook's signature: <c>X-Pilots-Signature: sha256=HEX(HMAC-SHA256(secret, timestamp + "." + body))</c> with
/// <c>X-Pilots-Timestamp</c> in Unix seconds, the scheme Stripe and Slack use. A receiver recomputes it over the
/// raw body, compares in constant time, refuses a timestamp more than 5 minutes off (a replay of an old message),
/// and drops an <c>Idempotency-Key</c> it has already seen (a replay within the window, or our own retry).
/// </summary>
public static class WebhookSignature
{
    public const string TimestampHeader = "X-Pilots-Timestamp";
    public const string SignatureHeader = "X-Pilots-Signature";
    public const string IdempotencyHeader = "Idempotency-Key";

    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    /// <returns>null when the request is genuine and fresh, else why it is refused.</returns>
    public static string? Verify(string secret, string? timestamp, string? signature, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return $"{TimestampHeader}: missing or not Unix seconds";
        }

        if (Math.Abs(now.ToUnixTimeSeconds() - seconds) > Tolerance.TotalSeconds)
        {
            return $"{TimestampHeader}: {seconds} is more than {Tolerance.TotalMinutes} minutes from now (a replay?)";
        }

        var expected = Encoding.ASCII.GetBytes(Sign(secret, seconds, body));
        var given = Encoding.ASCII.GetBytes(signature ?? "");
        return CryptographicOperations.FixedTimeEquals(expected, given) ? null : $"{SignatureHeader}: does not match the body";
    }
}

/// <summary>What the webhook POSTs: every field the integrators' route promises (issue 10, item 6), snake_case.</summary>
public sealed record WebhookPayload(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("alert_id")] long AlertId,
    [property: JsonPropertyName("pilot")] string Pilot,
    [property: JsonPropertyName("site")] string Site,
    [property: JsonPropertyName("gateway")] string Gateway,
    [property: JsonPropertyName("device")] string Device,
    [property: JsonPropertyName("field")] string Field,
    [property: JsonPropertyName("rule")] string Rule,
    [property: JsonPropertyName("severity")] string Severity,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("level")] int Level,
    [property: JsonPropertyName("value")] double? Value,
    [property: JsonPropertyName("message_vi")] string MessageVi,
    [property: JsonPropertyName("message_en")] string MessageEn,
    [property: JsonPropertyName("text_vi")] string TextVi,
    [property: JsonPropertyName("text_en")] string TextEn,
    [property: JsonPropertyName("at")] DateTime At,
    [property: JsonPropertyName("acknowledged_by")] string? AcknowledgedBy,
    [property: JsonPropertyName("ack_url")] string? AckUrl)
{
    public static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.Create(UnicodeRanges.All) };
}

/// <summary>A JSON POST per outbox row, signed when a secret is set (<see cref="WebhookSignature"/>).</summary>
public sealed class WebhookChannel(HttpClient http, NotificationLinks links, NotificationConfig config, string? secret, TimeProvider time, ConfirmOffers? offers = null) : INotificationChannel
{
    public string Name => Channels.Webhook;

    public static WebhookPayload Payload(OutboxItem item, Alert alert, Route? route, TimeSpan zone, Uri? ackLink, ConfirmOffer? confirm = null, LocalizedText? acted = null)
    {
        var action = route?.Action ?? NotificationConfig.DefaultAction;
        return new WebhookPayload(
            item.IdempotencyKey, alert.Id, alert.Series.Pilot, alert.Series.Site, alert.Series.Gateway, alert.Series.Device, alert.Field, alert.RuleId,
            alert.Severity.ToString().ToLowerInvariant(), item.State, item.Level, item.Value, alert.Message.Vi, alert.Message.En,
            NotificationText.Full(alert, item with { Language = "vi" }, action, zone, ackLink, confirm, acted), NotificationText.Full(alert, item with { Language = "en" }, action, zone, ackLink, confirm, acted),
            item.At.UtcDateTime, alert.AcknowledgedBy, ackLink?.ToString());
    }

    public async Task<SendResult> SendAsync(OutboxItem item, Alert alert, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(Payload(item, alert, config.RouteFor(alert), config.TimeZone, links.For(item), offers?.For(alert, item), offers?.ActionLabel(alert)), WebhookPayload.Json);
        using var request = new HttpRequestMessage(HttpMethod.Post, item.Address) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignature.IdempotencyHeader, item.IdempotencyKey);
        if (!string.IsNullOrEmpty(secret))
        {
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
            request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(secret, timestamp, body));
        }

        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return SendResult.FromHttp(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
    }
}
