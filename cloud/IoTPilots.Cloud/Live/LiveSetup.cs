using System.Text;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;
using IoTPilots.Rules;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IoTPilots.Cloud.Live;

/// <summary>Until logins exist (issue 11), every caller sees every site; the real <see cref="ISiteAccess"/> replaces this.</summary>
public sealed class AllSitesVisible : ISiteAccess
{
    public bool CanSee(HttpContext context, string site) => true;
}

/// <summary>
/// The live plant view at <c>/live</c>: a page (HTML, script and style embedded in the assembly, served from this
/// host only, so it works offline and under <c>script-src 'self'</c>), its event stream <c>/live/events</c>
/// (server-sent events: a snapshot, then each changed tile and gateway, and a heartbeat), the sparklines' seed
/// <c>/live/api/trends</c> and a device's history <c>/live/api/history</c>. Everything is filtered through
/// <see cref="ISiteAccess"/>.
/// </summary>
public static class LiveSetup
{
    /// <summary>A viewer's stream gets a heartbeat at least this often, so the page can tell a dead connection from a quiet plant.</summary>
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    /// <summary>A viewer that has not taken a write for this long is dropped (its page reconnects), never buffered for.</summary>
    public static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(20);

    private static readonly Dictionary<string, (string Resource, string ContentType)> Assets = new(StringComparer.Ordinal)
    {
        ["/live"] = ("live.html", "text/html; charset=utf-8"),
        ["/live/live.js"] = ("live.js", "text/javascript; charset=utf-8"),
        ["/live/live.css"] = ("live.css", "text/css; charset=utf-8"),
    };

    private static readonly Dictionary<string, Lazy<byte[]>> Embedded = Assets.Values.ToDictionary(
        a => a.Resource,
        a => new Lazy<byte[]>(() => Read(a.Resource)),
        StringComparer.Ordinal);

