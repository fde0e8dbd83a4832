using System.Net;
using IoTPilots.Cloud.Access;
using Microsoft.AspNetCore.Antiforgery;

namespace IoTPilots.Cloud.Alerts;

/// <summary>
/// The alert console: one self-contained page (HTML, CSS and script in <c>Alerts/console.html</c>, embedded in the
/// assembly) at <c>GET /</c> and <c>GET /alerts</c>, and the users page for admins (<c>Access/admin.html</c>) at
/// <c>GET /admin</c>. They use only the JSON API, and load nothing from elsewhere, because the sites' links are poor
/// and the pages must work offline. Each response gets its own CSP nonce on the inline script and style, and the
/// antiforgery token the page's POSTs must send.
/// </summary>
public static class AlertConsole
{
    private static readonly Lazy<string> Console = new(() => ReadPage("IoTPilots.Cloud.Alerts.console.html"));
    private static readonly Lazy<string> Admin = new(() => ReadPage("IoTPilots.Cloud.Access.admin.html"));

    public static IEndpointRouteBuilder MapAlertConsole(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext context) => Serve(context, Console.Value));
        app.MapGet("/alerts", (HttpContext context) => Serve(context, Console.Value));
        app.MapGet("/admin", (HttpContext context) => Serve(context, Admin.Value)).RequireAuthorization(Policies.Admin);
        return app;
    }

    private static IResult Serve(HttpContext context, string page)
    {
        // Always the page of this build (after an upgrade a cached old page could call an API that changed), and
        // never a cached copy holding another response's token and nonce.
        context.Response.Headers.CacheControl = "no-store";
        var token = context.RequestServices.GetService<IAntiforgery>()?.GetAndStoreTokens(context).RequestToken ?? "";
        var html = context.WithNonce(page.Replace("{{csrf}}", WebUtility.HtmlEncode(token), StringComparison.Ordinal));
        return Results.Content(html, "text/html; charset=utf-8", System.Text.Encoding.UTF8);
    }

    private static string ReadPage(string resource)
    {
        using var stream = typeof(AlertConsole).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the page {resource} is not embedded in {typeof(AlertConsole).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
