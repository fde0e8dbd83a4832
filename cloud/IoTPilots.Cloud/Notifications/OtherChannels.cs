using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Rules;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace IoTPilots.Cloud.Notifications;

/// <summary>
/// Telegram Bot API <c>sendMessage</c> (https://core.telegram.org/bots/api#sendmessage) with an inline keyboard:
/// "Acknowledge / Đã nhận" carries <c>ack:{outbox row}</c> as callback data, which <see cref="TelegramPoller"/>
/// turns into an acknowledgement; a second button opens the signed link when links are on.
/// </summary>
public sealed class TelegramChannel(HttpClient http, TelegramSettings settings, string token, NotificationLinks links, NotificationConfig config, ConfirmOffers? offers = null) : INotificationChannel
{
    public const string AckPrefix = "ack:";

    public string Name => Channels.Telegram;

    // "./": a bot token holds a ':' ("123:ABC"), which would otherwise read as a URI scheme.
    public static Uri Method(TelegramSettings settings, string token, string method) =>
        new(new Uri(settings.BaseUrl.ToString().TrimEnd('/') + "/"), $"./bot{token}/{method}");

    public async Task<SendResult> SendAsync(OutboxItem item, Alert alert, CancellationToken cancellationToken)
    {
        var link = links.For(item);
        var buttons = new JsonArray { new JsonObject { ["text"] = "Acknowledge / Đã nhận", ["callback_data"] = AckPrefix + item.Id.ToString(CultureInfo.InvariantCulture) } };
        if (link is not null)
        {
            buttons.Add(new JsonObject { ["text"] = "🔗", ["url"] = link.ToString() });
        }

        var keyboard = new JsonArray { buttons };
        if (offers?.For(alert, item) is { } confirm)
        {
            // A row of its own, in both languages, as the farmer's phone shows it: "Bật máy sục khí dự phòng (tank-03) / Start the backup aerator (tank-03)".
            keyboard.Add(new JsonArray { new JsonObject { ["text"] = $"{confirm.Label.Vi} / {confirm.Label.En}", ["url"] = confirm.Link.ToString() } });
        }

        var action = config.RouteFor(alert)?.Action ?? NotificationConfig.DefaultAction;
        var message = new JsonObject
        {
            ["chat_id"] = item.Address,
            ["text"] = NotificationText.Full(alert, item, action, config.TimeZone, null, acted: offers?.ActionLabel(alert)),
        };
        if (item.State is NoticeStates.Raised or NoticeStates.Escalated or NoticeStates.Reminder or NoticeStates.Flapping or NoticeStates.ActionFailed)
        {
            message["reply_markup"] = new JsonObject { ["inline_keyboard"] = keyboard };
        }

        using var response = await http.PostAsJsonAsync(Method(settings, token, "sendMessage"), message, cancellationToken).ConfigureAwait(false);
        return SendResult.FromHttp(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
    }
}

/// <summary>E-mail over SMTP with MailKit: the headline as subject, the full text (with the signed link) as body.</summary>
public sealed class EmailChannel(EmailSettings settings, Func<string, string?> env, NotificationLinks links, NotificationConfig config, ConfirmOffers? offers = null) : INotificationChannel
{
    public string Name => Channels.Email;

    public async Task<SendResult> SendAsync(OutboxItem item, Alert alert, CancellationToken cancellationToken)
    {
        var action = config.RouteFor(alert)?.Action ?? NotificationConfig.DefaultAction;
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(settings.From));
        message.To.Add(new MailboxAddress(item.Contact, item.Address));
        message.Subject = NotificationText.Headline(alert, item.State, item.Language);
        message.Headers.Add("X-Pilots-Idempotency-Key", item.IdempotencyKey);
        message.Body = new TextPart("plain") { Text = NotificationText.Full(alert, item, action, config.TimeZone, links.For(item), offers?.For(alert, item), offers?.ActionLabel(alert)) };
        using var smtp = new SmtpClient();
        await smtp.ConnectAsync(settings.Host, settings.Port, settings.StartTls ? SecureSocketOptions.StartTls : SecureSocketOptions.None, cancellationToken).ConfigureAwait(false);
        if (settings.UserVariable is { } user && env(user) is { Length: > 0 } name)
        {
            await smtp.AuthenticateAsync(name, env(settings.PasswordVariable ?? "") ?? "", cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await smtp.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (SmtpCommandException ex) when ((int)ex.StatusCode is >= 500 and < 600)
        {
            // A permanent refusal (RFC 5321 5yz: no such mailbox, policy): retrying will not change it.
            return new SendResult(SendStatus.Failed, $"SMTP {(int)ex.StatusCode}: {ex.Message}");
        }

        await smtp.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        return SendResult.Sent;
    }
}

/// <summary>
/// An HTTP SMS gateway described by a template: <c>{phone}</c> and <c>{text}</c> are URL-encoded in the URL,
/// JSON-escaped in a JSON body and form-encoded in any other body; <c>${NAME}</c> in a header is the environment
/// variable NAME (secrets stay out of the file).
/// </summary>
public sealed partial class SmsChannel(HttpClient http, SmsSettings settings, Func<string, string?> env, NotificationLinks links, NotificationConfig config, ConfirmOffers? offers = null) : INotificationChannel
{
    public string Name => Channels.Sms;

