using System.Globalization;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Ingestion;
using Microsoft.AspNetCore.Mvc;

namespace IoTPilots.Cloud.Commands;

/// <summary>
/// <c>POST /api/commands</c> (operator): <c>{"gateway","device","point","value","minutes"}</c> signs and sends a command,
/// answering 202 with its record; <c>GET /api/commands</c> and <c>GET /api/commands/{id}</c> read the record with the
/// gateways' answers. Callers see and command only their sites: another site's gateway is a 404, as if it did not
/// exist. Bad input is a 400 naming the field.
/// </summary>
public static class CommandApi
{
    private const int MaxBodyBytes = 4 * 1024;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapCommandApi(this IEndpointRouteBuilder app)
    {
        var commands = app.MapGroup("/api/commands");
        commands.MapGet("", List);
        commands.MapGet("/{id}", Get);
        commands.MapPost("", IssueAsync).RequireAuthorization(Policies.Operator);
        return app;
    }

    private static IResult List(HttpRequest request, [FromServices] CommandStore store, [FromServices] ISiteAccess access)
    {
        var limit = 100;
        if (request.Query["limit"] is { Count: > 0 } l && (!int.TryParse(l[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            return Error(StatusCodes.Status400BadRequest, "limit: a whole number from 1 to 1000");
        }

        var scope = SiteScope.Of(request.HttpContext.User);
        var records = store.List(limit, scope.IsAll ? null : scope.Sites);
        return Results.Json(records.Where(r => access.CanSee(request.HttpContext, r.Site)), Json);
    }

    private static IResult Get(string id, HttpContext context, [FromServices] CommandStore store, [FromServices] ISiteAccess access) =>
        store.Get(id) is { } record && access.CanSee(context, record.Site)
            ? Results.Json(record, Json)
            : Error(StatusCodes.Status404NotFound, $"command {id} does not exist");

    private static async Task<IResult> IssueAsync(
        HttpRequest request,
        [FromServices] CommandPlanner planner,
        [FromServices] CommandService service,
        [FromServices] CommandStore store,
        [FromServices] DeviceRegistry registry,
        [FromServices] ISiteAccess access,
        CancellationToken cancellation)
    {
        if (await HttpBody.ReadAsync(request, MaxBodyBytes, cancellation) is not { } body)
        {
            return Error(StatusCodes.Status413PayloadTooLarge, $"body: larger than {MaxBodyBytes} bytes");
        }

        if (Parse(body, out var parsed) is { } error)
        {
            return Error(StatusCodes.Status400BadRequest, error);
        }

        // Another site's gateway answers as one that does not exist, before anything says whether it does.
        var site = registry.Inventories.FirstOrDefault(i => i.Gateway == parsed.Gateway)?.Devices.FirstOrDefault(d => d.Id == parsed.Device)?.Site;
        if (site is not null && !access.CanSee(request.HttpContext, site))
        {
            return Error(StatusCodes.Status404NotFound, $"device: {parsed.Device} is not in {parsed.Gateway}'s inventory");
        }

        var by = request.HttpContext.User.Identity?.Name ?? throw new InvalidOperationException("a command without an authenticated caller");
        var (command, problem, notFound) = planner.Plan(parsed, by);
        if (command is null)
        {
            return Error(notFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest, problem!);
        }

        var state = await service.IssueAsync(command, cancellation);
        return state == CommandStates.NotSent
            ? Results.Json(new { error = "the broker did not take the command; nothing was sent", command = store.Get(command.Id) }, Json, statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Json(store.Get(command.Id), Json, statusCode: StatusCodes.Status202Accepted);
    }

    /// <returns>null when the body is a valid request, else an error naming the field.</returns>
    internal static string? Parse(byte[] body, out CommandRequest request)
    {
        const string Example = """expected a JSON object such as {"gateway":"gw-aqua-01","device":"tank-03","point":"backup_aerator_on","value":1,"minutes":2}""";
        request = new CommandRequest("", "", "", 0, TimeSpan.Zero);
        try
        {
            using var doc = JsonDocument.Parse(body);
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object)
            {
                return $"body: {Example}";
            }

            string? Text(string name) => r.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String && p.GetString() is { Length: > 0 } s ? s : null;
            if (Text("gateway") is not { } gateway || Text("device") is not { } device || Text("point") is not { } point)
            {
                return $"gateway, device, point: each a non-empty text; {Example}";
            }

            if (!r.TryGetProperty("value", out var v) || v.ValueKind != JsonValueKind.Number)
            {
                return $"value: a number is required; {Example}";
            }

            var minutes = 2.0;
            if (r.TryGetProperty("minutes", out var m) && (m.ValueKind != JsonValueKind.Number || !double.IsFinite(minutes = m.GetDouble())))
            {
                return "minutes: a number from 1 to 10";
            }

            request = new CommandRequest(gateway, device, point, v.GetDouble(), TimeSpan.FromMinutes(minutes));
            return null;
        }
        catch (JsonException ex)
        {
            return $"body: not JSON ({ex.Message}); {Example}";
        }
    }

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, Json, statusCode: status);
}
