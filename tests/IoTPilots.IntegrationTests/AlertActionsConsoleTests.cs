using System.Globalization;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Commands;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Issue 15, "every action appears in the alert's history": the console shows, under each alert, the commands its rule
/// (or a person) sent to the site, who or what issued them, and the gateway's answer (done with the read-back,
/// refused with the reason, or expired unanswered). The record is a real commands database beside the alert store.
/// </summary>
public sealed class AlertActionsConsoleTests : IClassFixture<ConsoleBrowser>, IAsyncLifetime
{
    // 19:07 UTC on 23/11 is 02:07 on 24/11 in Hai Phong (UTC+7): the failure at night the issue speaks of.
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 19, 7, 0, TimeSpan.Zero);
    private static readonly SeriesKey Tank03 = new("aquaculture", "cat-hai-ras-1", "gw-aqua-01", "tank-03");

    private readonly ConsoleBrowser _browser;
    private readonly FakeTimeProvider _time = new(Start.AddMinutes(5));
    private readonly ErrorLog _log = new();
    private readonly List<string> _pageErrors = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-actions-").FullName;
    private AlertHost _host = null!;
    private CommandStore _commands = null!;
    private IBrowserContext? _context;

    public AlertActionsConsoleTests(ConsoleBrowser browser)
    {
        _browser = browser;
        SetDefaultExpectTimeout(15_000);
    }

    public async Task InitializeAsync()
    {
        _commands = CommandStore.Open(Path.Combine(_dir, "commands.db"));
        _host = await AlertHost.StartAsync(_time, _log, services: s => s.AddSingleton(_commands));
    }

    public async Task DisposeAsync()
    {
        if (_context is not null)
        {
            await _context.CloseAsync();
        }

        await _host.DisposeAsync();
        _commands.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private Alert RaiseAeratorFailure() => _host.Store.Apply(new AlertEvent(
        AlertTransition.Raised, "aerator-failure", Severity.Critical, Tank03, "do_mg_l", Start, Start.AddMinutes(-1), 4.2, null,
        new LocalizedText("The aerator of tank-03 has stopped", "Máy sục khí ở tank-03 đã dừng")))!;

    private CommandMessage Command(string id, string by, double minutes, double value = 1) => new(
        id, Tank03.Site, Tank03.Gateway, Tank03.Device, "backup_aerator_on", value, by, Start.AddMinutes(minutes), Start.AddMinutes(minutes + 2));

    /// <summary>The rule's start (done, read back 1), a person's stop refused by the panel's lock, and a start nobody answered before it expired.</summary>
    private Alert AlertWithThreeActions()
    {
        var alert = RaiseAeratorFailure();
        _commands.Issued(Command("c-done", "rule:aerator-failure", 0), CommandStates.Sent, alert.Id);
        _commands.Answered(new CommandResult("c-done", Tank03.Site, Tank03.Gateway, CommandOutcome.Done, CommandReasons.Ok, "written and read back", 1, Start.AddSeconds(2)));
        _commands.Issued(Command("c-locked", "nguyen.van.a", 3, value: 0), CommandStates.Sent, alert.Id);
        _commands.Answered(new CommandResult("c-locked", Tank03.Site, Tank03.Gateway, CommandOutcome.Refused, CommandReasons.Locked, "manual_mode is on at the panel", null, Start.AddMinutes(3).AddSeconds(1)));
        // Issued in 2026-11: long expired by the browser's clock, and never answered.
        _commands.Issued(Command("c-expired", "rule:aerator-failure", 10), CommandStates.Sent, alert.Id);
        return alert;
    }

    private async Task<IPage> OpenConsoleAsync()
    {
        _context = await _browser.Require().NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = _host.Address.ToString(),
            Locale = "vi-VN",
            TimezoneId = "Asia/Ho_Chi_Minh",
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        var page = await _context.NewPageAsync();
        page.PageError += (_, error) => _pageErrors.Add(error);
        var (name, password) = _host.CreateUser(Role.Viewer);
        await BrowserLogin.LogInAsync(page, name, password, "/");
        await Expect(page.GetByTestId("connection-status")).ToHaveAttributeAsync("data-state", "ok");
        return page;
    }

    [Fact]
    public async Task The_alert_list_carries_each_alerts_actions_with_the_gateways_answer()
    {
        var alert = AlertWithThreeActions();
        using var http = _host.Client(Role.Viewer);

        using var list = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/alerts?state=all", UriKind.Relative)));
        var actions = list.RootElement.EnumerateArray().Single(a => a.GetProperty("id").GetInt64() == alert.Id).GetProperty("actions");

        Assert.Equal(["c-done", "c-locked", "c-expired"], actions.EnumerateArray().Select(a => a.GetProperty("id").GetString()));
        var done = actions[0];
        Assert.Equal(("done", 1.0, "rule:aerator-failure"), (done.GetProperty("state").GetString(), done.GetProperty("readBack").GetDouble(), done.GetProperty("issuedBy").GetString()));
        Assert.Equal(("refused", "locked"), (actions[1].GetProperty("state").GetString(), actions[1].GetProperty("reason").GetString()));
        Assert.Empty(_log.Errors);
    }

    [SkippableFact]
    public async Task The_history_shows_each_action_when_what_who_and_the_answer_in_both_languages()
    {
        var alert = AlertWithThreeActions();
        var page = await OpenConsoleAsync();
        var row = page.Locator($"[data-testid=alert-row][data-alert-id='{alert.Id.ToString(CultureInfo.InvariantCulture)}']");
        var actions = row.GetByTestId("alert-action");

        await Expect(actions).ToHaveCountAsync(3);
        await Expect(actions.Nth(0)).ToHaveAttributeAsync("data-state", "done");
        await Expect(actions.Nth(0)).ToContainTextAsync("24/11 02:07 · tank-03 · Máy sục dự phòng: BẬT (tự động, quy tắc aerator-failure)");
        await Expect(actions.Nth(0).GetByTestId("alert-action-outcome")).ToHaveTextAsync("đã thực hiện · đọc lại 1 · 24/11 02:07");
        await Expect(actions.Nth(1)).ToContainTextAsync("Máy sục dự phòng: TẮT (bởi nguyen.van.a)");
        await Expect(actions.Nth(1).GetByTestId("alert-action-outcome")).ToHaveTextAsync("bị từ chối: locked (manual_mode is on at the panel) · 24/11 02:10");
        await Expect(actions.Nth(2)).ToHaveAttributeAsync("data-state", "expired");
        await Expect(actions.Nth(2).GetByTestId("alert-action-outcome")).ToHaveTextAsync("hết hạn, gateway không trả lời");

        await page.GetByTestId("lang-toggle").ClickAsync();
        await Expect(actions.Nth(0)).ToContainTextAsync("Backup aerator: ON (automatic, rule aerator-failure)");
        await Expect(actions.Nth(0).GetByTestId("alert-action-outcome")).ToHaveTextAsync("done · read back 1 · 24/11 02:07");
        await Expect(actions.Nth(1).GetByTestId("alert-action-outcome")).ToContainTextAsync("refused: locked");
        await Expect(actions.Nth(2).GetByTestId("alert-action-outcome")).ToHaveTextAsync("expired, the gateway did not answer");
        Assert.Empty(_pageErrors);
        Assert.Empty(_log.Errors);
    }

    [SkippableFact]
    public async Task An_answer_that_arrives_later_shows_on_the_next_refresh_without_a_reload()
    {
        var alert = RaiseAeratorFailure();
        // Valid for an hour from now by the browser's clock: waiting for the gateway, not expired.
        var now = DateTimeOffset.UtcNow;
        _commands.Issued(new CommandMessage("c-late", Tank03.Site, Tank03.Gateway, Tank03.Device, "backup_aerator_on", 1, "rule:aerator-failure", now, now.AddHours(1)), CommandStates.Sent, alert.Id);
        var page = await OpenConsoleAsync();
        var action = page.Locator($"[data-testid=alert-row][data-alert-id='{alert.Id.ToString(CultureInfo.InvariantCulture)}']").GetByTestId("alert-action");
        await Expect(action).ToHaveAttributeAsync("data-state", "sent");
        await Expect(action.GetByTestId("alert-action-outcome")).ToHaveTextAsync("đã gửi, chờ gateway trả lời");

        _commands.Answered(new CommandResult("c-late", Tank03.Site, Tank03.Gateway, CommandOutcome.Done, CommandReasons.Ok, "written and read back", 1, now.AddSeconds(3)));

        // The console refreshes every 10 s by itself.
        await Expect(action).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });
        await Expect(action.GetByTestId("alert-action-outcome")).ToContainTextAsync("đã thực hiện · đọc lại 1");
        Assert.Empty(_pageErrors);
    }
}