    public async Task<SendResult> SendAsync(OutboxItem item, Alert alert, CancellationToken cancellationToken)
    {
        var text = NotificationText.Sms(alert, item, config.RouteFor(alert)?.Action ?? NotificationConfig.DefaultAction, links.For(item), offers?.For(alert, item), offers?.ActionLabel(alert));
        var url = settings.Url.Replace("{phone}", Uri.EscapeDataString(item.Address), StringComparison.Ordinal).Replace("{text}", Uri.EscapeDataString(text), StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(settings.Method), url);
        if (settings.Body is { } template)
        {
            var json = template.TrimStart().StartsWith('{') || template.TrimStart().StartsWith('[');
            string Escape(string s) => json ? JsonEncodedText.Encode(s, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString() : Uri.EscapeDataString(s);
            var body = template.Replace("{phone}", Escape(item.Address), StringComparison.Ordinal).Replace("{text}", Escape(text), StringComparison.Ordinal);
            request.Content = new StringContent(body, Encoding.UTF8, json ? "application/json" : "application/x-www-form-urlencoded");
        }

        foreach (var (name, value) in settings.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, EnvPattern().Replace(value, m => env(m.Groups[1].Value) ?? ""));
        }

        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return SendResult.FromHttp(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex EnvPattern();
}

/// <summary>
/// The Telegram button's callback, by long polling <c>getUpdates</c> (https://core.telegram.org/bots/api#getupdates):
/// it needs no public HTTPS address, which a farm's cloud box behind 4G NAT does not have. A callback acknowledges
/// the alert as the contact the message was sent to, only when it comes from that contact's chat.
/// </summary>
public sealed class TelegramPoller(HttpClient http, TelegramSettings settings, string token, AlertNotifier notifier, TimeProvider time, ILogger<TelegramPoller> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long offset = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                offset = await PollOnceAsync(offset, TimeSpan.FromSeconds(25), stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Telegram getUpdates failed ({Error}); trying again in 5 s", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(5), time, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One getUpdates call; handles the callbacks in it and returns the next offset.</summary>
    public async Task<long> PollOnceAsync(long offset, TimeSpan wait, CancellationToken cancellationToken)
    {
        var url = new Uri(TelegramChannel.Method(settings, token, "getUpdates") + $"?offset={offset}&timeout={(int)wait.TotalSeconds}&allowed_updates=%5B%22callback_query%22%5D");
        using var document = JsonDocument.Parse(await http.GetStringAsync(url, cancellationToken).ConfigureAwait(false));
        foreach (var update in document.RootElement.GetProperty("result").EnumerateArray())
        {
            offset = Math.Max(offset, update.GetProperty("update_id").GetInt64() + 1);
            if (!update.TryGetProperty("callback_query", out var callback))
            {
                continue;
            }

            var answer = Handle(callback);
            using var reply = await http.PostAsJsonAsync(
                TelegramChannel.Method(settings, token, "answerCallbackQuery"),
                new JsonObject { ["callback_query_id"] = callback.GetProperty("id").GetString(), ["text"] = answer },
                cancellationToken).ConfigureAwait(false);
        }

        return offset;
    }

    private string Handle(JsonElement callback)
    {
        var data = callback.TryGetProperty("data", out var d) ? d.GetString() ?? "" : "";
        var chat = callback.TryGetProperty("message", out var m) && m.TryGetProperty("chat", out var c) ? c.GetProperty("id").ToString() : "";
        if (!data.StartsWith(TelegramChannel.AckPrefix, StringComparison.Ordinal)
            || !long.TryParse(data.AsSpan(TelegramChannel.AckPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var rowId)
            || notifier.Store.OutboxRow(rowId) is not { Channel: Channels.Telegram } row
            || row.Address != chat)
        {
            logger.LogWarning("Telegram callback refused: '{Data}' from chat {Chat} is not an acknowledgement we sent there", data, chat);
            return "Không hợp lệ / Not valid";
        }

        try
        {
            notifier.Acknowledge(row.AlertId, row.Contact, null, time.GetUtcNow(), Channels.Telegram);
            return "Đã nhận / Acknowledged";
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }
    }
}
