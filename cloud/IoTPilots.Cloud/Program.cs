using IoTPilots.Cloud;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Commands;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Cloud.Live;

if (args is ["query", var influxQl])
{
    return await QueryCommand.RunAsync(influxQl, Console.Out);
}

if (args is ["bench"])
{
    return IoTPilots.Cloud.Bench.RulesBench.Run(Console.Out);
}

if (args is ["receive", .. var receiveArgs])
{
    return await IoTPilots.Cloud.Notifications.DemoReceiver.RunAsync(receiveArgs, Console.Out, Console.Error, CancellationToken.None);
}

if (args is ["provision", .. var provisionArgs])
{
    return IoTPilots.Cloud.Provisioning.ProvisionCommand.Run(provisionArgs, Console.Out, Console.Error, TimeProvider.System);
}

if (args is ["users", .. var usersArgs])
{
    return UsersCommand.Run(usersArgs, Console.In, Console.Out, Console.Error, Environment.GetEnvironmentVariable, TimeProvider.System);
}

if (args is ["gateways", .. var gatewaysArgs])
{
    return await GatewaysCommand.RunAsync(gatewaysArgs, Environment.GetEnvironmentVariable, Console.Out, Console.Error);
}

if (args is ["report", .. var reportArgs])
{
    return await IoTPilots.Cloud.Report.ReportCommand.RunAsync(reportArgs, Console.Out, Console.Error, TimeProvider.System);
}

// Settings (appsettings.json) live next to the binaries, wherever the service is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// Every option and variable is read and checked here, once: a wrong one stops the start with exit 2 (which
// systemd does not restart on) and a message naming it, before anything connects anywhere.
CloudSettings settings;
try
{
    settings = CloudSettings.Read(name => builder.Configuration[name], Environment.GetEnvironmentVariable);
    builder.Services.AddIngestion(settings.Ingestion, settings.Registry);
    builder.Services.AddAlerts(settings.Rules);
    builder.Services.AddAccess(AccessOptions.FromEnvironment(Environment.GetEnvironmentVariable, settings.Rules.DatabasePath));
    builder.Services.AddLiveView(settings.Rules);
    builder.Services.AddCommands(CommandsOptions.FromEnvironment(Environment.GetEnvironmentVariable, settings.Rules.DatabasePath, settings.Registry, Console.Error), settings.Registry);
}
catch (Exception ex) when (ex is FormatException or IoTPilots.Config.ConfigException)
{
    Console.Error.WriteLine($"cloud: {ex.Message}");
    return 2;
}

if (settings.Summary is { } summary)
{
    builder.Services.AddHostedService(sp => new SummaryPrinter(sp.GetRequiredService<IngestionStats>(), summary, TimeProvider.System));
}

// Gateway status and ingestion counters for the fleet-health dashboard (dashboards/json/fleet.json).
builder.Services.AddFleetHealth(settings.Ingestion.Worker);
builder.Services.AddHealthChecks().AddCheck<IngestionHealthCheck>("ingestion");

var app = builder.Build();
try
{
    // Open the alert store now: a broken file stops the start with its name, not the first alert.
    app.Services.GetRequiredService<AlertStore>();
}
catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"cloud: PILOTS_ALERT_DB: {ex.Message}");
    return 2;
}

try
{
    var users = app.Services.GetRequiredService<UserStore>();
    if (users.Users().Count == 0 && users.Keys().Count == 0)
    {
        app.Logger.LogWarning("No users or API keys in {UsersDb}: nobody can log in; add one with ./run users add NAME --role admin --sites '*'", users.FilePath);
    }
}
catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"cloud: PILOTS_USERS_DB: {ex.Message}");
    return 2;
}

try
{
    await app.Services.GetRequiredService<InfluxWriter>().EnsureDatabaseAsync(CancellationToken.None);
}
catch (Exception ex) when (ex is InfluxUnavailableException or HttpRequestException)
{
    // Not fatal: ingestion holds and retries until InfluxDB is back.
    app.Logger.LogWarning("Could not create database {Database} yet: {Error}", settings.Ingestion.Influx.Database, ex.Message);
}

// Retention policies and rollups (root README, "Storage schema"): retried in the background while InfluxDB is away.
_ = Retention.KeepTryingAsync(app.Services.GetRequiredService<InfluxWriter>(), settings.Retention, app.Logger, TimeProvider.System, app.Lifetime.ApplicationStopping);

if (settings.Registry.IsOpen)
{
    app.Logger.LogWarning("No device registry (PILOTS_DEVICE_REGISTRY or --registry): telemetry from any well-formed device is accepted");
}

// Before every endpoint: security headers, the login rate limit, authentication, the fallback policy (every endpoint
// needs a login or a key unless it allows anonymous callers) and antiforgery on state-changing requests.
app.UseAccess();

// Ready (200) once the ingestion is subscribed at the broker, 503 before and while the broker is away; /alive
// only says the process answers (for a liveness probe, which must not restart the cloud over a broker outage).
app.MapHealthChecks("/healthz").AllowAnonymous();
app.MapHealthChecks("/alive", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
app.MapAccess();
app.MapAlertApi();
app.MapAlertConsole();
app.MapLiveView();
app.MapCommands();
app.MapGet("/api/ingestion/stats", (IngestionStats s) => Results.Ok(new
{
    messages = s.Messages,
    readings = s.Readings,
    linesWritten = s.LinesWritten,
    messagesStored = s.MessagesStored,
    rejected = s.Rejected,
    writeErrors = s.WriteErrors,
    pendingLines = s.PendingLines,
})).RequireAuthorization(Policies.AllSites);
try
{
    await app.StartAsync();
}
catch (FormatException ex)
{
    // Kestrel reads --urls (or ASPNETCORE_URLS) only when it starts listening.
    Console.Error.WriteLine($"cloud: --urls: {ex.Message}");
    return 2;
}
catch (IOException ex)
{
    // The address is taken: may pass (a previous instance still stopping), so not exit 2.
    Console.Error.WriteLine($"cloud: cannot listen: {ex.Message}");
    return 1;
}

await app.WaitForShutdownAsync();
await app.DisposeAsync();
return 0;
