using System.Text;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Notifications;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Notifications;

public sealed class NotificationTextTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 19, 13, 0, TimeSpan.Zero);

    private static readonly Alert LowOxygen = new(
        7, "do-critical", Severity.Critical, new SeriesKey("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03"), "do_mg_l",
        At, At, 2.6, 2.6, 2.6, At, null, null, null, null,
        new LocalizedText("Dissolved oxygen in tank-03 is 2.6 mg/L, below 3 mg/L: shrimp are stressed", "Oxy hòa tan ở tank-03 còn 2,6 mg/L, dưới ngưỡng 3 mg/L: tôm bị sốc, nguy cơ chết"));

    private static readonly LocalizedText Aerate = new("Start the backup aerator now", "Bật ngay máy sục khí dự phòng");

    private static OutboxItem Item(string language, string state = "raised") =>
        new(12345, 7, state, state, "Nguyen Van A", language, "sms", "+84901234567", 1, 2.6, At, At, "sending", 1, At, null, null);

    [Fact]
    public void The_sms_is_one_gsm7_part_of_vietnamese_without_diacritics_keeping_device_value_action_and_link()
    {
        var links = new NotificationLinks(new Uri("https://pilots.example.vn/"), "0123456789abcdef"u8.ToArray(), TimeSpan.FromHours(24), new FakeTimeProvider(At));
        var item = Item("vi");

        var sms = NotificationText.Sms(LowOxygen, item, Aerate, links.For(item));

        Assert.True(sms.Length <= 160, $"{sms.Length}: {sms}");
        Assert.All(sms, c => Assert.True(c < 128, $"'{c}' is not plain GSM-7 in: {sms}"));
        Assert.StartsWith("NGUY CAP tank-03 2,6", sms, StringComparison.Ordinal);
        Assert.Contains("Bat ngay may suc khi du phong", sms, StringComparison.Ordinal);
        Assert.Contains("XN: https://pilots.example.vn/a/12345-", sms, StringComparison.Ordinal);
        Assert.Contains("Oxy hoa tan", sms, StringComparison.Ordinal);
    }

    [Fact]
    public void The_readmes_sms_is_what_the_demo_alert_becomes()
    {
        var falling = LowOxygen with
        {
            RuleId = "do-falling",
            Series = LowOxygen.Series with { Site = "cat-hai-ras-1" },
            Message = new LocalizedText(
                "Dissolved oxygen in tank-03 is falling at -0.56 mg/L per minute: check the aerators and the power",
                "Oxy hòa tan ở tank-03 đang giảm -0,56 mg/L mỗi phút: kiểm tra máy sục khí và nguồn điện"),
        };

        var sms = NotificationText.Sms(falling, Item("vi") with { Value = -0.5631 }, NotificationConfig.DefaultAction, null);

        // README.md, "The two commands".
        Assert.Equal("NGUY CAP tank-03 -0,56: Oxy hoa tan o tank-03 dang giam -0,56 mg/L moi phut: kiem tra may suc khi va nguon dien. Kiem tra ngay", sms);
    }

    [Fact]
    public void Diacritics_are_removed_letter_by_letter()
    {
        Assert.Equal("Oxy hoa tan thap o be 03, Duong dan nuoc", NotificationText.Gsm7("Oxy hòa tan thấp ở bể 03, Đường dẫn nước"));
    }

    [Fact]
    public void The_full_text_is_in_the_contacts_language_with_local_time_and_action()
    {
        var vi = NotificationText.Full(LowOxygen, Item("vi"), Aerate, TimeSpan.FromHours(7), null);
        var en = NotificationText.Full(LowOxygen, Item("en"), Aerate, TimeSpan.FromHours(7), null);

        Assert.Equal(
            """
            🔴 NGUY CẤP · tank-03 (haiphong-ras-1)
            Oxy hòa tan ở tank-03 còn 2,6 mg/L, dưới ngưỡng 3 mg/L: tôm bị sốc, nguy cơ chết
            Giá trị: 2,6 lúc 02:13 24/11
            Việc cần làm: Bật ngay máy sục khí dự phòng
            """, vi.Replace("\r", "", StringComparison.Ordinal));
        Assert.Contains("Value: 2.6 at 02:13 Nov 24", en, StringComparison.Ordinal);
        Assert.Contains("Action: Start the backup aerator now", en, StringComparison.Ordinal);
    }

    [Fact]
    public void An_automatic_action_done_says_what_was_done_and_what_the_device_reads_back()
    {
        var backup = new LocalizedText("Start the backup aerator (tank-03)", "Bật máy sục khí dự phòng (tank-03)");
        var vi = NotificationText.Full(LowOxygen, Item("vi", "action-done") with { Value = 1 }, Aerate, TimeSpan.FromHours(7), null, acted: backup);
        var en = NotificationText.Full(LowOxygen, Item("en", "action-done") with { Value = 1 }, Aerate, TimeSpan.FromHours(7), null, acted: backup);

        Assert.Contains("ĐÃ TỰ ĐỘNG XỬ LÝ · tank-03", vi, StringComparison.Ordinal);
        Assert.Contains("✅ Bật máy sục khí dự phòng (tank-03): hệ thống đã tự thực hiện, thiết bị xác nhận 1 lúc 02:13 24/11", vi, StringComparison.Ordinal);
        Assert.Contains("✅ Start the backup aerator (tank-03): done automatically, the device reads back 1", en, StringComparison.Ordinal);
        // Nothing to do: no action line, no acknowledgement link.
        Assert.DoesNotContain("Việc cần làm", vi, StringComparison.Ordinal);
    }

    [Fact]
    public void An_automatic_action_that_failed_asks_people_to_act_in_the_sms_too()
    {
        var backup = new LocalizedText("Start the backup aerator (tank-03)", "Bật máy sục khí dự phòng (tank-03)");
        var full = NotificationText.Full(LowOxygen, Item("vi", "action-failed") with { Value = null }, Aerate, TimeSpan.FromHours(7), null, acted: backup);
        var sms = NotificationText.Sms(LowOxygen, Item("vi", "action-failed") with { Value = null }, Aerate, null, acted: backup);

        Assert.Contains("❌ Bật máy sục khí dự phòng (tank-03): KHÔNG thực hiện được, cần người xử lý ngay", full, StringComparison.Ordinal);
        Assert.Contains("Việc cần làm: Bật ngay máy sục khí dự phòng", full, StringComparison.Ordinal);
        Assert.StartsWith("NGUY CAP TU DONG XU LY THAT BAI tank-03: ", sms, StringComparison.Ordinal);
        Assert.Contains("Bat ngay may suc khi du phong", sms, StringComparison.Ordinal);
        Assert.True(sms.Length <= NotificationText.SmsLength);
    }

    [Fact]
    public void Back_to_normal_says_so_and_asks_nothing()
    {
        var text = NotificationText.Full(LowOxygen, Item("vi", "resolved"), Aerate, TimeSpan.FromHours(7), null);

        Assert.StartsWith("✅ · ĐÃ BÌNH THƯỜNG · tank-03", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Việc cần làm", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_webhook_signature_verifies_and_a_changed_body_or_an_old_timestamp_is_refused()
    {
        var body = Encoding.UTF8.GetBytes("""{"state":"raised"}""");
        var now = At;
        var signature = WebhookSignature.Sign("s3cret", now.ToUnixTimeSeconds(), body);

        Assert.Null(WebhookSignature.Verify("s3cret", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), signature, body, now));
        Assert.Contains("does not match", WebhookSignature.Verify("s3cret", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), signature, """{"state":"resolved"}"""u8, now), StringComparison.Ordinal);
        Assert.Contains("does not match", WebhookSignature.Verify("other", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), signature, body, now), StringComparison.Ordinal);
        Assert.Contains("replay", WebhookSignature.Verify("s3cret", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), signature, body, now.AddMinutes(6)), StringComparison.Ordinal);
        Assert.Contains("missing", WebhookSignature.Verify("s3cret", null, signature, body, now), StringComparison.Ordinal);
    }

    [Fact]
    public void A_signed_link_checks_until_it_expires_and_a_forged_one_never_does()
    {
        var time = new FakeTimeProvider(At);
        var links = new NotificationLinks(new Uri("https://pilots.example.vn/"), "0123456789abcdef"u8.ToArray(), TimeSpan.FromHours(24), time);
        var token = links.For(Item("vi"))!.Segments[^1];

        Assert.Null(links.Check(token, out var row));
        Assert.Equal(12345, row);
        Assert.NotNull(links.Check(token.Replace("12345-", "12346-", StringComparison.Ordinal), out _));
        Assert.NotNull(links.Check("12345-zz-AAAAAAAAAAAAAAAAAAAAAA", out _));
        time.Advance(TimeSpan.FromHours(24) + TimeSpan.FromMinutes(2));
        Assert.Equal("this link has expired", links.Check(token, out _));
    }
}

