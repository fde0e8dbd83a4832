using System.Globalization;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace IoTPilots.IntegrationTests;

/// <summary>Logging in and out of the console, sessions that expire, and a cross-site form, in Debian's Chromium.</summary>
public sealed class AccessBrowserTests : IClassFixture<ConsoleBrowser>, IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey FarmA = new("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03");
    private static readonly SeriesKey FarmB = new("aquaculture", "cat-hai-ras-1", "gw-aqua-02", "tank-07");

    private readonly ConsoleBrowser _browser;
    private readonly FakeTimeProvider _time = new(Start.AddMinutes(30));
    private readonly ErrorLog _log = new();
    private readonly List<string> _pageErrors = [];
    private AlertHost _host = null!;
    private IBrowserContext? _context;

    public AccessBrowserTests(ConsoleBrowser browser)
    {
        _browser = browser;
        SetDefaultExpectTimeout(15_000);
    }

    public async Task InitializeAsync() => _host = await AlertHost.StartAsync(_time, _log);

    public async Task DisposeAsync()
    {
        if (_context is not null)
        {
            await _context.CloseAsync();
        }

        await _host.DisposeAsync();
    }

    private Alert Raise(SeriesKey series) => _host.Store.Apply(new AlertEvent(
        AlertTransition.Raised, "do-low", Severity.Critical, series, "do_mg_l", Start, Start, 2.8, null, new LocalizedText($"DO low in {series.Device}", $"Oxy thấp ở {series.Device}")))!;

    private async Task<IPage> NewPageAsync(int width = 360, int height = 740)
    {
        _context = await _browser.Require().NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = _host.Address.ToString(),
            Locale = "vi-VN",
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        var page = await _context.NewPageAsync();
        page.PageError += (_, error) => _pageErrors.Add(error);
        page.Console += (_, message) =>
        {
            // A CSP violation is reported on the console, not as a page error.
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                _pageErrors.Add(message.Text);
            }
        };
        return page;
    }

    private static Task<bool> OnLoginPageAsync(IPage page) => page.GetByTestId("login-form").IsVisibleAsync();

    [SkippableFact]
    public async Task Log_in_then_log_out_on_a_phone()
    {
        var alert = Raise(FarmA);
        var (name, password) = _host.CreateUser(Role.Operator, name: "nguyen.van.a");
        var page = await NewPageAsync();

        // Not logged in: the console sends the browser to the login page, which fits a phone.
        await page.GotoAsync("/?state=all");
        await Expect(page.GetByTestId("login-form")).ToBeVisibleAsync();
        Assert.Contains("/login?ReturnUrl=", page.Url, StringComparison.Ordinal);
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= 360"), "the login page scrolls sideways at 360 px");

        await page.GetByTestId("login-user").FillAsync(name);
        await page.GetByTestId("login-password").FillAsync("not-the-password");
        await page.GetByTestId("login-submit").ClickAsync();
        await Expect(page.GetByTestId("login-error")).ToContainTextAsync("Sai tên đăng nhập hoặc mật khẩu.");

        await page.GetByTestId("login-password").FillAsync(password);
        await page.GetByTestId("login-submit").ClickAsync();
        await Expect(page.GetByTestId("who-name")).ToHaveTextAsync("Đăng nhập: nguyen.van.a (vận hành)");
        await Expect(page.Locator($"[data-alert-id='{alert.Id.ToString(CultureInfo.InvariantCulture)}']")).ToBeVisibleAsync();
        Assert.EndsWith("/?state=all", page.Url, StringComparison.Ordinal);

        await page.GetByTestId("logout").ClickAsync();
        await Expect(page.GetByTestId("login-form")).ToBeVisibleAsync();
        await page.GotoAsync("/");
        await Expect(page.GetByTestId("login-form")).ToBeVisibleAsync();
        Assert.Empty(_pageErrors);
        Assert.Empty(_log.Errors);
    }

    [SkippableFact]
    public async Task An_expired_session_sends_the_open_console_back_to_the_login_page()
    {
        Raise(FarmA);
        var (name, password) = _host.CreateUser(Role.Viewer, name: "viewer.farm");
        var page = await NewPageAsync();
        await BrowserLogin.LogInAsync(page, name, password);
        await Expect(page.GetByTestId("alert-row")).ToHaveCountAsync(1);

        // The session lasts 8 hours without a request; the service's clock moves past that.
        _time.Advance(AccessOptions.DefaultSessionLifetime + TimeSpan.FromMinutes(1));
        await page.GetByTestId("state-filter").SelectOptionAsync("all");

        await Expect(page.GetByTestId("login-form")).ToBeVisibleAsync();
        Assert.Contains("ReturnUrl=%2F%3Fstate%3Dall", page.Url, StringComparison.Ordinal);

        // Logging in again brings the console back where it was.
        await page.GetByTestId("login-user").FillAsync(name);
        await page.GetByTestId("login-password").FillAsync(password);
        await page.GetByTestId("login-submit").ClickAsync();
        await Expect(page.GetByTestId("state-filter")).ToHaveValueAsync("all");
        Assert.Empty(_pageErrors);
    }

    [SkippableFact]
    public async Task A_farms_user_sees_only_that_farm_in_the_list_and_the_counts()
    {
        var mine = Raise(FarmA);
        Raise(FarmB);
        var (name, password) = _host.CreateUser(Role.Operator, "haiphong-ras-1", "farm.a");
        var page = await NewPageAsync();
        await BrowserLogin.LogInAsync(page, name, password);

        await Expect(page.GetByTestId("alert-row")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("alert-row")).ToHaveAttributeAsync("data-alert-id", mine.Id.ToString(CultureInfo.InvariantCulture));
        await Expect(page.GetByTestId("open-counts")).ToHaveTextAsync("Đang mở: 1 nghiêm trọng · 0 cảnh báo");
        Assert.Empty(_pageErrors);
    }

    [SkippableFact]
    public async Task A_cross_site_form_posting_text_plain_cannot_acknowledge()
    {
        var alert = Raise(FarmA);
        var (name, password) = _host.CreateUser(Role.Operator, name: "nguyen.van.a");
        var page = await NewPageAsync();
        await BrowserLogin.LogInAsync(page, name, password);
        await Expect(page.GetByTestId("ack-button")).ToBeVisibleAsync();

        // Another site, in the same logged-in browser, with the classic JSON-in-text/plain form.
        var target = new Uri(_host.Address, $"/api/alerts/{alert.Id}/ack");
        await _context!.RouteAsync("http://attacker.test/**", route => route.FulfillAsync(new RouteFulfillOptions
        {
            ContentType = "text/html",
            Body = $$"""
                <form method="post" action="{{target}}" enctype="text/plain"><input name='{"note":"pwned","x":"' value='"}'></form>
                <script>document.forms[0].submit()</script>
                """,
        }));
        var answer = await page.RunAndWaitForResponseAsync(() => page.GotoAsync("http://attacker.test/"), r => r.Url == target.ToString());

        Assert.True(answer.Status is 400 or 401 or 403, $"the cross-site POST was answered {answer.Status}");
        Assert.Null(_host.Store.Get(alert.Id)!.AcknowledgedAt);
    }

    [SkippableFact]
    public async Task An_admin_adds_a_user_on_the_admin_page_who_can_then_log_in()
    {
        var (name, password) = _host.CreateUser(Role.Admin, name: "admin");
        var page = await NewPageAsync(1280, 800);
        await BrowserLogin.LogInAsync(page, name, password);
        await page.GetByTestId("admin-link").ClickAsync();

        var form = page.GetByTestId("add-user");
        await form.Locator("[name=name]").FillAsync("tran.thi.b");
        await form.Locator("[name=role]").SelectOptionAsync("operator");
        await form.Locator("[name=sites]").FillAsync("haiphong-ras-1");
        await form.Locator("button").ClickAsync();

        await Expect(page.GetByTestId("admin-users").Locator("[data-user='tran.thi.b']")).ToContainTextAsync("haiphong-ras-1");
        var secret = await page.GetByTestId("admin-secret").TextContentAsync();
        var generated = secret!.Split(": ")[^1].Trim();
        Assert.NotNull(_host.Users.CheckPassword("tran.thi.b", generated));

        await form.Locator("[name=name]").FillAsync("bad name");
        await form.Locator("button").ClickAsync();
        await Expect(page.GetByTestId("admin-error")).ToContainTextAsync("name: 'bad name' is not a name");
        Assert.Empty(_pageErrors);
        Assert.Empty(_log.Errors);
    }
}