    /// <summary>The live view's state and its stream subscription, judging colours by the rules <paramref name="rules"/> names (the ones the rules engine loads).</summary>
    public static IServiceCollection AddLiveView(this IServiceCollection services, RulesOptions rules)
    {
        var zones = new Zones(RuleSet.Load(rules.RulesPath));
        services.TryAddSingleton<ISiteAccess, AllSitesVisible>();
        services.AddSingleton(zones);
        services.AddSingleton<PlantState>();
        services.AddSingleton<LiveHub>();
        services.AddSingleton<ITelemetryQuery, InfluxTelemetryQuery>();
        services.AddSingleton<HistoryReader>();
        services.AddSingleton<LiveService>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveService>());
        return services;
    }

    public static IEndpointRouteBuilder MapLiveView(this IEndpointRouteBuilder app)
    {
        foreach (var (path, (resource, type)) in Assets)
        {
            app.MapGet(path, (HttpResponse response) =>
            {
                // Always this build's page: a cached old script could expect another stream.
                response.Headers.CacheControl = "no-cache";
                return Results.Bytes(Embedded[resource].Value, type);
            });
        }

        app.MapGet("/live/events", EventsAsync);
        app.MapGet("/live/api/trends", TrendsAsync);
        app.MapGet("/live/api/history", HistoryAsync);
        return app;
    }

    private static async Task EventsAsync(HttpContext context, LiveHub hub, PlantState state, LiveService service, ISiteAccess access, TimeProvider time)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        // A reverse proxy must pass events on as they come, not buffer them (nginx honours this header).
        response.Headers["X-Accel-Buffering"] = "no";
        var stop = context.RequestAborted;
        bool CanSee(string site) => access.CanSee(context, site);

        // Subscribed before the snapshot is taken: an update made in between is sent after it (it is newer or the same).
        var subscriber = hub.Subscribe(CanSee);
        try
        {
            service.RefreshAlerts();
            var snapshot = state.Snapshot(time.GetUtcNow(), CanSee);
            if (!await WriteAsync(context, $"retry: 3000\n\n{Event("snapshot", JsonSerializer.Serialize(snapshot, LiveService.Json))}").ConfigureAwait(false))
            {
                return;
            }

            while (!stop.IsCancellationRequested)
            {
                string text;
                // One timer per wait, disposed with it: a quiet plant must not pile up waits on the viewer's signal.
                using var beat = new CancellationTokenSource(Heartbeat, time);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop, beat.Token);
                try
                {
                    await subscriber.WaitAsync(wait.Token).ConfigureAwait(false);
                    if (subscriber.Overflowed)
                    {
                        // Too far behind to catch up by coalescing: the page reconnects and starts from a snapshot.
                        return;
                    }

                    var sb = new StringBuilder();
                    foreach (var e in subscriber.Take())
                    {
                        sb.Append(Event(e.Kind, e.Data));
                    }

                    text = sb.ToString();
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    text = Event("heartbeat", $"{{\"now\":{time.GetUtcNow().ToUnixTimeMilliseconds()}}}");
                }

                if (!await WriteAsync(context, text).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            hub.Unsubscribe(subscriber);
        }
    }

    private static string Event(string kind, string data) => $"event: {kind}\ndata: {data}\n\n";

    /// <summary>Writes and flushes; false when the viewer is gone or too slow (<see cref="WriteTimeout"/>), after dropping it.</summary>
    private static async Task<bool> WriteAsync(HttpContext context, string text)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(WriteTimeout);
        try
        {
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), timeout.Token).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            context.Abort();
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<IResult> TrendsAsync(HttpContext context, HistoryReader history, ISiteAccess access, TimeProvider time, ILoggerFactory loggers)
    {
        try
        {
            var trends = await history.ReadTrendsAsync(site => access.CanSee(context, site), time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
            return Results.Json(trends, LiveService.Json);
        }
        catch (Exception ex) when (ex is InfluxUnavailableException or InfluxRejectedException or HttpRequestException or JsonException)
        {
            // The page draws its sparklines from the stream alone, then.
            loggers.CreateLogger(typeof(LiveSetup)).LogWarning("Live view: sparklines not seeded: {Error}", ex.Message);
            return Problem(StatusCodes.Status503ServiceUnavailable, "InfluxDB unavailable", ex.Message, null);
        }
    }

    private static async Task<IResult> HistoryAsync(HttpContext context, HistoryReader history, PlantState state, ISiteAccess access, TimeProvider time, ILoggerFactory loggers)
    {
        var query = context.Request.Query;
        if (CheckHistoryRequest(query["site"], query["gateway"], query["device"], query["field"], query["range"], out var range) is { } bad)
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad history request", bad.Detail, bad.Parameter);
        }

        string site = query["site"]!, gateway = query["gateway"]!, device = query["device"]!, field = query["field"]!;
        // Unknown and hidden are the same answer, so a caller cannot learn which devices exist on other sites.
        if (!access.CanSee(context, site) || state.Find(site, gateway, device) is not { } tile)
        {
            return Problem(StatusCodes.Status404NotFound, "No such device", $"no device {site}/{gateway}/{device} is visible to you", "device");
        }

        if (tile.Fields.FirstOrDefault(f => f.Field == field) is not { } signal)
        {
            return Problem(StatusCodes.Status400BadRequest, "Bad history request", $"field '{field}' is not a signal of {device} (it has {string.Join(", ", tile.Fields.Select(f => f.Field))})", "field");
        }

        try
        {
            var h = await history.ReadAsync(site, gateway, device, field, range!, time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
            return Results.Json(new { site, gateway, device, field, unit = signal.Unit, limits = signal.Limits, h.Range, h.Source, h.BucketSeconds, h.Points }, LiveService.Json);
        }
        catch (Exception ex) when (ex is InfluxUnavailableException or InfluxRejectedException or HttpRequestException or JsonException)
        {
            loggers.CreateLogger(typeof(LiveSetup)).LogWarning("Live view: history of {Device} not read: {Error}", device, ex.Message);
            return Problem(StatusCodes.Status503ServiceUnavailable, "InfluxDB unavailable", ex.Message, null);
        }
    }

    /// <summary>What is wrong with a history request's parameters, naming the parameter; null when each is well-formed. Pure.</summary>
    public static (string Parameter, string Detail)? CheckHistoryRequest(string? site, string? gateway, string? device, string? field, string? range, out HistoryRange? found)
    {
        found = HistoryRange.Find(range);
        if (found is null)
        {
            return ("range", $"range '{range}' is not one of {string.Join(", ", HistoryRange.All.Select(r => r.Name))}");
        }

        foreach (var (name, value) in new[] { ("site", site), ("gateway", gateway), ("device", device) })
        {
            if (!Identifiers.IsValid(value))
            {
                return (name, value is null or "" ? $"{name} is required" : $"{name} '{Cut(value)}' is not an id ({Identifiers.Rule})");
            }
        }

        return Identifiers.IsValidField(field)
            ? null
            : ("field", field is null or "" ? "field is required" : $"field '{Cut(field)}' is not a signal name ({Identifiers.FieldRule})");
    }

    private static string Cut(string text) => text.Length <= 40 ? text : text[..40] + "...";

    private static IResult Problem(int status, string title, string detail, string? parameter) =>
        Results.Problem(detail, statusCode: status, title: title, extensions: parameter is null ? null : new Dictionary<string, object?> { ["parameter"] = parameter });

    private static byte[] Read(string resource)
    {
        var name = $"IoTPilots.Cloud.Live.{resource}";
        using var stream = typeof(LiveSetup).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the live view's {name} is not embedded in {typeof(LiveSetup).Assembly.GetName().Name}");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }
}