public sealed class DemoReceiverTests
{
    private static readonly byte[] Body = """{"state":"raised","device":"tank-03","at":"2026-11-23T19:13:00Z","text_vi":"🔴 NGUY CẤP · tank-03","text_en":"🔴 CRITICAL · tank-03"}"""u8.ToArray();

    private static System.Collections.Specialized.NameValueCollection Headers(string secret, string key)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return new()
        {
            [WebhookSignature.TimestampHeader] = now.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [WebhookSignature.SignatureHeader] = WebhookSignature.Sign(secret, now, Body),
            [WebhookSignature.IdempotencyHeader] = key,
        };
    }

    [Fact]
    public void The_demo_receiver_prints_both_languages_once_and_refuses_a_bad_signature()
    {
        var seen = new HashSet<string>();

        var (status, text) = DemoReceiver.Receive(Headers("s3cret", "k1"), Body, "s3cret", seen);
        Assert.Equal(200, status);
        Assert.Contains("🔴 NGUY CẤP · tank-03", text, StringComparison.Ordinal);
        Assert.Contains("    🔴 CRITICAL · tank-03", text, StringComparison.Ordinal);

        Assert.Contains("already shown", DemoReceiver.Receive(Headers("s3cret", "k1"), Body, "s3cret", seen).Text, StringComparison.Ordinal);
        Assert.Equal(401, DemoReceiver.Receive(Headers("forged", "k2"), Body, "s3cret", seen).Status);
    }
}
