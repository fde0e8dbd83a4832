using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Notifications;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Notifications;

/// <summary>Issue 15, <c>mode: confirm</c>: the one-tap action's text, its signed link and which messages carry it.</summary>
public sealed class ConfirmLinkTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 19, 13, 0, TimeSpan.Zero);

    private static readonly Alert Failure = new(
        7, "aerator-failure", Severity.Critical, new SeriesKey("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03"), "do_mg_l",
        At, At, 4.1, 4.1, 4.1, At, null, null, null, null,
        new LocalizedText("The aerator of tank-03 has stopped and dissolved oxygen is falling", "Máy sục khí ở tank-03 đã dừng và oxy hòa tan đang giảm"));

    private static readonly RuleAction Confirm = new("backup_aerator_on", 1, null, TimeSpan.FromMinutes(10), ActionMode.Confirm);

    private readonly FakeTimeProvider _time = new(At);

    private NotificationLinks Links(string? url = "https://pilots.example.vn/") =>
        new(url is null ? null : new Uri(url), "0123456789abcdef"u8.ToArray(), TimeSpan.FromHours(24), _time);

    private static OutboxItem Item(string state = NoticeStates.Raised, string language = "vi") =>
        new(12345, 7, state, state, "Nguyen Van A", language, "sms", "+84901234567", 1, 4.1, At, At, "sending", 1, At, null, null);

    private ConfirmOffers Offers(RuleAction? action = null, bool commandsOn = true, bool taken = false, NotificationLinks? links = null) =>
        new(links ?? Links(), rule => rule == "aerator-failure" ? action ?? Confirm : null, () => commandsOn, _ => taken);

    [Fact]
    public void A_switch_point_reads_as_starting_or_stopping_its_equipment_in_both_languages_and_any_other_point_as_a_setting()
    {
        Assert.Equal(new LocalizedText("Start the backup aerator (tank-03)", "Bật máy sục khí dự phòng (tank-03)"), RuleActionText.Label(Confirm, "tank-03"));
        Assert.Equal(new LocalizedText("Stop the feed pump (tank-01)", "Tắt máy bơm feed (tank-01)"), RuleActionText.Label(Confirm with { Point = "feed_pump_on", Value = 0 }, "tank-01"));
        Assert.Equal(new LocalizedText("Set valve_pct of line-2 to 40.5", "Đặt valve_pct của line-2 = 40,5"), RuleActionText.Label(Confirm with { Point = "valve_pct", Value = 40.5 }, "line-2"));
    }

    [Fact]
    public void An_action_link_carries_the_alert_and_the_action_and_checks_back_until_it_expires()
    {
        var links = Links();
        var target = new ConfirmTarget(7, "tank-03", "backup_aerator_on", 1);

        var link = links.ForAction(target)!;

        Assert.StartsWith("https://pilots.example.vn/c/7/", link.ToString(), StringComparison.Ordinal);
        Assert.Contains("/tank-03/backup_aerator_on/1/", link.AbsolutePath, StringComparison.Ordinal);
        var token = link.AbsolutePath["/c/".Length..];
        Assert.Null(links.CheckAction(token, out var back, out var expired));
        Assert.Equal(target, back);
        Assert.False(expired);

        _time.Advance(NotificationLinks.ActionLifetime + TimeSpan.FromMinutes(2));
        Assert.Equal("this link has expired", links.CheckAction(token, out _, out expired));
        Assert.True(expired);
    }

    [Theory]
    [InlineData("7", "8")]                                   // another alert
    [InlineData("/tank-03/", "/tank-04/")]                   // another device
    [InlineData("/backup_aerator_on/", "/feed_pump_on/")]    // another point
    [InlineData("/backup_aerator_on/1/", "/backup_aerator_on/0/")] // another value
    public void A_changed_action_link_is_not_ours(string part, string changed)
    {
        var links = Links();
        var token = links.ForAction(new ConfirmTarget(7, "tank-03", "backup_aerator_on", 1))!.AbsolutePath["/c/".Length..];
        var tampered = part == "7" ? changed + token[1..] : token.Replace(part, changed, StringComparison.Ordinal);
        Assert.NotEqual(token, tampered);

        Assert.Equal("this link is not one of ours", links.CheckAction(tampered, out _, out var expired));
        Assert.False(expired);
    }

    [Theory]
    [InlineData("")]
    [InlineData("7/abc/tank-03/backup_aerator_on/1")]
    [InlineData("7/abc/tank-03/backup_aerator_on/1/AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("../../etc/passwd")]
    public void A_malformed_action_token_is_not_ours(string token)
    {
        Assert.Equal("this link is not one of ours", Links().CheckAction(token, out _, out _));
    }

    [Fact]
    public void Without_a_public_address_or_secret_there_are_no_action_links()
    {
        var links = Links(url: null);

        Assert.Null(links.ForAction(new ConfirmTarget(7, "tank-03", "backup_aerator_on", 1)));
        Assert.Equal("this link is not one of ours", links.CheckAction("7/x/tank-03/backup_aerator_on/1/y", out _, out _));
    }

    [Fact]
    public void A_raised_escalated_or_reminding_message_of_a_confirm_rule_offers_the_action_on_the_alerts_device_or_the_actions()
    {
        foreach (var state in new[] { NoticeStates.Raised, NoticeStates.Escalated, NoticeStates.Reminder })
        {
            var offer = Offers().For(Failure, Item(state));
            Assert.NotNull(offer);
            Assert.Equal("Bật máy sục khí dự phòng (tank-03)", offer.Label.Vi);
            Assert.Contains("/c/7/", offer.Link.ToString(), StringComparison.Ordinal);
        }

        var other = Offers(Confirm with { Device = "aerator-2" }).For(Failure, Item())!;
        Assert.Contains("/aerator-2/backup_aerator_on/1/", other.Link.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void No_offer_where_a_tap_could_not_work_or_is_not_wanted()
    {
        Assert.Null(Offers(Confirm with { Mode = ActionMode.Auto }).For(Failure, Item()));                 // the cloud acts by itself
        Assert.Null(Offers().For(Failure with { RuleId = "do-critical" }, Item()));                        // a rule without an action
        Assert.Null(Offers().For(Failure with { ResolvedAt = At }, Item()));                               // back to normal
        Assert.Null(Offers(commandsOn: false).For(Failure, Item()));                                       // no PILOTS_COMMAND_KEYS
        Assert.Null(Offers(taken: true).For(Failure, Item(NoticeStates.Reminder)));                        // someone tapped already
        Assert.Null(Offers(links: Links(url: null)).For(Failure, Item()));                                 // no PILOTS_PUBLIC_URL
        foreach (var state in new[] { NoticeStates.Acknowledged, NoticeStates.Shelved, NoticeStates.Resolved, NoticeStates.Flapping })
        {
            Assert.Null(Offers().For(Failure, Item(state)));
        }
    }

    [Fact]
    public void The_full_message_carries_the_one_tap_action_in_the_readers_language_before_the_acknowledgement()
    {
        var links = Links();
        var offer = Offers().For(Failure, Item())!;

        var vi = NotificationText.Full(Failure, Item(), NotificationConfig.DefaultAction, TimeSpan.FromHours(7), links.For(Item()), offer);
        var en = NotificationText.Full(Failure, Item(language: "en"), NotificationConfig.DefaultAction, TimeSpan.FromHours(7), links.For(Item()), offer);

        Assert.Contains($"👉 Bật máy sục khí dự phòng (tank-03): {offer.Link}", vi, StringComparison.Ordinal);
        Assert.Contains($"👉 Start the backup aerator (tank-03): {offer.Link}", en, StringComparison.Ordinal);
        Assert.True(vi.IndexOf("/c/7/", StringComparison.Ordinal) < vi.IndexOf("Xác nhận đã nhận", StringComparison.Ordinal), vi);
    }

    [Fact]
    public void The_sms_puts_the_one_tap_action_in_place_of_the_routes_advice_and_of_the_acknowledgement_link_that_does_not_fit_beside_it()
    {
        var links = Links();
        var offer = Offers().For(Failure, Item())!;

        var sms = NotificationText.Sms(Failure, Item(), new LocalizedText("Check it now", "Kiểm tra ngay"), links.For(Item()), offer);

        Assert.True(sms.Length <= NotificationText.SmsLength, $"{sms.Length}: {sms}");
        Assert.StartsWith("NGUY CAP tank-03 4,1", sms, StringComparison.Ordinal);
        Assert.Contains($"Bat may suc khi du phong (tank-03): {offer.Link}", sms, StringComparison.Ordinal);
        Assert.DoesNotContain("Kiem tra ngay", sms, StringComparison.Ordinal);
        Assert.DoesNotContain("XN:", sms, StringComparison.Ordinal);
        Assert.Contains("XN: https://pilots.example.vn/a/12345-", NotificationText.Sms(Failure, Item(), NotificationConfig.DefaultAction, links.For(Item())), StringComparison.Ordinal);
    }
}
