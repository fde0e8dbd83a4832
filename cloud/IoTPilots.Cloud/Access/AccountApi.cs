using System.Text.Json;

namespace IoTPilots.Cloud.Access;

/// <summary>
/// <c>GET /api/me</c> (who is calling, for the console's header), and for admins the users and keys:
/// <c>GET|POST /api/users</c>, <c>POST /api/users/{name}/disable|enable|reset</c>, <c>GET|POST /api/keys</c>,
/// <c>POST /api/keys/{name}/revoke</c>. The same checks as <c>./run users</c>, so errors name the field.
/// </summary>
public static class AccountApi
{
    internal static IEndpointRouteBuilder MapAccountApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/me", (HttpContext context) => Results.Json(new
        {
            name = context.User.Identity!.Name,
            role = AccessClaims.RoleOf(context.User) is { } role ? RoleText.Of(role) : null,
            sites = SiteScope.Of(context.User).ToString(),
            kind = context.User.Identity.AuthenticationType == AccessSetup.KeyScheme ? "key" : "session",
        }));

        var users = app.MapGroup("/api/users").RequireAuthorization(Policies.Admin);
        users.MapGet("", (UserStore store) => Results.Json(store.Users().Select(UserJson)));
        users.MapPost("", async (HttpRequest request, UserStore store) =>
        {
            var body = await ReadAsync(request);
            var name = AccountInput.Name(Text(body, "name"), "name");
            var role = RoleText.Parse(Text(body, "role"), "role");
            var sites = SiteScope.Parse(Text(body, "sites"), "sites");
            var given = Text(body, "password");
            var password = given is null ? AccountInput.GeneratePassword() : AccountInput.Password(given, name, "password");
            var user = store.AddUser(name, role, sites, password);
            return Results.Json(new { user = UserJson(user), password = given is null ? password : null }, statusCode: StatusCodes.Status201Created);
        });
        users.MapPost("/{name}/disable", (string name, UserStore store) => Results.Json(UserJson(store.Disable(name))));
        users.MapPost("/{name}/enable", (string name, UserStore store) => Results.Json(UserJson(store.Enable(name))));
        users.MapPost("/{name}/reset", async (string name, HttpRequest request, UserStore store) =>
        {
            var given = Text(await ReadAsync(request), "password");
            var password = given is null ? AccountInput.GeneratePassword() : AccountInput.Password(given, name, "password");
            var user = store.ResetPassword(name, password);
            return Results.Json(new { user = UserJson(user), password = given is null ? password : null });
        });

        var keys = app.MapGroup("/api/keys").RequireAuthorization(Policies.Admin);
        keys.MapGet("", (UserStore store) => Results.Json(store.Keys().Select(KeyJson)));
        keys.MapPost("", async (HttpRequest request, UserStore store) =>
        {
            var body = await ReadAsync(request);
            var name = AccountInput.Name(Text(body, "name"), "name");
            var key = store.AddKey(name, RoleText.Parse(Text(body, "role"), "role"), SiteScope.Parse(Text(body, "sites"), "sites"));
            return Results.Json(new { key = KeyJson(store.Keys().Single(k => k.Name.Equals(name, StringComparison.OrdinalIgnoreCase))), secret = key }, statusCode: StatusCodes.Status201Created);
        });
        keys.MapPost("/{name}/revoke", (string name, UserStore store) =>
        {
            store.RevokeKey(name);
            return Results.Json(KeyJson(store.Keys().Single(k => k.Name.Equals(name, StringComparison.OrdinalIgnoreCase))));
        });

        // The store's and the checks' refusals, as the alert API answers: 400 naming the field, 404, 409.
        users.AddEndpointFilter(Refusals);
        keys.AddEndpointFilter(Refusals);
        return app;
    }

    private static async ValueTask<object?> Refusals(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (FormatException ex)
        {
            return Results.Json(new { error = ex.Message }, statusCode: StatusCodes.Status400BadRequest);
        }
        catch (KeyNotFoundException ex)
        {
            return Results.Json(new { error = ex.Message }, statusCode: StatusCodes.Status404NotFound);
        }
        catch (InvalidOperationException ex)
        {
            return Results.Json(new { error = ex.Message }, statusCode: StatusCodes.Status409Conflict);
        }
    }

    private static object UserJson(User u) => new { name = u.Name, role = RoleText.Of(u.Role), sites = u.Sites.ToString(), disabled = u.Disabled, createdAt = u.CreatedAt.UtcDateTime };

    private static object KeyJson(ApiKey k) => new { name = k.Name, role = RoleText.Of(k.Role), sites = k.Sites.ToString(), hint = k.Hint, createdAt = k.CreatedAt.UtcDateTime, revokedAt = k.RevokedAt?.UtcDateTime };

    /// <summary>A small JSON object; an empty body is an empty object.</summary>
    /// <exception cref="FormatException">Not a JSON object, or larger than 4 KiB.</exception>
    private static async Task<JsonElement> ReadAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        if (buffer.Length > 4096)
        {
            throw new FormatException("body: larger than 4096 bytes");
        }

        if (buffer.Length == 0)
        {
            return JsonDocument.Parse("{}").RootElement.Clone();
        }

        try
        {
            using var document = JsonDocument.Parse(buffer.ToArray());
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.Clone()
                : throw new FormatException("body: expected a JSON object");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"body: not valid JSON ({ex.Message})", ex);
        }
    }

    /// <exception cref="FormatException">Present but not a string.</exception>
    private static string? Text(JsonElement body, string field) =>
        !body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new FormatException($"{field}: must be a string");
}
