using System.Net;
using System.Text;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.IntegrationTests;

/// <summary>Who may call the alert API, and what they see, on a real Kestrel: keys, roles, site scopes, antiforgery, login limits.</summary>
public sealed class AccessTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey FarmA = new("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03");
    private static readonly SeriesKey FarmB = new("aquaculture", "cat-hai-ras-1", "gw-aqua-02", "tank-07");

    private readonly FakeTimeProvider _time = new(Start.AddMinutes(30));
    private readonly ErrorLog _log = new();
    private AlertHost _host = null!;

    public async Task InitializeAsync() => _host = await AlertHost.StartAsync(_time, _log, access: o => o with { LoginAttemptsPerAddress = 8 });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Alert Raise(SeriesKey series) => _host.Store.Apply(new AlertEvent(
        AlertTransition.Raised, "do-low", Severity.Critical, series, "do_mg_l", Start, Start, 2.8, null, new LocalizedText($"DO low in {series.Device}", $"Oxy thấp ở {series.Device}")))!;

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((int)response.StatusCode, document.RootElement.GetProperty("status").GetInt32());
        return document.RootElement.Clone();
    }

    private static long[] Ids(string json)
    {
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(a => a.GetProperty("id").GetInt64())];
    }

    [Fact]
    public async Task Without_a_key_or_with_a_wrong_or_revoked_one_the_api_answers_401_problem_json()
    {
        var alert = Raise(FarmA);
        using var anonymous = new HttpClient { BaseAddress = _host.Address };
        using var none = await anonymous.GetAsync(new Uri("/api/alerts", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Contains("log in, or send an API key", (await ProblemAsync(none)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var wrong = AlertHost.KeyClient(_host.Address, ApiKeys.Generate());
        using var wrongAnswer = await wrong.GetAsync(new Uri("/api/alerts", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongAnswer.StatusCode);
        Assert.Equal("Bearer", wrongAnswer.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("unknown or revoked", (await ProblemAsync(wrongAnswer)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        var key = _host.CreateKey(Role.Operator, name: "scada");
        using var keyed = new HttpClient { BaseAddress = _host.Address };
        keyed.DefaultRequestHeaders.Add(ApiKeys.Header, key);
        using var ok = await keyed.GetAsync(new Uri($"/api/alerts/{alert.Id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        _host.Users.RevokeKey("scada");
        using var revoked = await keyed.GetAsync(new Uri($"/api/alerts/{alert.Id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        await ProblemAsync(revoked);

        // A POST without credentials is a 401 too, and changes nothing.
        using var post = await anonymous.PostAsync(new Uri($"/api/alerts/{alert.Id}/ack", UriKind.Relative), Json("{}"));
        Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        Assert.Null(_host.Store.Get(alert.Id)!.AcknowledgedAt);
        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task A_viewer_gets_403_problem_json_on_acknowledge_and_shelve_and_on_user_management()
    {
        var alert = Raise(FarmA);
        using var viewer = _host.Client(Role.Viewer, keyName: "dashboard");

        using var list = await viewer.GetAsync(new Uri("/api/alerts", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        foreach (var (path, body) in new[] { ($"/api/alerts/{alert.Id}/ack", "{}"), ($"/api/alerts/{alert.Id}/shelve", """{"reason":"x","minutes":5}"""), ("/api/users", """{"name":"eve","role":"admin","sites":"*"}""") })
        {
            using var refused = await viewer.PostAsync(new Uri(path, UriKind.Relative), Json(body));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("'key:dashboard' (viewer", (await ProblemAsync(refused)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Null(_host.Store.Get(alert.Id)!.AcknowledgedAt);
        Assert.Null(_host.Users.FindUser("eve"));
        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task A_user_scoped_to_one_site_sees_only_its_alerts_and_gets_404_for_the_others()
    {
        var mine = Raise(FarmA);
        var theirs = Raise(FarmB);
        using var farm = _host.Client(Role.Operator, sites: "haiphong-ras-1");
        using var everyone = _host.Client(Role.Viewer);

        Assert.Equal([mine.Id], Ids(await farm.GetStringAsync(new Uri("/api/alerts?state=all", UriKind.Relative))));
        Assert.Empty(Ids(await farm.GetStringAsync(new Uri("/api/alerts?site=cat-hai-ras-1", UriKind.Relative))));
        Assert.Equal([theirs.Id, mine.Id], Ids(await everyone.GetStringAsync(new Uri("/api/alerts", UriKind.Relative))));

        using var byId = await farm.GetAsync(new Uri($"/api/alerts/{theirs.Id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, byId.StatusCode);
        // The same answer as for an alert that does not exist: nothing tells the other farm's alert is there.
        Assert.Contains($"alert {theirs.Id} does not exist", await byId.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        foreach (var action in new[] { "ack", "shelve" })
        {
            using var refused = await farm.PostAsync(new Uri($"/api/alerts/{theirs.Id}/{action}", UriKind.Relative), Json("""{"reason":"x","minutes":5}"""));
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }

        Assert.Null(_host.Store.Get(theirs.Id)!.AcknowledgedAt);
        using var own = await farm.PostAsync(new Uri($"/api/alerts/{mine.Id}/ack", UriKind.Relative), Json("{}"));
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);

        // Figures that count every site are not for a farm's key.
        using var me = JsonDocument.Parse(await farm.GetStringAsync(new Uri("/api/me", UriKind.Relative)));
        Assert.Equal("haiphong-ras-1", me.RootElement.GetProperty("sites").GetString());
        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task A_post_with_the_session_cookie_but_without_the_antiforgery_token_is_refused_even_as_text_plain()
    {
        var alert = Raise(FarmA);
        var (name, password) = _host.CreateUser(Role.Operator, name: "nguyen.van.a");
        var (http, csrf) = await _host.SessionClientAsync(name, password);
        using (http)
        {
            // What a cross-site form can send: text/plain, the cookie, no token.
            foreach (var content in new HttpContent[] { new StringContent("{}", Encoding.UTF8, "text/plain"), Json("{}") })
            {
                using var forged = await http.PostAsync(new Uri($"/api/alerts/{alert.Id}/ack", UriKind.Relative), content);
                Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
                Assert.Contains("antiforgery token", (await ProblemAsync(forged)).GetProperty("detail").GetString(), StringComparison.Ordinal);
            }

            using var wrongToken = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/alerts/{alert.Id}/ack", UriKind.Relative)) { Content = Json("{}") };
            wrongToken.Headers.Add(AccessSetup.AntiforgeryHeader, "CfDJ8-not-a-token");
            using var wrongAnswer = await http.SendAsync(wrongToken);
            Assert.Equal(HttpStatusCode.BadRequest, wrongAnswer.StatusCode);
            Assert.Null(_host.Store.Get(alert.Id)!.AcknowledgedAt);

            using var real = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/alerts/{alert.Id}/ack", UriKind.Relative)) { Content = Json("""{"note":"ok"}""") };
            real.Headers.Add(AccessSetup.AntiforgeryHeader, csrf);
            using var accepted = await http.SendAsync(real);
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
            Assert.Equal("nguyen.van.a", _host.Store.Get(alert.Id)!.AcknowledgedBy);
            Assert.Equal("console", _host.Store.AcknowledgedVia(alert.Id));
        }
    }

    [Fact]
    public async Task Login_attempts_beyond_the_limit_get_429_per_user_name_and_per_address()
    {
        var (_, password) = _host.CreateUser(Role.Viewer, name: "farmer");
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true }) { BaseAddress = _host.Address };
        var token = AlertHost.HiddenValue(await http.GetStringAsync(new Uri("/login", UriKind.Relative)), AccessSetup.AntiforgeryField);

        async Task<HttpStatusCode> TryAsync(string user, string pass)
        {
            using var response = await http.PostAsync(new Uri("/login", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["username"] = user, ["password"] = pass, [AccessSetup.AntiforgeryField] = token,
            }));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.NotNull(response.Headers.RetryAfter);
                Assert.Contains("Quá nhiều lần đăng nhập", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            return response.StatusCode;
        }

        // Five wrong guesses for one name are answered; the sixth, even with the right password, is not.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await TryAsync("farmer", $"guess-number-{i}"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await TryAsync("FARMER", password));

        // Other names from the same address: this host allows 8 attempts per address a minute, and 5 were answered.
        foreach (var other in new[] { "someone", "someone-else", "a-third" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await TryAsync(other, "guess-number-x"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await TryAsync("a-fourth", "guess-number-y"));
    }

    [Fact]
    public async Task Every_response_carries_a_strict_content_security_policy_with_a_fresh_nonce_on_the_page()
    {
        using var http = _host.Client(Role.Viewer);
        using var first = await http.GetAsync(new Uri("/", UriKind.Relative));
        using var second = await http.GetAsync(new Uri("/", UriKind.Relative));
        var csp = first.Headers.GetValues("Content-Security-Policy").Single();
        Assert.StartsWith("default-src 'self'; script-src 'self' 'nonce-", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        var nonce = System.Text.RegularExpressions.Regex.Match(csp, "'nonce-([^']+)'").Groups[1].Value;
        var html = await first.Content.ReadAsStringAsync();
        Assert.Contains($"<script nonce=\"{nonce}\">", html, StringComparison.Ordinal);
        Assert.Contains($"<style nonce=\"{nonce}\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.NotEqual(csp, second.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", first.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", first.Headers.GetValues("Referrer-Policy").Single());

        // The login page is open, and under the same policy.
        using var anonymous = new HttpClient { BaseAddress = _host.Address };
        using var login = await anonymous.GetAsync(new Uri("/login", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Contains("Đăng nhập", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", login.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_manages_users_and_keys_through_the_api_and_bad_input_names_the_field()
    {
        using var admin = _host.Client(Role.Admin);
        using var created = await admin.PostAsync(new Uri("/api/users", UriKind.Relative), Json("""{"name":"tran.thi.b","role":"operator","sites":"haiphong-ras-1"}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var password = body.RootElement.GetProperty("password").GetString()!;
        Assert.NotNull(_host.Users.CheckPassword("tran.thi.b", password));

        foreach (var (json, error, status) in new[]
        {
            ("""{"name":"x y","role":"viewer","sites":"*"}""", "name: 'x y' is not a name", HttpStatusCode.BadRequest),
            ("""{"name":"c","role":"boss","sites":"*"}""", "role: 'boss' is not a role", HttpStatusCode.BadRequest),
            ("""{"name":"c","role":"viewer","sites":"Farm A"}""", "sites: 'Farm A' is not a site id", HttpStatusCode.BadRequest),
            ("""{"name":"c","role":"viewer","sites":"*","password":"short"}""", "password: too short", HttpStatusCode.BadRequest),
            ("""{"name":"tran.thi.b","role":"viewer","sites":"*"}""", "user 'tran.thi.b' exists already", HttpStatusCode.Conflict),
        })
        {
            using var refused = await admin.PostAsync(new Uri("/api/users", UriKind.Relative), Json(json));
            Assert.Equal(status, refused.StatusCode);
            Assert.Contains(error, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var disabled = await admin.PostAsync(new Uri("/api/users/tran.thi.b/disable", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        Assert.Null(_host.Users.CheckPassword("tran.thi.b", password));
        using var unknown = await admin.PostAsync(new Uri("/api/users/nobody/disable", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        using var key = await admin.PostAsync(new Uri("/api/keys", UriKind.Relative), Json("""{"name":"scada","role":"viewer","sites":"*"}"""));
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        using var keyBody = JsonDocument.Parse(await key.Content.ReadAsStringAsync());
        using var scada = AlertHost.KeyClient(_host.Address, keyBody.RootElement.GetProperty("secret").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await scada.GetAsync(new Uri("/api/alerts", UriKind.Relative))).StatusCode);
        using var revoke = await admin.PostAsync(new Uri("/api/keys/scada/revoke", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await scada.GetAsync(new Uri("/api/alerts", UriKind.Relative))).StatusCode);

        // Only an admin of every site manages users: a farm's admin could otherwise grant the other farms.
        using var farmAdmin = _host.Client(Role.Admin, sites: "haiphong-ras-1");
        Assert.Equal(HttpStatusCode.Forbidden, (await farmAdmin.GetAsync(new Uri("/api/users", UriKind.Relative))).StatusCode);
        Assert.Empty(_log.Errors);
    }
}
