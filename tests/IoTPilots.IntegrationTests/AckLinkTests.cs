using System.Net;
using System.Text;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Notifications;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Acknowledging from the message (signed links) and shelving, through the real API on Kestrel; and the confirm-mode
/// action link's page refusing what it must (this host issues no commands; the tap that does is <see cref="ConfirmActionTests"/>).
/// </summary>
public sealed class AckLinkTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
    private readonly ErrorLog _log = new();
    private AlertHost _host = null!;
    // Anonymous, as a phone opening a link from an SMS: the link's signature is its credential.
    private HttpClient _http = null!;
    private HttpClient _operator = null!;
    private AlertNotifier _notifier = null!;

    public async Task InitializeAsync()
    {
        var config = NotificationConfig.Parse("""
            contacts:
              - { name: Nguyen Van A, language: vi, sms: "+84901234567" }
            routes:
              - escalation:
                  - contacts: [Nguyen Van A]
            """, "notify.yaml");
        _host = await AlertHost.StartAsync(_time, _log, config);
        _http = new HttpClient { BaseAddress = _host.Address };
        _operator = _host.Client(Role.Operator, keyName: "tran-thi-b");
        _notifier = _host.Services.GetRequiredService<AlertNotifier>();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _operator.Dispose();
        await _host.DisposeAsync();
    }

    private Alert Raise()
    {
        var at = _time.GetUtcNow();
        return _notifier.Apply(new AlertEvent(AlertTransition.Raised, "do-critical", Severity.Critical, new SeriesKey("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03"),
            "do_mg_l", at, at, 2.6, 2.6, new LocalizedText("DO low in tank-03", "Oxy hòa tan thấp ở tank-03")))!;
    }

    private string LinkPath(Alert alert) =>
        _host.Services.GetRequiredService<NotificationLinks>().For(_host.Store.Notifications(alert.Id).Single())!.AbsolutePath;

    [Fact]
    public async Task A_signed_link_opens_a_confirm_page_acknowledges_once_and_then_refuses()
    {
        var alert = Raise();
        var path = LinkPath(alert);

        using var page = await _http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<form method=\"post\">", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(_host.Store.Get(alert.Id)!.AcknowledgedAt); // opening the link (a preview) changes nothing

        using var first = await _http.PostAsync(new Uri(path, UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var acked = _host.Store.Get(alert.Id)!;
        Assert.Equal("Nguyen Van A", acked.AcknowledgedBy);
        Assert.Equal("sms link", _host.Store.AcknowledgedVia(alert.Id));

        using var second = await _http.PostAsync(new Uri(path, UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Gone, second.StatusCode);

        using var forged = await _http.PostAsync(new Uri(path[..^3] + "AAA", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, forged.StatusCode);
        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task An_expired_link_is_refused()
    {
        var path = LinkPath(Raise());
        _time.Advance(TimeSpan.FromHours(25));

        using var response = await _http.PostAsync(new Uri(path, UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("hết hạn", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shelving_through_the_api_records_reason_and_expiry_and_the_alert_shows_who_was_notified()
    {
        var alert = Raise();

        using var bad = await _operator.PostAsync(new Uri($"/api/alerts/{alert.Id}/shelve", UriKind.Relative),
            new StringContent("""{"reason":"probe cleaning","minutes":0}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.StartsWith("{\"error\":\"minutes:", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var noReason = await _operator.PostAsync(new Uri($"/api/alerts/{alert.Id}/shelve", UriKind.Relative),
            new StringContent("""{"minutes":60}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, noReason.StatusCode);

        using var ok = await _operator.PostAsync(new Uri($"/api/alerts/{alert.Id}/shelve", UriKind.Relative),
            new StringContent("""{"reason":"probe cleaning","minutes":60}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        using var json = JsonDocument.Parse(await _operator.GetStringAsync(new Uri($"/api/alerts/{alert.Id}", UriKind.Relative)));
        var a = json.RootElement;
        Assert.Equal("2026-11-23T09:00:00Z", a.GetProperty("shelvedUntil").GetString());
        Assert.Equal("probe cleaning", a.GetProperty("shelveReason").GetString());
        Assert.Equal("key:tran-thi-b", a.GetProperty("shelvedBy").GetString());
        var told = Assert.Single(a.GetProperty("notifications").EnumerateArray());
        Assert.Equal("Nguyen Van A", told.GetProperty("contact").GetString());
        Assert.Equal("sms", told.GetProperty("channel").GetString());
        Assert.Equal("raised", told.GetProperty("state").GetString());
        Assert.Equal("pending", told.GetProperty("status").GetString());
        Assert.Equal("2026-11-23T08:00:00Z", told.GetProperty("queuedAt").GetString());

        using var unknown = await _operator.PostAsync(new Uri("/api/alerts/999/shelve", UriKind.Relative),
            new StringContent("""{"reason":"x","minutes":5}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Empty(_log.Errors);
    }

    private Uri Link(long alertId) =>
        new(_host.Services.GetRequiredService<NotificationLinks>().ForAction(new ConfirmTarget(alertId, "tank-03", "backup_aerator_on", 1))!.AbsolutePath, UriKind.Relative);

    private static async Task<(HttpStatusCode Status, string Body)> Read(Task<HttpResponseMessage> request)
    {
        using var response = await request;
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Without_an_operator_of_the_alerts_site_the_page_says_why_and_offers_no_button()
    {
        var link = Link(Raise().Id);

        var anonymous = await Read(_http.GetAsync(link));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.Contains("Đăng nhập", anonymous.Body, StringComparison.Ordinal);
        Assert.Contains($"/login?ReturnUrl={Uri.EscapeDataString(link.ToString())}", WebUtility.HtmlDecode(anonymous.Body), StringComparison.Ordinal);

        var viewer = _host.CreateUser(Role.Viewer);
        var (viewerSession, _) = await _host.SessionClientAsync(viewer.Name, viewer.Password);
        using (viewerSession)
        {
            var page = await Read(viewerSession.GetAsync(link));
            Assert.Equal(HttpStatusCode.Forbidden, page.Status);
            Assert.Contains("operator role at haiphong-ras-1", page.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("<form", page.Body, StringComparison.Ordinal);
        }

        // A key skips antiforgery, so this reaches the tap itself: still refused.
        using var viewerKey = _host.Client(Role.Viewer);
        Assert.Equal(HttpStatusCode.Forbidden, (await Read(viewerKey.PostAsync(link, null))).Status);
        using var otherSite = _host.Client(Role.Operator, sites: "cat-hai-ras-1");
        Assert.Equal(HttpStatusCode.Forbidden, (await Read(otherSite.PostAsync(link, null))).Status);
        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task A_changed_expired_or_unknown_link_a_resolved_alert_and_commands_off_are_each_refused_with_their_reason()
    {
        using var operatorKey = _host.Client(Role.Operator);
        var alert = Raise();
        var link = Link(alert.Id).ToString();

        var off = await Read(operatorKey.PostAsync(new Uri(link, UriKind.Relative), null));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, off.Status);
        Assert.Contains("PILOTS_COMMAND_KEYS", off.Body, StringComparison.Ordinal);

        var changed = await Read(operatorKey.PostAsync(new Uri(link.Replace("/backup_aerator_on/1/", "/backup_aerator_on/0/", StringComparison.Ordinal), UriKind.Relative), null));
        Assert.Equal(HttpStatusCode.NotFound, changed.Status);
        Assert.Contains("not valid", changed.Body, StringComparison.Ordinal);

        var unknown = Link(alert.Id + 100);
        Assert.Contains("does not exist", (await Read(operatorKey.GetAsync(unknown))).Body, StringComparison.Ordinal);

        _notifier.Apply(new AlertEvent(AlertTransition.Resolved, alert.RuleId, alert.Severity, alert.Series, alert.Field, _time.GetUtcNow(), alert.Since, 6.5, 2.6, alert.Message));
        var resolved = await Read(operatorKey.PostAsync(new Uri(link, UriKind.Relative), null));
        Assert.Equal(HttpStatusCode.Conflict, resolved.Status);
        Assert.Contains("back to normal", resolved.Body, StringComparison.Ordinal);

        _time.Advance(NotificationLinks.ActionLifetime + TimeSpan.FromMinutes(1));
        var expired = await Read(_http.GetAsync(new Uri(link, UriKind.Relative)));
        Assert.Equal(HttpStatusCode.Gone, expired.Status);
        Assert.Contains("hết hạn", expired.Body, StringComparison.Ordinal);
        Assert.Empty(_log.Errors);
    }
}
