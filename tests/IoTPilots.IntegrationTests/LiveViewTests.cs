using System.Globalization;
using System.Net;
using System.Text.Json;
using IoTPilots.FirmwareSim.Scenarios;
using IoTPilots.IntegrationTests.Harness;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace IoTPilots.IntegrationTests;

/// <summary>The platform with all three pilots' simulators running, started once for the class (<see cref="LivePlant"/>).</summary>
/// <remarks>
/// <see cref="IAsyncLifetime"/>, not only IAsyncDisposable: xUnit 2 awaits that one for a class fixture, and a plant left
/// running would go on publishing tank-01 and the others into every later test's broker.
/// </remarks>
public sealed class LivePlantFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private LivePlant? _plant;

    public async Task<LivePlant> StartAsync(Servers servers)
    {
        await _gate.WaitAsync();
        try
        {
            return _plant ??= await LivePlant.StartAsync(servers);
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_plant is not null)
        {
            await _plant.DisposeAsync();
        }

        _gate.Dispose();
    }
}

/// <summary>
/// The live plant view in Chromium, with the simulators, edges and cloud running: every pilot's tiles, a tile that
/// turns red when the aerator fails, a gateway that goes offline when its link is cut, a phone and a wall screen.
/// Screenshots go to <c>artifacts/</c> in the test output folder.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class LiveViewTests : IClassFixture<ConsoleBrowser>, IClassFixture<LivePlantFixture>, IAsyncLifetime
{
    private readonly Servers _servers;
    private readonly ConsoleBrowser _browser;
    private readonly LivePlantFixture _fixture;
    private readonly List<string> _pageErrors = [];
    private LivePlant _plant = null!;
    private IBrowserContext? _context;

    public LiveViewTests(Servers servers, ConsoleBrowser browser, LivePlantFixture fixture)
    {
        _servers = servers;
        _browser = browser;
        _fixture = fixture;

        // Edges poll every 2 to 10 s and a cut link takes the broker a moment to notice: generous, and every wait ends
        // as soon as its condition holds.
        SetDefaultExpectTimeout(60_000);
    }

    public static string Artifacts => Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;

    public async Task InitializeAsync() => _plant = await _fixture.StartAsync(_servers);

    public async Task DisposeAsync()
    {
        if (_context is not null)
        {
            await _context.CloseAsync();
        }
    }

    /// <summary>
    /// A fresh browser context in Hai Phong's time zone, logged in as a viewer of <paramref name="sites"/>, on the live
    /// view once its stream is connected. The one way the tests reach <c>/live</c>.
    /// </summary>
    private async Task<IPage> OpenLiveAsync(int width = 1280, int height = 900, string sites = "*")
    {
        if (_context is not null)
        {
            await _context.CloseAsync();
        }

        _context = await _browser.Require().NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = _plant.Address.ToString(),
            Locale = "vi-VN",
            TimezoneId = "Asia/Ho_Chi_Minh",
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        var page = await _context.NewPageAsync();
        page.PageError += (_, error) => _pageErrors.Add(error);
        var (name, password) = _plant.CreateUser(IoTPilots.Cloud.Access.Role.Viewer, sites);
        await BrowserLogin.LogInAsync(page, name, password, "/live");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/live$"));
        await Expect(page.GetByTestId("connection-status")).ToHaveAttributeAsync("data-state", "ok");
        return page;
    }

    private static ILocator Tile(IPage page, string device) => page.Locator($"[data-testid=tile][data-device='{device}']");

    private static ILocator Gateway(IPage page, string gateway) => page.Locator($"[data-testid=gateway][data-gateway='{gateway}']");

    /// <summary>Every pilot's devices are on the page, each gateway online; waits for the slowest poller (10 s).</summary>
    private static async Task WaitForWholePlantAsync(IPage page)
    {
        foreach (var device in new[] { "tank-01", "tank-02-probe", "buoy-catba-01", "furnace-1-zone-1", "mill-1", "sts-01", "rtg-01" })
        {
            await Expect(Tile(page, device)).ToHaveCountAsync(1);
        }

        foreach (var gateway in new[] { "gw-aqua-01", "gw-factory-01", "gw-port-01" })
        {
            await Expect(Gateway(page, gateway)).ToHaveAttributeAsync("data-state", "online");
        }
    }

    [SkippableFact]
    public async Task The_view_shows_all_three_pilots_with_their_devices_and_gateways_in_vietnamese()
    {
        var page = await OpenLiveAsync();
        await WaitForWholePlantAsync(page);

        Assert.Equal(["aquaculture", "factory", "port"], await page.GetByTestId("pilot").EvaluateAllAsync<string[]>("s => s.map(e => e.dataset.pilot)"));
        await Expect(page.Locator("[data-pilot=aquaculture] h2")).ToHaveTextAsync("Nuôi tôm");
        await Expect(page.Locator("[data-pilot=factory] h2")).ToHaveTextAsync("Nhà máy thép");
        await Expect(page.Locator("[data-pilot=port] h2")).ToHaveTextAsync("Cảng");
        await Expect(Gateway(page, "gw-aqua-01").GetByTestId("gateway-state")).ToHaveTextAsync("Trực tuyến");
        await Expect(Gateway(page, "gw-aqua-01").GetByTestId("gateway-figures")).ToContainTextAsync("hàng đợi");
        // The delivery accounting's figures (every second in this cloud) reach the gateway.
        await Expect(Gateway(page, "gw-port-01").GetByTestId("gateway-figures")).ToContainTextAsync("đầy đủ");

        // A tile: the rule-watched signals first with a sparkline, the value in Vietnamese notation with its unit, an age.
        var tank = Tile(page, "tank-01");
        await Expect(tank.Locator("[data-field=do_mg_l] [data-testid=value]")).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+,\d+ mg/L"));
        await Expect(tank.Locator("[data-field=do_mg_l] [data-testid=sparkline]")).ToHaveCountAsync(1);
        await Expect(tank.GetByTestId("age")).ToContainTextAsync("giây trước");
        // A crane shows its ISO 10816 zone itself, the derived iso_zone of the rules files, as a letter.
        await Expect(Tile(page, "sts-01").GetByTestId("iso-zone")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^ISO [A-D]$"));
        Assert.Equal(0, await tank.GetByTestId("iso-zone").CountAsync());
        await Expect(tank).ToHaveAttributeAsync("data-level", "ok");
        await Expect(tank.GetByTestId("tile-level")).ToHaveTextAsync("Bình thường");

        await page.GetByTestId("lang-toggle").ClickAsync();
        await Expect(page.Locator("[data-pilot=aquaculture] h2")).ToHaveTextAsync("Shrimp farms");
        await Expect(Gateway(page, "gw-aqua-01").GetByTestId("gateway-state")).ToHaveTextAsync("Online");
        await Expect(tank.GetByTestId("tile-level")).ToHaveTextAsync("Normal");
        Assert.Empty(_pageErrors);
    }

    [SkippableFact]
    public async Task A_user_of_one_site_sees_only_that_sites_tiles()
    {
        var page = await OpenLiveAsync(sites: "hp-steel-1");
        await Expect(Tile(page, "furnace-1-zone-1")).ToHaveCountAsync(1);
        await Expect(Tile(page, "mill-1")).ToHaveCountAsync(1);

        // The snapshot that drew the steel plant's tiles held nothing of the farms' or the port's.
        Assert.Equal(0, await Tile(page, "tank-01").CountAsync());
        Assert.Equal(0, await Tile(page, "sts-01").CountAsync());
        Assert.Equal(["factory"], await page.GetByTestId("pilot").EvaluateAllAsync<string[]>("s => s.map(e => e.dataset.pilot)"));
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task The_live_view_needs_a_login_and_hides_other_sites_devices()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _plant.Address };
        // A browser (it asks for HTML) is sent to the login page; the page's event stream gets a 401.
        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/live", UriKind.Relative)) { Headers = { { "Accept", "text/html" } } })
        using (var page = await anonymous.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
            Assert.Contains("/login", page.Headers.Location?.ToString(), StringComparison.Ordinal);
        }

        using (var events = await anonymous.GetAsync(new Uri("/live/events", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, events.StatusCode);
        }

        // A key of the steel plant: tank-01 is on the farm's site, so it is as unknown as a device that does not exist.
        using var steel = _plant.Client(IoTPilots.Cloud.Access.Role.Viewer, "hp-steel-1");
        using var everySite = _plant.Client();
        // Someone watching: the live view subscribes to the stream only while a viewer is connected.
        using var watching = await everySite.GetAsync(new Uri("/live/events", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, watching.StatusCode);
        await Eventually.TrueAsync(
            async () => (await everySite.GetAsync(new Uri("/live/api/history?site=cat-hai-ras-1&gateway=gw-aqua-01&device=tank-01&field=do_mg_l&range=1h", UriKind.Relative))).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(60),
            "tank-01 known to the live view");
        using var hidden = await steel.GetAsync(new Uri("/live/api/history?site=cat-hai-ras-1&gateway=gw-aqua-01&device=tank-01&field=do_mg_l&range=1h", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
    }

    [SkippableFact]
    public async Task A_tank_tile_turns_red_when_the_aerator_failure_takes_dissolved_oxygen_below_its_critical_threshold()
    {
        var page = await OpenLiveAsync();
        var tile = Tile(page, "tank-03");
        var oxygen = tile.Locator("[data-testid=signal][data-field=do_mg_l]");
        await Expect(tile).ToHaveAttributeAsync("data-level", "ok");

        // aerator-failure in simulated time: 8 minutes of tank-03's physics at once (DO passes 3 mg/L after about 6).
        _plant.FastForward(new AeratorFailure(), TimeSpan.FromMinutes(8));

        await Expect(tile).ToHaveAttributeAsync("data-level", "critical");
        await Expect(oxygen).ToHaveAttributeAsync("data-level", "critical");
        await Expect(tile.GetByTestId("tile-level")).ToHaveTextAsync("Nguy cấp");
        // Vietnamese notation, a decimal comma (the tests run without ICU, so no vi-VN culture to parse it with).
        var shown = double.Parse((await oxygen.GetByTestId("value").TextContentAsync())!.Split(' ')[0].Replace(',', '.'), CultureInfo.InvariantCulture);
        Assert.True(shown < 3.0, $"tank-03 is red with DO {shown} mg/L, not below the do-critical limit of 3.0");
        // The other tanks keep their aerators.
        await Expect(Tile(page, "tank-01")).ToHaveAttributeAsync("data-level", "ok");

        // The rules engine raises do-critical after its 30 s hold: the alert shows on the tile, in Vietnamese.
        await Expect(tile.GetByTestId("tile-alerts")).ToContainTextAsync("Oxy hòa tan ở tank-03");
        Assert.Empty(_pageErrors);
    }

    [SkippableFact]
    public async Task A_tile_shows_its_last_automatic_action_and_the_gateways_answer_as_it_arrives()
    {
        var page = await OpenLiveAsync();
        var tile = Tile(page, "tank-02");
        await Expect(tile).ToHaveCountAsync(1);
        var issued = DateTimeOffset.UtcNow;
        var at = issued.ToOffset(TimeSpan.FromHours(7)).ToString("HH:mm", CultureInfo.InvariantCulture);
        var command = new IoTPilots.Contract.CommandMessage($"c-{Guid.NewGuid():N}", "cat-hai-ras-1", "gw-aqua-01", "tank-02", "backup_aerator_on", 1, "rule:aerator-failure", issued, issued.AddMinutes(30));
        // A person's command is not an automatic action: the tile shows the rule's, even when the person's is newer.
        _plant.Commands.Issued(command, IoTPilots.Cloud.Commands.CommandStates.Sent, 1);
        _plant.Commands.Issued(command with { Id = $"c-{Guid.NewGuid():N}", IssuedBy = "nguyen.van.a", Value = 0, IssuedAt = issued.AddSeconds(1) }, IoTPilots.Cloud.Commands.CommandStates.Sent);

        var action = tile.GetByTestId("tile-action");
        await Expect(action).ToHaveAttributeAsync("data-state", "sent");
        await Expect(action).ToHaveTextAsync($"Máy sục dự phòng: BẬT lúc {at} (tự động) · đang chờ gateway");

        // The gateway's answer reaches the open page through the stream, without a reload.
        _plant.Commands.Answered(new IoTPilots.Contract.CommandResult(command.Id, command.Site, command.Gateway, IoTPilots.Contract.CommandOutcome.Done, "ok", "written and read back", 1, issued.AddSeconds(2)));
        await Expect(action).ToHaveAttributeAsync("data-state", "done");
        await Expect(action).ToHaveTextAsync($"Máy sục dự phòng: BẬT lúc {at} (tự động) · đã thực hiện, đọc lại 1");

        await page.GetByTestId("lang-toggle").ClickAsync();
        await Expect(action).ToHaveTextAsync($"Backup aerator: ON at {at} (automatic) · done, read back 1");
        // Only that tile: the other tanks had no action.
        Assert.Equal(0, await Tile(page, "tank-01").GetByTestId("tile-action").CountAsync());
        Assert.Empty(_pageErrors);
    }

    [SkippableFact]
    public async Task A_gateway_shows_offline_while_its_link_is_cut_and_online_again_after()
    {
        var page = await OpenLiveAsync();
        var port = Gateway(page, "gw-port-01");
        await Expect(port).ToHaveAttributeAsync("data-state", "online");

        var outage = new LinkOutage("gw-port-01");
        _plant.SetLinks(outage, LinkOutage.From);
        try
        {
            // The broker publishes the gateway's retained last will when its connection drops.
            await Expect(port).ToHaveAttributeAsync("data-state", "offline");
            await Expect(port.GetByTestId("gateway-state")).ToHaveTextAsync("Mất kết nối");
            await Expect(Gateway(page, "gw-aqua-01")).ToHaveAttributeAsync("data-state", "online");
        }
        finally
        {
            _plant.SetLinks(outage, LinkOutage.Until);
        }

        await Expect(port).ToHaveAttributeAsync("data-state", "online");
        Assert.Empty(_pageErrors);
    }

    [SkippableFact]
    public async Task A_phone_at_360_px_and_a_wall_at_1920x1080_show_the_plant_without_sideways_scrolling()
    {
        foreach (var (width, height) in new[] { (360, 740), (1920, 1080) })
        {
            var page = await OpenLiveAsync(width, height);
            await WaitForWholePlantAsync(page);
            Assert.True(await page.EvaluateAsync<bool>($"document.documentElement.scrollWidth <= {width}"), $"the live view scrolls sideways at {width} px");
            // Every tile and gateway inside the screen (read in one go: tiles are replaced as readings arrive).
            var rights = await page.Locator("[data-testid=tile], [data-testid=gateway]").EvaluateAllAsync<double[]>("es => es.map(e => e.getBoundingClientRect().right)");
            Assert.True(rights.Length >= 20, $"{rights.Length} tiles and gateways");
            Assert.True(rights.Max() <= width, $"a tile sticks out of a {width} px screen: its right edge is at {rights.Max()} px");
            if (width == 1920)
            {
                // A wall screen shows the tiles side by side: at least five across.
                // Polled, not read once: one full run saw a single column, once (tiles are re-rendered as readings
                // arrive); the message carries the layout the page had, should it ever stay so.
                var columns = 0;
                try
                {
                    await Eventually.TrueAsync(
                        async () => (columns = (await page.GetByTestId("tile").EvaluateAllAsync<double[]>("ts => ts.map(t => t.getBoundingClientRect().left)")).Distinct().Count()) >= 5,
                        TimeSpan.FromSeconds(15),
                        "five tile columns at 1920 px");
                }
                catch (TimeoutException)
                {
                    var layout = await page.EvaluateAsync<string>("() => `${document.styleSheets.length} style sheets; .tiles columns: ${[...document.querySelectorAll('.tiles')].map(t => getComputedStyle(t).gridTemplateColumns).join(' | ')}`");
                    Assert.Fail($"{columns} tile columns at 1920 px ({layout})");
                }
            }

            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Artifacts, $"live-{width}.png"), FullPage = width == 360 });
        }

        Assert.Empty(_pageErrors);
    }

    [SkippableFact]
    public async Task Clicking_a_tile_opens_its_history_from_influxdb_for_each_range()
    {
        var page = await OpenLiveAsync();
        var tile = Tile(page, "tank-01");
        await Expect(tile.Locator("[data-field=do_mg_l]")).ToHaveCountAsync(1);
        // The history reads what ingestion stored.
        await Eventually.TrueAsync(async () => (await _plant.Influx.RowsAsync("SELECT do_mg_l FROM telemetry WHERE device = 'tank-01' LIMIT 1")).Count > 0, TimeSpan.FromSeconds(60), "tank-01 in InfluxDB");

        await tile.Locator(".t-name").ClickAsync();

        var dialog = page.GetByTestId("history");
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(page.GetByTestId("history-field")).ToHaveValueAsync("do_mg_l");
        await Expect(page.GetByTestId("history-note")).ToHaveAttributeAsync("data-source", "raw");
        await Expect(page.GetByTestId("history-svg").Locator("polyline")).ToHaveCountAsync(1);
        // No rollups in this database yet: 24 h and 7 d fall back to raw with GROUP BY time.
        foreach (var range in new[] { "24h", "7d" })
        {
            await page.GetByTestId($"range-{range}").ClickAsync();
            await Expect(page.GetByTestId($"range-{range}")).ToHaveAttributeAsync("aria-pressed", "true");
            await Expect(page.GetByTestId("history-note")).ToContainTextAsync("Nguồn: raw");
        }

        await page.GetByTestId("history-close").ClickAsync();
        await Expect(dialog).Not.ToBeVisibleAsync();
        Assert.Empty(_pageErrors);
    }

    [Fact]
    public async Task The_history_api_answers_bad_input_with_a_problem_naming_the_parameter_and_404_for_an_unknown_device()
    {
        using var http = _plant.Client();
        // A viewer: the live view subscribes to the stream only while someone watches. Its stream opens with a snapshot.
        using var events = await http.GetAsync(new Uri("/live/events", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
        using var stream = new StreamReader(await events.Content.ReadAsStreamAsync());
        Assert.Equal("retry: 3000", await stream.ReadLineAsync());
        Assert.Equal("", await stream.ReadLineAsync());
        Assert.Equal("event: snapshot", await stream.ReadLineAsync());
        Assert.StartsWith("data: {\"now\":", await stream.ReadLineAsync(), StringComparison.Ordinal);

        async Task<(HttpStatusCode Status, JsonElement Body)> Get(string query)
        {
            using var response = await http.GetAsync(new Uri("/live/api/history?" + query, UriKind.Relative));
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
        }

        var (status, body) = await Get("site=cat-hai-ras-1&gateway=gw-aqua-01&device=tank-01&field=do_mg_l&range=2h");
        Assert.Equal((HttpStatusCode.BadRequest, "range"), (status, body.GetProperty("parameter").GetString()));
        Assert.Contains("1h, 24h, 7d", body.GetProperty("detail").GetString(), StringComparison.Ordinal);

        (status, body) = await Get("site=cat-hai-ras-1&gateway=gw-aqua-01&device=tank%2001&field=do_mg_l&range=1h");
        Assert.Equal((HttpStatusCode.BadRequest, "device"), (status, body.GetProperty("parameter").GetString()));

        (status, body) = await Get("site=cat-hai-ras-1&gateway=gw-aqua-01&device=tank-99&field=do_mg_l&range=1h");
        Assert.Equal((HttpStatusCode.NotFound, "device"), (status, body.GetProperty("parameter").GetString()));

        await Eventually.TrueAsync(
            async () => (await Get("site=cat-hai-ras-1&gateway=gw-aqua-01&device=tank-01&field=no_such_c&range=1h")).Status == HttpStatusCode.BadRequest,
            TimeSpan.FromSeconds(60),
            "tank-01 known to the live view");
        (_, body) = await Get("site=cat-hai-ras-1&gateway=gw-aqua-01&device=tank-01&field=no_such_c&range=1h");
        Assert.Equal("field", body.GetProperty("parameter").GetString());
        Assert.Contains("do_mg_l", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
