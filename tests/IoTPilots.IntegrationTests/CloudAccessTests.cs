using System.Net;
using IoTPilots.Cloud.Access;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The real cloud executable behind its logins: health stays open, the ingestion figures need a key (of every site),
/// a page request without a session goes to the login page; a broken users file or session setting stops the start
/// (exit 2) naming it. No broker or InfluxDB: the cloud answers HTTP while it waits for them.
/// </summary>
public sealed class CloudAccessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-cloud-access-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ChildProcess Cloud(int port, Dictionary<string, string>? env = null)
    {
        env ??= [];
        env.TryAdd("PILOTS_MQTT_URL", "mqtt://127.0.0.1:9");
        env.TryAdd("PILOTS_INFLUX_URL", "http://127.0.0.1:9");
        env.TryAdd("PILOTS_ALERT_DB", Path.Combine(_dir, "alerts.db"));
        env.TryAdd("PILOTS_RULES_ENABLED", "0");
        return new ChildProcess("cloud/IoTPilots.Cloud", ["--urls", $"http://127.0.0.1:{port}"], env);
    }

    [Fact]
    public async Task Health_is_open_and_the_ingestion_stats_need_a_key_of_every_site()
    {
        // The users file the cloud finds by default: beside its alert store.
        var usersDb = Path.Combine(_dir, "users.db");
        var key = Hosts.CreateApiKey(usersDb, Role.Viewer, "*", "bench");
        var farmKey = Hosts.CreateApiKey(usersDb, Role.Admin, "haiphong-ras-1", "farm");
        var port = Servers.FreePort();
        using var cloud = Cloud(port);
        cloud.Start();
        var address = new Uri($"http://127.0.0.1:{port}");
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = address };
        await Listening.AliveAsync(cloud, address);

        // Not ready (no broker), but answered: not a 401.
        using var health = await anonymous.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);

        using var noKey = await anonymous.GetAsync(new Uri("/api/ingestion/stats", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal("application/problem+json", noKey.Content.Headers.ContentType?.MediaType);

        using var withKey = AlertHost.KeyClient(address, key);
        using var stats = await withKey.GetAsync(new Uri("/api/ingestion/stats", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        Assert.Contains("\"messagesStored\":0", await stats.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var farm = AlertHost.KeyClient(address, farmKey);
        using var scoped = await farm.GetAsync(new Uri("/api/ingestion/stats", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Forbidden, scoped.StatusCode);
        Assert.Equal("application/problem+json", scoped.Content.Headers.ContentType?.MediaType);

        // A browser without a session is sent to the login page, which is open.
        using var page = new HttpRequestMessage(HttpMethod.Get, new Uri("/", UriKind.Relative));
        page.Headers.Accept.ParseAdd("text/html");
        using var redirect = await anonymous.SendAsync(page);
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("/login", redirect.Headers.Location?.AbsolutePath);
        using var login = await anonymous.GetAsync(new Uri("/login", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
    }

    [Theory]
    [InlineData("PILOTS_SESSION_MINUTES", "0", "PILOTS_SESSION_MINUTES: '0' is not a number of minutes from 1 to 10080")]
    [InlineData("PILOTS_USERS_DB", "USERS_FILE", "PILOTS_USERS_DB: USERS_FILE is not a users database")]
    public async Task A_bad_users_setting_stops_the_start_naming_it(string variable, string value, string expected)
    {
        var usersFile = Path.Combine(_dir, "users.db");
        await File.WriteAllTextAsync(usersFile, "not SQLite: a text file someone put here by mistake, long enough for a header");
        value = value.Replace("USERS_FILE", usersFile, StringComparison.Ordinal);
        expected = expected.Replace("USERS_FILE", usersFile, StringComparison.Ordinal);
        using var cloud = Cloud(Servers.FreePort(), new() { [variable] = value });
        cloud.Start();

        Assert.Equal(2, await cloud.ExitCodeAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"cloud: {expected}", cloud.Log, StringComparison.Ordinal);
    }
}
