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
/// store in a throwaway folder. Needs no MQTT or InfluxDB.
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
    }

    public Uri Address { get; }

    public AlertStore Store { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="notifications">Also the notifier (planner, outbox, signed links) over <paramref name="notifications"/>'s contacts and routes, as the rules worker has it.</param>
    public static async Task<AlertHost> StartAsync(TimeProvider time, ErrorLog log, IoTPilots.Cloud.Notifications.NotificationConfig? notifications = null)
    {
        var dir = Directory.CreateTempSubdirectory("pilots-alerts-").FullName;
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddProvider(log);
        builder.Services.AddSingleton(_ => AlertStore.Open(Path.Combine(dir, "alerts.db"), time));
        builder.Services.AddSingleton(time);
        if (notifications is not null)
        {
            builder.Services.AddSingleton(new IoTPilots.Cloud.Notifications.NotificationPlanner(notifications, time));
            builder.Services.AddSingleton<IoTPilots.Cloud.Notifications.OutboxSignal>();
            builder.Services.AddSingleton<IoTPilots.Cloud.Notifications.AlertNotifier>();
            builder.Services.AddSingleton(new IoTPilots.Cloud.Notifications.NotificationLinks(new Uri("http://127.0.0.1/"), "link-secret-for-tests"u8.ToArray(), TimeSpan.FromHours(24), time));
        }

        var app = builder.Build();
        app.MapAlertApi();
        app.MapAlertConsole();
        await app.StartAsync();
        return new AlertHost(dir, app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
