namespace IoTPilots.Cloud.Alerts;

/// <summary>
/// The alert console: one self-contained page (HTML, CSS and script in <c>Alerts/console.html</c>, embedded in the
/// assembly) at <c>GET /</c> and <c>GET /alerts</c>. It uses only the JSON API of <see cref="AlertApi"/>, and loads
/// nothing from elsewhere, because the sites' links are poor and the page must work offline.
/// </summary>
public static class AlertConsole
{
    private const string ResourceName = "IoTPilots.Cloud.Alerts.console.html";

    // Read once: the page is part of the build, it never changes while the service runs.
    private static readonly Lazy<byte[]> Page = new(ReadPage);

    public static IEndpointRouteBuilder MapAlertConsole(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", Serve);
        app.MapGet("/alerts", Serve);
        return app;
    }

    private static IResult Serve(HttpResponse response)
    {
        // Always the page of this build: after an upgrade a cached old page could call an API that changed.
        response.Headers.CacheControl = "no-cache";
        return Results.Bytes(Page.Value, "text/html; charset=utf-8");
    }

    private static byte[] ReadPage()
    {
        using var stream = typeof(AlertConsole).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the alert console page ({ResourceName}) is not embedded in {typeof(AlertConsole).Assembly.GetName().Name}");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }
}
