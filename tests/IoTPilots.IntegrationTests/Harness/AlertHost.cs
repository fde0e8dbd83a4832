using System.Net.Http.Headers;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>
/// The alert API and console as the cloud serves them, on a real Kestrel on a free loopback port, over an alert
/// store and a users file in a throwaway folder, behind the cloud's logins and keys (<see cref="AccessSetup"/>).
/// Needs no MQTT or InfluxDB. Callers authenticate with <see cref="Client"/> (an API key) or, in a browser,
/// <see cref="BrowserLogin.LogInAsync"/> with a user from <see cref="CreateUser"/>.
/// </summary>
public sealed class AlertHost : IAsyncDisposable
{
    private readonly string _dir;
    private readonly WebApplication _app;

    private AlertHost(string dir, WebApplication app)
    {
        _dir = dir;
        _app = app;
        Address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        Store = app.Services.GetRequiredService<AlertStore>();
        Users = app.Services.GetRequiredService<UserStore>();
    }

    public Uri Address { get; }

    public AlertStore Store { get; }

    /// <summary>The users and keys file of this host.</summary>
    public UserStore Users { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="notifications">Also the notifier (planner, outbox, signed links) over <paramref name="notifications"/>'s contacts and routes, as the rules worker has it.</param>
    /// <param name="access">Changes to the access settings (session lifetime, login limits); the users file is in the host's folder.</param>
    /// <param name="services">More services (e.g. a commands record, whose actions the alerts then show).</param>
    public static async Task<AlertHost> StartAsync(TimeProvider time, ErrorLog log, IoTPilots.Cloud.Notifications.NotificationConfig? notifications = null, Func<AccessOptions, AccessOptions>? access = null, Action<IServiceCollection>? services = null)
    {
        var dir = Directory.CreateTempSubdirectory("pilots-alerts-").FullName;
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddProvider(log);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(_ => AlertStore.Open(Path.Combine(dir, "alerts.db"), time));
        var options = new AccessOptions(Path.Combine(dir, "users.db"), AccessOptions.DefaultSessionLifetime);
        builder.Services.AddAccess(access?.Invoke(options) ?? options);
        if (notifications is not null)
        {
            builder.Services.AddSingleton(new IoTPilots.Cloud.Notifications.NotificationPlanner(notifications, time));
            builder.Services.AddSingleton<IoTPilots.Cloud.Notifications.OutboxSignal>();
            builder.Services.AddSingleton<IoTPilots.Cloud.Notifications.AlertNotifier>();
            builder.Services.AddSingleton(new IoTPilots.Cloud.Notifications.NotificationLinks(new Uri("http://127.0.0.1/"), "link-secret-for-tests"u8.ToArray(), TimeSpan.FromHours(24), time));
        }

        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseAccess();
        app.MapAccess();
        app.MapAlertApi();
        app.MapAlertConsole();
        await app.StartAsync();
        return new AlertHost(dir, app);
    }

    /// <summary>Makes an API key in this host's users file.</summary>
    public string CreateKey(Role role, string sites = "*", string? name = null) =>
        Users.AddKey(name ?? $"{RoleText.Of(role)}-{Guid.NewGuid():N}"[..20], role, SiteScope.Parse(sites, "sites"));

    /// <summary>Makes a user in this host's users file; returns their name and password, for <see cref="BrowserLogin.LogInAsync"/>.</summary>
    public (string Name, string Password) CreateUser(Role role, string sites = "*", string? name = null)
    {
        name ??= $"{RoleText.Of(role)}{Users.Users().Count + 1}";
        var password = AccountInput.GeneratePassword();
        Users.AddUser(name, role, SiteScope.Parse(sites, "sites"), password);
        return (name, password);
    }

    /// <summary>An HTTP client for this host that sends a fresh API key of <paramref name="role"/> and <paramref name="sites"/>.</summary>
    public HttpClient Client(Role role = Role.Admin, string sites = "*", string? keyName = null) => KeyClient(Address, CreateKey(role, sites, keyName));

    /// <summary>An HTTP client for <paramref name="address"/> that sends <paramref name="key"/> as <c>Authorization: Bearer</c>.</summary>
    public static HttpClient KeyClient(Uri address, string key)
    {
        var http = new HttpClient { BaseAddress = address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    /// <summary>
    /// Logs in through the login form as a browser would (antiforgery token, session cookie), without a browser; returns a
    /// client holding the session and the antiforgery token the console page carries (send it as <c>X-CSRF-Token</c>).
    /// </summary>
    public Task<(HttpClient Http, string Csrf)> SessionClientAsync(string name, string password) => SessionClientAsync(Address, name, password);

    /// <summary>As <see cref="SessionClientAsync(string, string)"/>, on any cloud at <paramref name="address"/> (a cloud process too).</summary>
    public static async Task<(HttpClient Http, string Csrf)> SessionClientAsync(Uri address, string name, string password)
    {
        var http = new HttpClient(new HttpClientHandler { CookieContainer = new System.Net.CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = address };
        var form = await http.GetStringAsync(new Uri("/login", UriKind.Relative));
        using var login = await http.PostAsync(new Uri("/login", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = name,
            ["password"] = password,
            ["ReturnUrl"] = "/",
            [AccessSetup.AntiforgeryField] = HiddenValue(form, AccessSetup.AntiforgeryField),
        }));
        if (login.StatusCode != System.Net.HttpStatusCode.Redirect)
        {
            throw new InvalidOperationException($"logging in as {name} answered {(int)login.StatusCode}, not a redirect");
        }

        var console = await http.GetStringAsync(new Uri("/", UriKind.Relative));
        var csrf = System.Text.RegularExpressions.Regex.Match(console, "<meta name=\"csrf-token\" content=\"([^\"]+)\">").Groups[1].Value;
        return (http, System.Net.WebUtility.HtmlDecode(csrf));
    }

    /// <summary>The value of the hidden input <paramref name="name"/> in a page.</summary>
    public static string HiddenValue(string html, string name) => System.Net.WebUtility.HtmlDecode(
        System.Text.RegularExpressions.Regex.Match(html, $"<input type=\"hidden\" name=\"{name}\" value=\"([^\"]*)\">").Groups[1].Value);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Users.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
