using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Notifications;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;

namespace IoTPilots.IntegrationTests;

/// <summary>Every channel against a local receiver the test starts: a webhook, a fake Telegram Bot API, an SMTP server and an SMS gateway.</summary>
public sealed class NotificationChannelTests : IAsyncLifetime
{
    private const string Secret = "webhook-secret-for-tests";
    private static readonly SeriesKey Tank03 = new("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03");
    private static readonly LocalizedText LowOxygen = new("Dissolved oxygen in tank-03 is 2.6 mg/L", "Oxy hòa tan ở tank-03 còn 2,6 mg/L");

    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-notify-").FullName;
    private readonly SmtpReceiver _smtp = new();
    private readonly HttpClient _http = new();
    private HttpReceiver _webhook = null!;
    private HttpReceiver _telegram = null!;
    private HttpReceiver _sms = null!;
    private AlertStore _store = null!;
    private AlertNotifier _notifier = null!;
    private NotificationDispatcher _dispatcher = null!;
    private NotificationConfig _config = null!;
    private NotificationLinks _links = null!;

    public async Task InitializeAsync()
    {
        _webhook = await HttpReceiver.StartAsync();
        _telegram = await HttpReceiver.StartAsync();
        _sms = await HttpReceiver.StartAsync();
        _config = NotificationConfig.Parse($$"""
            channels:
              telegram: { base_url: "{{_telegram.Address}}" }
              email: { host: 127.0.0.1, port: {{_smtp.Port}}, from: "alerts@pilots.local" }
              sms:
                url: "{{_sms.Address}}send"
                headers: ["Authorization: Bearer ${TEST_SMS_KEY}"]
                body: '{"to":"{phone}","text":"{text}"}'
            contacts:
              - { name: Nguyen Van A, language: vi, telegram: "1001", sms: "+84901234567", email: "a@farm.vn" }
            routes:
              - rule: "do-*"
                action: { en: "Start the backup aerator", vi: "Bật máy sục khí dự phòng" }
                escalation:
                  - contacts: [Nguyen Van A]
            """, "notify.yaml");
        _store = AlertStore.Open(Path.Combine(_dir, "alerts.db"), TimeProvider.System);
        _notifier = new AlertNotifier(_store, new NotificationPlanner(_config, TimeProvider.System, NotificationPlanner.Integrator(_webhook.Address + "hook")), new OutboxSignal());
        _links = new NotificationLinks(new Uri("https://pilots.example.vn/"), "link-secret-for-tests"u8.ToArray(), TimeSpan.FromHours(24), TimeProvider.System);
        _dispatcher = NewDispatcher();
    }

