using System.Globalization;
using System.Net;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Debian's Chromium driven by Playwright, shared by the tests of one class. Playwright's own browser downloads are
/// never used (<c>playwright install</c> cannot run here or in CI): the tests need <c>apt-get install chromium</c>.
/// </summary>
public sealed class ConsoleBrowser : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            return;
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    /// <summary>The browser; skips the test when Chromium is not installed, unless <c>PILOTS_BROWSER_REQUIRED=1</c> (then it fails).</summary>
    public IBrowser Require()
    {
        if (_browser is not null)
        {
            return _browser;
        }

        var reason = $"{ChromiumPath} is missing: the alert console's browser tests need Debian's chromium (apt-get install chromium)";
        if (Environment.GetEnvironmentVariable("PILOTS_BROWSER_REQUIRED") == "1")
        {
            Assert.Fail($"{reason}, and PILOTS_BROWSER_REQUIRED=1");
        }

        throw new SkipException(reason);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>
/// The alert console page on a real Kestrel on a free loopback port, over a real SQLite file, with the alert API beside
/// it; the browser tests drive it as a farmer on a phone or an engineer at a desk would. No MQTT or InfluxDB needed.
/// </summary>
public sealed class AlertConsoleTests : IClassFixture<ConsoleBrowser>, IAsyncLifetime
{
    // 08:00 UTC is 15:00 in Hai Phong (UTC+7, no daylight saving).
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Tank03 = new("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03");
    private static readonly SeriesKey Crane2 = new("port", "haiphong-port-1", "gw-port-01", "crane-2");
    private static readonly SeriesKey Furnace1 = new("factory", "haiphong-steel-1", "gw-steel-01", "furnace-1");
    private static readonly LocalizedText OxygenLow = new("Dissolved oxygen low in tank 03", "Oxy hòa tan thấp ở bể 03");

    private readonly ConsoleBrowser _browser;
    private readonly FakeTimeProvider _time = new(Start.AddMinutes(30));
    private readonly ErrorLog _log = new();
    private readonly List<string> _pageErrors = [];
    private AlertHost _host = null!;
    private Uri _address = null!;
    private AlertStore _store = null!;
    private IBrowserContext? _context;
    private readonly Dictionary<string, string> _passwords = [];

    public AlertConsoleTests(ConsoleBrowser browser)
    {
        _browser = browser;

        // Generous for a loaded CI machine; the waits end as soon as the condition holds.
        SetDefaultExpectTimeout(15_000);
    }

    public async Task InitializeAsync()
    {
        _host = await AlertHost.StartAsync(_time, _log);
        _address = _host.Address;
        _store = _host.Store;
    }

    public async Task DisposeAsync()
    {
        if (_context is not null)
        {
            await _context.CloseAsync();
        }

        await _host.DisposeAsync();
    }

    private Alert Raise(string rule, SeriesKey series, string field, Severity severity, double minutes, double value, LocalizedText message)
    {
        var at = Start.AddMinutes(minutes);
        return _store.Apply(new AlertEvent(AlertTransition.Raised, rule, severity, series, field, at, at.AddMinutes(-2), value, null, message))!;
    }

    private Alert RaiseOxygenLow(double value = 2.8) => Raise("do-low", Tank03, "do_mg_l", Severity.Critical, 0, value, OxygenLow);

    private Alert Resolve(Alert alert, double minutes, double value)
    {
        var at = Start.AddMinutes(minutes);
        return _store.Apply(new AlertEvent(AlertTransition.Resolved, alert.RuleId, alert.Severity, alert.Series, alert.Field, at, at, value, null, alert.Message))!;
    }

    /// <summary>A fresh browser context (empty localStorage) in Hai Phong's time zone, logged in as a new user of <paramref name="role"/> named <paramref name="user"/>, on the console page.</summary>
    private async Task<IPage> OpenConsoleAsync(int width = 1280, int height = 900, Role role = Role.Operator, string user = "nguyen.van.a")
    {
        _context = await _browser.Require().NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = _address.ToString(),
            Locale = "vi-VN",
            TimezoneId = "Asia/Ho_Chi_Minh",
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        var page = await _context.NewPageAsync();
        page.PageError += (_, error) => _pageErrors.Add(error);
        var (name, password) = _host.Users.FindUser(user) is null ? _host.CreateUser(role, "*", user) : (user, _passwords[user]);
        _passwords[user] = password;
        await BrowserLogin.LogInAsync(page, name, password, "/");
        await Expect(page.GetByTestId("who-name")).ToContainTextAsync(name);
        await Expect(page.GetByTestId("connection-status")).ToHaveAttributeAsync("data-state", "ok");
        return page;
    }

    private static ILocator Row(IPage page, Alert alert) =>
        page.Locator($"[data-testid=alert-row][data-alert-id='{alert.Id.ToString(CultureInfo.InvariantCulture)}']");

    private void AssertNoErrors()
    {
        Assert.Empty(_pageErrors);
        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task The_page_is_served_at_the_root_and_at_alerts_beside_the_api()
    {
        var alert = RaiseOxygenLow();
        using var http = _host.Client(Role.Viewer);

        foreach (var path in new[] { "/", "/alerts" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            var html = await response.Content.ReadAsStringAsync();
            Assert.StartsWith("<!doctype html>", html, StringComparison.Ordinal);
            Assert.Contains("data-testid=\"alert-list\"", html, StringComparison.Ordinal);

            // Offline at the sites: nothing may come from another host.
            Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
            Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        }

        using var api = await http.GetAsync(new Uri("/api/alerts", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.Equal("application/json", api.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"\"id\":{alert.Id}", await api.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_log.Errors);
    }

    [SkippableFact]
    public async Task Vietnamese_is_the_default_with_local_times_and_decimal_commas_on_a_phone()
    {
        var alert = RaiseOxygenLow(2.8);
        var wind = Raise("wind-high", Crane2, "wind_m_s", Severity.Warning, 5, 21.5, new LocalizedText("Wind high at crane 2", "Gió mạnh ở cẩu 2"));

        var page = await OpenConsoleAsync(360, 740);
        var row = Row(page, alert);

        await Expect(row.GetByTestId("alert-message")).ToHaveTextAsync("Oxy hòa tan thấp ở bể 03");
        await Expect(row.GetByTestId("ack-button")).ToHaveTextAsync("Xác nhận");
        await Expect(row.GetByTestId("alert-severity")).ToContainTextAsync("Nghiêm trọng");
        await Expect(row.GetByTestId("alert-state")).ToHaveTextAsync("Đang mở");
        await Expect(row.GetByTestId("alert-values")).ToContainTextAsync("2,8");
        await Expect(row).ToContainTextAsync("23/11 15:00");
        await Expect(page.GetByTestId("open-counts")).ToHaveTextAsync("Đang mở: 1 nghiêm trọng · 1 cảnh báo");
        await Expect(page.GetByTestId("lang-toggle")).ToHaveTextAsync("English");
        Assert.Equal("vi", await page.Locator("html").GetAttributeAsync("lang"));

        // Newest raised first.
        Assert.Equal(
            [wind.Id, alert.Id],
            (await page.GetByTestId("alert-row").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.alertId)")).Select(long.Parse));

        // Readable at 360 px: nothing wider than the screen, and a button a thumb can hit.
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= 360"), "the page scrolls sideways at 360 px");
        var button = await row.GetByTestId("ack-button").BoundingBoxAsync();
        Assert.NotNull(button);
        Assert.True(button.Height >= 44, $"the acknowledge button is {button.Height} px high; touch targets need 44");
        AssertNoErrors();
    }

    [SkippableFact]
    public async Task Toggling_to_English_shows_the_English_message_and_persists_across_a_reload()
    {
        var alert = RaiseOxygenLow(2.8);
        var page = await OpenConsoleAsync();
        var row = Row(page, alert);
        await Expect(row.GetByTestId("alert-message")).ToHaveTextAsync("Oxy hòa tan thấp ở bể 03");

        await page.GetByTestId("lang-toggle").ClickAsync();

        await Expect(row.GetByTestId("alert-message")).ToHaveTextAsync("Dissolved oxygen low in tank 03");
        await Expect(row.GetByTestId("ack-button")).ToHaveTextAsync("Acknowledge");
        await Expect(row.GetByTestId("alert-severity")).ToContainTextAsync("Critical");
        await Expect(row.GetByTestId("alert-values")).ToContainTextAsync("2.8");
        await Expect(page.GetByTestId("lang-toggle")).ToHaveTextAsync("Tiếng Việt");

        await page.ReloadAsync();

        await Expect(row.GetByTestId("alert-message")).ToHaveTextAsync("Dissolved oxygen low in tank 03");
        await Expect(row.GetByTestId("alert-state")).ToHaveTextAsync("Open");
        Assert.Equal("en", await page.Locator("html").GetAttributeAsync("lang"));
        AssertNoErrors();
    }

    [SkippableFact]
    public async Task Each_alert_shows_who_was_notified_on_which_channel_whether_it_arrived_and_its_shelf()
    {
        var alert = RaiseOxygenLow();
        _store.Enqueue([
            new IoTPilots.Cloud.Notifications.Notice(alert.Id, "raised", "raised", "Nguyen Van A", "vi", "sms", "+84901234567", 1, 2.8, alert.RaisedAt),
            new IoTPilots.Cloud.Notifications.Notice(alert.Id, "raised", "raised", "Nguyen Van A", "vi", "telegram", "1001", 1, 2.8, alert.RaisedAt),
        ]);
        var sms = _store.Notifications(alert.Id).Single(n => n.Channel == "sms");
        _store.MarkSent(sms.Id, _time.GetUtcNow());
        _store.MarkFailed(sms.Id + 1, "HTTP 403 Forbidden: bot was blocked by the user", _time.GetUtcNow());
        _store.Shelve(alert.Id, "Tran Thi B", "probe cleaning", _time.GetUtcNow().AddHours(1), null);
        var page = await OpenConsoleAsync(360, 740);
        var row = Row(page, alert);

        await Expect(row.GetByTestId("alert-notified")).ToContainTextAsync("Nguyen Van A · sms · raised");
        await Expect(row.GetByTestId("alert-notified")).ToContainTextAsync("đã gửi");
        await Expect(row.GetByTestId("alert-notified")).ToContainTextAsync("không gửi được (HTTP 403 Forbidden: bot was blocked by the user)");
        await Expect(row.GetByTestId("alert-shelf")).ToContainTextAsync("Tran Thi B: probe cleaning");
    }

    [SkippableFact]
    public async Task Acknowledging_through_the_form_records_the_logged_in_user_and_the_row_shows_it()
    {
        var alert = RaiseOxygenLow();
        var other = Raise("wind-high", Crane2, "wind_m_s", Severity.Warning, 5, 21.5, new LocalizedText("Wind high at crane 2", "Gió mạnh ở cẩu 2"));
        var page = await OpenConsoleAsync(360, 740);
        var row = Row(page, alert);

        await Expect(page.GetByTestId("who-name")).ToHaveTextAsync("Đăng nhập: nguyen.van.a (vận hành)");
        await row.GetByTestId("ack-button").ClickAsync();
        await row.GetByTestId("ack-note").FillAsync("đã khởi động lại máy sục khí");
        await row.GetByTestId("ack-submit").ClickAsync();

        await Expect(row).ToHaveAttributeAsync("data-state", "acknowledged");
        await Expect(row.GetByTestId("alert-state")).ToHaveTextAsync("Đã xác nhận");
        await Expect(row.GetByTestId("alert-acknowledged")).ToContainTextAsync("nguyen.van.a (qua console)");
        await Expect(row.GetByTestId("alert-note")).ToHaveTextAsync("đã khởi động lại máy sục khí");
        await Expect(row.GetByTestId("ack-button")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("open-counts")).ToHaveTextAsync("Đang mở: 0 nghiêm trọng · 1 cảnh báo");

        var stored = _store.Get(alert.Id)!;
        Assert.Equal("nguyen.van.a", stored.AcknowledgedBy);
        Assert.Equal("đã khởi động lại máy sục khí", stored.Note);
        Assert.Equal(_time.GetUtcNow(), stored.AcknowledgedAt);

        // Nobody types a name: the form asks only for a note.
        await Row(page, other).GetByTestId("ack-button").ClickAsync();
        await Expect(Row(page, other).GetByTestId("ack-form").Locator("input")).ToHaveCountAsync(1);
        AssertNoErrors();
    }

    [SkippableFact]
    public async Task A_viewer_sees_the_alerts_without_acknowledge_or_shelve_buttons()
    {
        var alert = RaiseOxygenLow();
        var page = await OpenConsoleAsync(role: Role.Viewer, user: "viewer.farm");
        var row = Row(page, alert);

        await Expect(page.GetByTestId("who-name")).ToHaveTextAsync("Đăng nhập: viewer.farm (chỉ xem)");
        await Expect(row.GetByTestId("alert-message")).ToHaveTextAsync("Oxy hòa tan thấp ở bể 03");
        await Expect(row.GetByTestId("ack-button")).ToHaveCountAsync(0);
        await Expect(row.GetByTestId("shelve-button")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("admin-link")).ToHaveCountAsync(0);
        AssertNoErrors();
    }

    /// <summary>The console over a host that also runs the notifier, as the rules worker does: shelving needs it.</summary>
    private async Task StartWithNotificationsAsync()
    {
        await _host.DisposeAsync();
        _host = await AlertHost.StartAsync(_time, _log, IoTPilots.Cloud.Notifications.NotificationConfig.Parse("""
            contacts:
              - { name: Nguyen Van A, language: vi, sms: "+84901234567" }
            routes:
              - escalation:
                  - contacts: [Nguyen Van A]
            """, "notify.yaml"));
        _address = _host.Address;
        _store = _host.Store;
    }

    [SkippableFact]
    public async Task Shelving_through_the_form_records_the_reason_and_expiry_and_the_row_shows_the_shelf()
    {
        await StartWithNotificationsAsync();
        var alert = RaiseOxygenLow();
        var resolved = Resolve(Raise("wind-high", Crane2, "wind_m_s", Severity.Warning, 5, 21.5, new LocalizedText("Wind high at crane 2", "Gió mạnh ở cẩu 2")), 9, 12.0);
        var page = await OpenConsoleAsync(360, 740);
        await page.GetByTestId("state-filter").SelectOptionAsync("all");
        var row = Row(page, alert);

        await Expect(Row(page, resolved)).ToHaveAttributeAsync("data-state", "resolved");
        await Expect(Row(page, resolved).GetByTestId("shelve-button")).ToHaveCountAsync(0);
        await Expect(row.GetByTestId("shelve-button")).ToHaveTextAsync("Tạm ẩn");
        await row.GetByTestId("shelve-button").ClickAsync();
        await Expect(row.GetByTestId("shelve-form")).ToContainTextAsync("Lý do tạm ẩn");
        await row.GetByTestId("shelve-reason").FillAsync("đang vệ sinh đầu đo");
        await row.GetByTestId("shelve-minutes").SelectOptionAsync("120");
        await row.GetByTestId("shelve-submit").ClickAsync();

        await Expect(row.GetByTestId("alert-shelf")).ToContainTextAsync("nguyen.van.a: đang vệ sinh đầu đo");
        await Expect(row.GetByTestId("shelve-form")).ToHaveCountAsync(0);
        // Shelving is not acknowledging: the alert is still open, and can still be acknowledged.
        await Expect(row).ToHaveAttributeAsync("data-state", "open");
        await Expect(row.GetByTestId("ack-button")).ToBeVisibleAsync();
        var shelf = _store.ShelfOf(alert.Id)!;
        Assert.Equal((_time.GetUtcNow().AddMinutes(120), "đang vệ sinh đầu đo", "nguyen.van.a"), (shelf.Until, shelf.Reason, shelf.By));
        AssertNoErrors();
    }

    [SkippableFact]
    public async Task Shelving_without_a_reason_shows_an_error_and_changes_nothing()
    {
        await StartWithNotificationsAsync();
        var alert = RaiseOxygenLow();
        var page = await OpenConsoleAsync();
        var posts = 0;
        page.Request += (_, request) => posts += request.Method == "POST" ? 1 : 0;
        var row = Row(page, alert);

        await row.GetByTestId("shelve-button").ClickAsync();
        await row.GetByTestId("shelve-reason").FillAsync("  ");
        await row.GetByTestId("shelve-submit").ClickAsync();

        await Expect(row.GetByTestId("ack-error")).ToHaveTextAsync("Hãy nhập lý do tạm ẩn.");
        await Expect(row.GetByTestId("shelve-form")).ToBeVisibleAsync();
        Assert.Equal(0, posts);
        Assert.Null(_store.ShelfOf(alert.Id));
        AssertNoErrors();
    }

    [SkippableFact]
    public async Task Shelving_where_notifications_do_not_run_shows_the_servers_409_inline()
    {
        var alert = RaiseOxygenLow();
        var page = await OpenConsoleAsync();
        await page.GetByTestId("lang-toggle").ClickAsync();
        var row = Row(page, alert);

        await Expect(row.GetByTestId("shelve-button")).ToHaveTextAsync("Shelve");
        await row.GetByTestId("shelve-button").ClickAsync();
        await row.GetByTestId("shelve-reason").FillAsync("probe cleaning");
        await row.GetByTestId("shelve-submit").ClickAsync();

        await Expect(row.GetByTestId("ack-error")).ToContainTextAsync("(409): notifications do not run in this process");
        Assert.Null(_store.ShelfOf(alert.Id));
        Assert.Empty(_pageErrors);
    }

    [SkippableFact]
    public async Task An_alert_acknowledged_meanwhile_by_someone_else_shows_the_servers_409_inline()
    {
        var alert = RaiseOxygenLow();
        var page = await OpenConsoleAsync();
        var row = Row(page, alert);
        await row.GetByTestId("ack-button").ClickAsync();
        await row.GetByTestId("ack-note").FillAsync("đang kiểm tra");

        _store.Acknowledge(alert.Id, "Trần Thị B", "đã bật máy sục dự phòng", Start.AddMinutes(20));
        await row.GetByTestId("ack-submit").ClickAsync();

        var error = row.GetByTestId("ack-error");
        await Expect(error).ToContainTextAsync("(409)");
        await Expect(error).ToContainTextAsync($"alert {alert.Id} was already acknowledged by Trần Thị B at 2026-11-23T08:20:00Z");
        await Expect(row.GetByTestId("alert-acknowledged")).ToContainTextAsync("Trần Thị B");
        await Expect(error).ToBeVisibleAsync();
        Assert.Equal("Trần Thị B", _store.Get(alert.Id)!.AcknowledgedBy);
        AssertNoErrors();
    }

    [SkippableFact]
    public async Task The_resolved_filter_shows_only_resolved_alerts()
    {
        var open = RaiseOxygenLow();
        var wind = Raise("wind-high", Crane2, "wind_m_s", Severity.Warning, 5, 21.5, new LocalizedText("Wind high at crane 2", "Gió mạnh ở cẩu 2"));
        Resolve(wind, 25, 12);
        var page = await OpenConsoleAsync();
        var rows = page.GetByTestId("alert-row");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(Row(page, open)).ToBeVisibleAsync();

        await page.GetByTestId("state-filter").SelectOptionAsync("resolved");

        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToHaveAttributeAsync("data-alert-id", wind.Id.ToString(CultureInfo.InvariantCulture));
        await Expect(rows.First.GetByTestId("alert-state")).ToHaveTextAsync("Đã xử lý");
        await Expect(rows.First).ToContainTextAsync("23/11 15:25");

        // Nobody acknowledged it: a late acknowledgement still counts for time-to-acknowledge (the API allows it).
        await Expect(rows.First.GetByTestId("ack-button")).ToBeVisibleAsync();
        Assert.EndsWith("?state=resolved", page.Url, StringComparison.Ordinal);
        AssertNoErrors();
    }

    [SkippableFact]
    public async Task Markup_in_api_strings_is_shown_as_text_and_never_becomes_elements()
    {
        const string Script = "<script>window.pwned = 1</script>";
        const string Image = "<img src=x onerror=\"window.pwned = 2\">";
        var alert = Raise("do-low", Tank03 with { Device = "<b>tank-03</b>" }, "do_mg_l", Severity.Critical, 0, 2.8, new LocalizedText(Image, Script));
        _store.Acknowledge(alert.Id, "<img src=y onerror=\"window.pwned = 3\">", Image, Start.AddMinutes(10));

        var page = await OpenConsoleAsync();
        var row = Row(page, alert);

        await Expect(row.GetByTestId("alert-message")).ToHaveTextAsync(Script);
        await Expect(row.GetByTestId("alert-note")).ToHaveTextAsync(Image);
        await Expect(row).ToContainTextAsync("<b>tank-03</b>");
        await page.GetByTestId("lang-toggle").ClickAsync();
        await Expect(row.GetByTestId("alert-message")).ToHaveTextAsync(Image);

        Assert.Equal(0, await row.Locator("script, img, b").CountAsync());
        Assert.Null(await page.EvaluateAsync<int?>("window.pwned ?? null"));
        AssertNoErrors();
    }

    [SkippableFact]
    public async Task When_the_server_cannot_be_reached_the_page_says_so_and_keeps_the_last_list()
    {
        var alert = RaiseOxygenLow();
        var page = await OpenConsoleAsync(360, 740);
        var row = Row(page, alert);
        await row.GetByTestId("ack-button").ClickAsync();
        await row.GetByTestId("ack-note").FillAsync("đã bật máy sục dự phòng");

        // The link drops: every API request now fails as a network error, as fetch sees it when the site is offline.
        await page.RouteAsync("**/api/**", route => route.AbortAsync("internetdisconnected"));
        await row.GetByTestId("ack-submit").ClickAsync();

        await Expect(row.GetByTestId("ack-error")).ToHaveTextAsync("Không gửi được: không kết nối được máy chủ. Hãy thử lại.");
        await page.GetByTestId("state-filter").SelectOptionAsync("all");
        var status = page.GetByTestId("connection-status");
        await Expect(status).ToHaveAttributeAsync("data-state", "offline");
        await Expect(status).ToContainTextAsync("Không kết nối được máy chủ");
        await Expect(row.GetByTestId("alert-message")).ToHaveTextAsync("Oxy hòa tan thấp ở bể 03");
        await Expect(row.GetByTestId("ack-note")).ToHaveValueAsync("đã bật máy sục dự phòng");
        Assert.Null(_store.Get(alert.Id)!.AcknowledgedAt);

        // The link comes back: the next acknowledgement goes through.
        await page.UnrouteAllAsync();
        await row.GetByTestId("ack-submit").ClickAsync();
        await Expect(row).ToHaveAttributeAsync("data-state", "acknowledged");
        await Expect(status).ToHaveAttributeAsync("data-state", "ok");
        Assert.Equal("nguyen.van.a", _store.Get(alert.Id)!.AcknowledgedBy);
        AssertNoErrors();
    }

    /// <summary>
    /// A realistic mix of alerts, one with its shelve form open showing an error, on a phone and on a desktop. With <c>PILOTS_CONSOLE_SCREENSHOTS=DIR</c> it also saves
    /// <c>console-360.png</c> and <c>console-1280.png</c> there, to look at the page after changing it.
    /// </summary>
    [SkippableFact]
    public async Task A_mix_of_alerts_fits_a_phone_and_a_desktop()
    {
        var oxygen = RaiseOxygenLow(2.8);
        var wind = Raise("wind-high", Crane2, "wind_m_s", Severity.Warning, 5, 21.5, new LocalizedText("Wind high at crane 2: stop lifting above 20 m/s", "Gió mạnh ở cẩu 2: dừng nâng hàng khi trên 20 m/s"));
        Raise("zone-temp-high", Furnace1, "zone_temp_c", Severity.Info, 8, 1262.5, new LocalizedText("Furnace 1 zone 2 temperature above setpoint", "Nhiệt độ vùng 2 lò 1 vượt điểm đặt"));
        _store.Acknowledge(wind.Id, "Phạm Văn C", "đã hạ cần cẩu", Start.AddMinutes(12));
        var screenshots = Environment.GetEnvironmentVariable("PILOTS_CONSOLE_SCREENSHOTS");

        foreach (var width in new[] { 360, 1280 })
        {
            var page = await OpenConsoleAsync(width, width == 360 ? 740 : 800);
            await Expect(page.GetByTestId("alert-row")).ToHaveCountAsync(3);
            await Expect(Row(page, oxygen).GetByTestId("alert-severity")).ToHaveTextAsync("▲ Nghiêm trọng");
            await Expect(page.GetByText("1.262,5 °C")).ToBeVisibleAsync();
            await Row(page, oxygen).GetByTestId("shelve-button").ClickAsync();
            await Row(page, oxygen).GetByTestId("shelve-submit").ClickAsync();
            await Expect(Row(page, oxygen).GetByTestId("ack-error")).ToBeVisibleAsync();
            Assert.True(await page.EvaluateAsync<bool>($"document.documentElement.scrollWidth <= {width}"), $"the page scrolls sideways at {width} px");
            if (!string.IsNullOrEmpty(screenshots))
            {
                await page.EvaluateAsync("window.scrollTo(0, 0)");
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, $"console-{width}.png"), FullPage = true });
            }

            await _context!.CloseAsync();
            _context = null;
        }

        AssertNoErrors();
    }
}
