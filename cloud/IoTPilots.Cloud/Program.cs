using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;

if (args is ["query", var influxQl])
{
    return await QueryCommand.RunAsync(influxQl, Console.Out);
}

if (args is ["bench"])
{
    return IoTPilots.Cloud.Bench.RulesBench.Run(Console.Out);
}

if (args is ["report", .. var reportArgs])
{
    return await IoTPilots.Cloud.Report.ReportCommand.RunAsync(reportArgs, Console.Out, Console.Error, TimeProvider.System);
}

// Settings (appsettings.json) live next to the binaries, wherever the service is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
IngestionOptions options;
DeviceRegistry registry;
try
{
    options = IngestionOptions.FromEnvironment(Environment.GetEnvironmentVariable);
    var registryPath = builder.Configuration["registry"] ?? Environment.GetEnvironmentVariable("PILOTS_DEVICE_REGISTRY");
    registry = string.IsNullOrEmpty(registryPath) ? DeviceRegistry.Open : DeviceRegistry.Load(registryPath);
    // --rules on the command line, else PILOTS_RULES.
    var rules = RulesOptions.FromEnvironment(name => (name == "PILOTS_RULES" ? builder.Configuration["rules"] : null) ?? Environment.GetEnvironmentVariable(name), options.Worker);
    builder.Services.AddIngestion(options, registry);
    builder.Services.AddAlerts(rules);
}
catch (Exception ex) when (ex is FormatException or IoTPilots.Config.ConfigException)
{
    Console.Error.WriteLine($"cloud: {ex.Message}");
    return 2;
}

if (builder.Configuration["summary"] is { } summary && double.TryParse(summary, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
{
    builder.Services.AddHostedService(sp => new SummaryPrinter(sp.GetRequiredService<IngestionStats>(), TimeSpan.FromSeconds(seconds), TimeProvider.System));
}

var app = builder.Build();
try
{
    // Open the alert store now: a broken file stops the start with its name, not the first alert.
    app.Services.GetRequiredService<AlertStore>();
}
catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"cloud: {ex.Message}");
    return 2;
}

try
{
    await app.Services.GetRequiredService<InfluxWriter>().EnsureDatabaseAsync(CancellationToken.None);
}
catch (Exception ex) when (ex is InfluxUnavailableException or HttpRequestException)
{
    // Not fatal: ingestion holds and retries until InfluxDB is back.
    app.Logger.LogWarning("Could not create database {Database} yet: {Error}", options.Influx.Database, ex.Message);
}

if (registry.IsOpen)
{
    app.Logger.LogWarning("No device registry (PILOTS_DEVICE_REGISTRY or --registry): telemetry from any well-formed device is accepted");
}

app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
app.MapAlertApi();
app.MapAlertConsole();
app.MapGet("/api/ingestion/stats", (IngestionStats s) => Results.Ok(new
{
    messages = s.Messages,
    readings = s.Readings,
    linesWritten = s.LinesWritten,
    messagesStored = s.MessagesStored,
    rejected = s.Rejected,
    writeErrors = s.WriteErrors,
    pendingLines = s.PendingLines,
}));
await app.RunAsync();
return 0;
