using System.Text.Json;

namespace IoTPilots.Cloud.Access;

/// <summary>Refusals as <c>application/problem+json</c> (RFC 9457), with the <c>error</c> member the alert API's other errors carry.</summary>
public static class Problems
{
    public static Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { type = "about:blank", title, status, detail, error = detail }));
    }

    public static Task UnauthorizedAsync(HttpContext context, string detail)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return WriteAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }

    public static Task ForbiddenAsync(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", $"'{context.User.Identity?.Name}' ({context.User.FindFirst(System.Security.Claims.ClaimTypes.Role)?.Value}, sites {SiteScope.Of(context.User)}) may not do this");
}