    public async Task DisposeAsync()
    {
        _store.Dispose();
        await _webhook.DisposeAsync();
        await _telegram.DisposeAsync();
        await _sms.DisposeAsync();
        _smtp.Dispose();
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private Alert Raise(double value = 2.6)
    {
        var at = new DateTimeOffset(2026, 11, 23, 19, 13, 0, TimeSpan.Zero);
        return _notifier.Apply(new AlertEvent(AlertTransition.Raised, "do-critical", Severity.Critical, Tank03, "do_mg_l", at, at.AddMinutes(-1), value, value, LowOxygen))!;
    }

    private async Task SendAllAsync()
    {
        foreach (var channel in Channels.All)
        {
            await _dispatcher.SendDueAsync(channel, CancellationToken.None);
        }
    }

    private OutboxItem Row(Alert alert, string channel) => _store.Notifications(alert.Id).Single(r => r.Channel == channel);

    [Fact]
    public async Task The_webhook_gets_every_field_signed_over_timestamp_and_body()
    {
        var alert = Raise();
        await SendAllAsync();

        var request = Assert.Single(_webhook.Requests);
        Assert.Equal(("POST", "/hook"), (request.Method, request.PathAndQuery));
        Assert.Null(WebhookSignature.Verify(Secret, request.Headers["X-Pilots-Timestamp"], request.Headers["X-Pilots-Signature"], request.Body, DateTimeOffset.UtcNow));
        Assert.Equal($"alert-{alert.Id}-raised-integrator-webhook", request.Headers["Idempotency-Key"]);
        using var json = JsonDocument.Parse(request.Body);
        var p = json.RootElement;
        Assert.Equal("aquaculture", p.GetProperty("pilot").GetString());
        Assert.Equal("haiphong-ras-1", p.GetProperty("site").GetString());
        Assert.Equal("gw-aqua-01", p.GetProperty("gateway").GetString());
        Assert.Equal("tank-03", p.GetProperty("device").GetString());
        Assert.Equal("do_mg_l", p.GetProperty("field").GetString());
        Assert.Equal("do-critical", p.GetProperty("rule").GetString());
        Assert.Equal("critical", p.GetProperty("severity").GetString());
        Assert.Equal("raised", p.GetProperty("state").GetString());
        Assert.Equal(2.6, p.GetProperty("value").GetDouble());
        Assert.Equal("Oxy hòa tan ở tank-03 còn 2,6 mg/L", p.GetProperty("message_vi").GetString());
        Assert.Equal("Dissolved oxygen in tank-03 is 2.6 mg/L", p.GetProperty("message_en").GetString());
        Assert.Equal("2026-11-23T19:13:00Z", p.GetProperty("at").GetString());
        Assert.Equal("sent", Row(alert, "webhook").Status);
    }

    [Fact]
    public async Task A_forged_or_replayed_webhook_is_refused_by_the_documented_check()
    {
        Raise();
        await SendAllAsync();
        var request = Assert.Single(_webhook.Requests);
        var timestamp = request.Headers["X-Pilots-Timestamp"];
        var signature = request.Headers["X-Pilots-Signature"];

        var forged = Encoding.UTF8.GetBytes(request.Text.Replace("\"critical\"", "\"info\"", StringComparison.Ordinal));
        Assert.Contains("does not match", WebhookSignature.Verify(Secret, timestamp, signature, forged, DateTimeOffset.UtcNow), StringComparison.Ordinal);
        Assert.Contains("replay", WebhookSignature.Verify(Secret, timestamp, signature, request.Body, DateTimeOffset.UtcNow.AddMinutes(6)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_4xx_from_the_webhook_is_recorded_as_failed_with_its_reason_and_not_retried()
    {
        _webhook.Answer = _ => (410, """{"error":"hook removed"}""");
        var alert = Raise();
        await SendAllAsync();
        await SendAllAsync();

        Assert.Single(_webhook.Requests);
        var row = Row(alert, "webhook");
        Assert.Equal("failed", row.Status);
        Assert.Contains("HTTP 410", row.LastError, StringComparison.Ordinal);
        Assert.Equal("sent", Row(alert, "sms").Status);
    }

    [Fact]
    public async Task Telegram_gets_sendMessage_with_an_acknowledge_button_and_its_callback_acknowledges_once()
    {
        var alert = Raise();
        await SendAllAsync();

        var send = Assert.Single(_telegram.Requests);
        Assert.Equal("/bot123:ABC/sendMessage", send.PathAndQuery);
        using var json = JsonDocument.Parse(send.Body);
        Assert.Equal("1001", json.RootElement.GetProperty("chat_id").GetString());
        Assert.Contains("Oxy hòa tan ở tank-03 còn 2,6 mg/L", json.RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);
        var button = json.RootElement.GetProperty("reply_markup").GetProperty("inline_keyboard")[0][0];
        Assert.Equal("Acknowledge / Đã nhận", button.GetProperty("text").GetString());
        var data = button.GetProperty("callback_data").GetString();

        // The farmer taps the button: getUpdates returns the callback, once from a stranger's chat, once from theirs.
        _telegram.Answer = r => r.PathAndQuery.StartsWith("/bot123:ABC/getUpdates", StringComparison.Ordinal)
            ? (200, """
                {"ok":true,"result":[
                  {"update_id":7,"callback_query":{"id":"q1","data":"DATA","message":{"chat":{"id":999}}}},
                  {"update_id":8,"callback_query":{"id":"q2","data":"DATA","message":{"chat":{"id":1001}}}}]}
                """.Replace("DATA", data, StringComparison.Ordinal))
            : (200, """{"ok":true,"result":true}""");
        var poller = new TelegramPoller(_http, _config.Telegram!, "123:ABC", _notifier, TimeProvider.System, NullLogger<TelegramPoller>.Instance);
        var next = await poller.PollOnceAsync(0, TimeSpan.Zero, CancellationToken.None);

        Assert.Equal(9, next);
        var acked = _store.Get(alert.Id)!;
        Assert.Equal("Nguyen Van A", acked.AcknowledgedBy);
        Assert.Equal("telegram", _store.AcknowledgedVia(alert.Id));
        var answers = _telegram.Requests.Where(r => r.PathAndQuery.EndsWith("answerCallbackQuery", StringComparison.Ordinal)).Select(r => r.Text).ToList();
        Assert.Contains(answers, a => a.Contains("Not valid", StringComparison.Ordinal));
        Assert.Contains(answers, a => a.Contains("Acknowledged", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Email_arrives_over_smtp_with_the_headline_as_subject_and_a_signed_link()
    {
        var alert = Raise();
        await SendAllAsync();

        var raw = Assert.Single(_smtp.Messages);
        var message = await MimeMessage.LoadAsync(new MemoryStream(Encoding.UTF8.GetBytes(raw)));
        Assert.Equal("a@farm.vn", message.To.Mailboxes.Single().Address);
        Assert.Equal("🔴 NGUY CẤP · tank-03 (haiphong-ras-1)", message.Subject);
        Assert.Contains("Việc cần làm: Bật máy sục khí dự phòng", message.TextBody, StringComparison.Ordinal);
        Assert.Contains($"https://pilots.example.vn/a/{Row(alert, "email").Id}-", message.TextBody, StringComparison.Ordinal);
        Assert.Equal("sent", Row(alert, "email").Status);
    }

    [Fact]
    public async Task A_confirm_rules_alert_carries_its_one_tap_action_on_every_channel()
    {
        var confirm = new RuleAction("backup_aerator_on", 1, null, RuleAction.DefaultEvery, ActionMode.Confirm);
        var dispatcher = NewDispatcher(new ConfirmOffers(_links, rule => rule == "do-critical" ? confirm : null, () => true, _ => false));
        var alert = Raise();
        foreach (var channel in Channels.All)
        {
            await dispatcher.SendDueAsync(channel, CancellationToken.None);
        }

        var link = $"https://pilots.example.vn/c/{alert.Id}/";
        using var telegram = JsonDocument.Parse(Assert.Single(_telegram.Requests).Body);
        var button = telegram.RootElement.GetProperty("reply_markup").GetProperty("inline_keyboard")[1][0];
        Assert.Equal("Bật máy sục khí dự phòng (tank-03) / Start the backup aerator (tank-03)", button.GetProperty("text").GetString());
        Assert.StartsWith(link, button.GetProperty("url").GetString(), StringComparison.Ordinal);
        var email = await MimeMessage.LoadAsync(new MemoryStream(Encoding.UTF8.GetBytes(Assert.Single(_smtp.Messages))));
        Assert.Contains($"👉 Bật máy sục khí dự phòng (tank-03): {link}", email.TextBody, StringComparison.Ordinal);
        Assert.Contains($"Bat may suc khi du phong (tank-03): {link}", Assert.Single(_sms.Requests).Text, StringComparison.Ordinal);
        using var hook = JsonDocument.Parse(Assert.Single(_webhook.Requests).Body);
        Assert.Contains($"👉 Start the backup aerator (tank-03): {link}", hook.RootElement.GetProperty("text_en").GetString(), StringComparison.Ordinal);
        Assert.Contains($"👉 Bật máy sục khí dự phòng (tank-03): {link}", hook.RootElement.GetProperty("text_vi").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_sms_gateway_gets_one_plain_part_from_the_template_with_the_secret_header()
    {
        var alert = Raise();
        await SendAllAsync();

        var request = Assert.Single(_sms.Requests);
        Assert.Equal(("POST", "/send"), (request.Method, request.PathAndQuery));
        Assert.Equal("Bearer sms-key-123", request.Headers["Authorization"]);
        using var json = JsonDocument.Parse(request.Body);
        Assert.Equal("+84901234567", json.RootElement.GetProperty("to").GetString());
        var text = json.RootElement.GetProperty("text").GetString()!;
        Assert.True(text.Length <= 160, text);
        Assert.StartsWith("NGUY CAP tank-03 2,6", text, StringComparison.Ordinal);
        Assert.Contains("Bat may suc khi du phong", text, StringComparison.Ordinal);
        Assert.Contains($"XN: https://pilots.example.vn/a/{Row(alert, "sms").Id}-", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_channel_that_is_down_is_retried_and_does_not_hold_the_others()
    {
        await _sms.DisposeAsync();
        var alert = Raise();
        await SendAllAsync();

        var sms = Row(alert, "sms");
        Assert.Equal(("pending", 1), (sms.Status, sms.Attempts));
        Assert.NotNull(sms.LastError);
        Assert.True(sms.NextTry > DateTimeOffset.UtcNow);
        Assert.All(_store.Notifications(alert.Id).Where(r => r.Channel != "sms"), r => Assert.Equal("sent", r.Status));
        _sms = await HttpReceiver.StartAsync();
    }

    [Fact]
    public async Task After_a_crash_mid_send_each_notification_reaches_the_receiver_once_by_its_idempotency_key()
    {
        // The webhook receiver takes the request but the cloud dies before recording it: the row stays 'sending'.
        var alert = Raise();
        var claimed = Assert.Single(_store.ClaimDue(Channels.Webhook, DateTimeOffset.UtcNow, 10));
        var crashed = WebhookChannel.Payload(claimed, alert, null, TimeSpan.FromHours(7), null);
        using (var content = new StringContent(JsonSerializer.Serialize(crashed, WebhookPayload.Json), Encoding.UTF8, "application/json"))
        {
            content.Headers.Add("Idempotency-Key", claimed.IdempotencyKey);
            (await _http.PostAsync(new Uri(_webhook.Address, "hook"), content)).Dispose();
        }

        _store.Dispose();
        _store = AlertStore.Open(Path.Combine(_dir, "alerts.db"), TimeProvider.System);
        _notifier = new AlertNotifier(_store, new NotificationPlanner(_config, TimeProvider.System, NotificationPlanner.Integrator(_webhook.Address + "hook")), new OutboxSignal());
        _dispatcher = NewDispatcher();
        Assert.Equal(1, _notifier.Restore(DateTimeOffset.UtcNow));
        Raise(); // the reading redelivered after the restart
        await SendAllAsync();
        await SendAllAsync();

        var keys = _webhook.Requests.Select(r => r.Headers["Idempotency-Key"]).ToList();
        Assert.Equal([claimed.IdempotencyKey, claimed.IdempotencyKey], keys);
        Assert.Single(keys.Distinct());
        Assert.Equal(("sent", 2), (Row(alert, "webhook").Status, Row(alert, "webhook").Attempts));
        Assert.Single(_telegram.Requests);
        Assert.Single(_sms.Requests);
    }

    private NotificationDispatcher NewDispatcher(ConfirmOffers? offers = null)
    {
        Func<string, string?> env = name => name == "TEST_SMS_KEY" ? "sms-key-123" : null;
        return new NotificationDispatcher(
            _notifier,
            [
                new WebhookChannel(_http, _links, _config, Secret, TimeProvider.System, offers),
                new TelegramChannel(_http, _config.Telegram!, "123:ABC", _links, _config, offers),
                new EmailChannel(_config.Email!, env, _links, _config, offers),
                new SmsChannel(_http, _config.Sms!, env, _links, _config, offers),
            ],
            new OutboxSignal(),
            Backoff.Default,
            TimeProvider.System,
            NullLogger<NotificationDispatcher>.Instance);
    }
}
