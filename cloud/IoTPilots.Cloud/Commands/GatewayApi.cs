using System.Globalization;
using System.Text;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using Microsoft.AspNetCore.Mvc;

namespace IoTPilots.Cloud.Commands;

/// <summary>
/// <c>GET /api/gateways</c> (any signed-in role): each gateway of the caller's sites with its status and running
/// inventory (version, hash, probation state) and its last push. <c>POST /api/gateways/{gateway}/inventory</c>
/// (admin; admins see every site): the body is the inventory's YAML text; it is validated, signed, versioned and pushed, answering 202 with
/// the push's record; <c>?hours=N</c> (1-168, default 24) is how long it may still apply. Admin, not operator: an
/// inventory says which points are writable and within which limits, so pushing one widens what commands may do.
/// <c>GET /api/gateways/{gateway}/pushes</c>: the pushes this process sent and the answers. Another site's gateway is
/// a 404, as if it did not exist; bad input is a 400 naming the field, or the line and field of the inventory.
/// </summary>
public static class GatewayApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var gateways = app.MapGroup("/api/gateways");
        gateways.MapGet("", List);
        gateways.MapGet("/{gateway}/pushes", Pushes);
        if (app.ServiceProvider.GetService<InventoryPlanner>() is not null)
        {
            gateways.MapPost("/{gateway}/inventory", PushAsync).RequireAuthorization(Policies.Admin);
        }

        return app;
    }

    private static IResult List(HttpContext context, [FromServices] GatewayDirectory directory, [FromServices] DeviceRegistry registry, [FromServices] ISiteAccess access) =>
        Results.Json(directory.List(registry.Inventories.Select(i => (i.Site, i.Gateway))).Where(g => access.CanSee(context, g.Site)), Json);

    private static IResult Pushes(string gateway, HttpContext context, [FromServices] GatewayDirectory directory, [FromServices] DeviceRegistry registry, [FromServices] ISiteAccess access) =>
        SiteOf(gateway, directory, registry) is { } site && access.CanSee(context, site)
            ? Results.Json(directory.Pushes(gateway), Json)
            : NotFound(gateway);

    private static async Task<IResult> PushAsync(
        string gateway,
        HttpRequest request,
        [FromServices] InventoryPlanner planner,
        [FromServices] CommandService service,
        [FromServices] GatewayDirectory directory,
        [FromServices] DeviceRegistry registry,
        [FromServices] ISiteAccess access,
        CancellationToken cancellation)
    {
        if (SiteOf(gateway, directory, registry) is not { } site || !access.CanSee(request.HttpContext, site))
        {
            return NotFound(gateway);
        }

        var hours = 24;
        if (request.Query["hours"] is { Count: > 0 } h && !int.TryParse(h[0], NumberStyles.None, CultureInfo.InvariantCulture, out hours))
        {
            return Error(StatusCodes.Status400BadRequest, "hours: a whole number from 1 to 168");
        }

        if (await HttpBody.ReadAsync(request, InventoryPush.MaxContentBytes, cancellation) is not { } body)
        {
            return Error(StatusCodes.Status413PayloadTooLarge, $"body: larger than {InventoryPush.MaxContentBytes / 1024} KiB");
        }

        string content;
        try
        {
            content = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return Error(StatusCodes.Status400BadRequest, "body: the inventory must be UTF-8 text");
        }

        var by = request.HttpContext.User.Identity?.Name ?? throw new InvalidOperationException("a push without an authenticated caller");
        var (push, problem, notFound) = planner.Plan(gateway, content, by, TimeSpan.FromHours(hours));
        if (push is null)
        {
            return Error(notFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest, problem!);
        }

        var state = await service.SendAsync(Topics.Config(push.Site, push.Gateway), InventoryCodec.Encode(push), cancellation);
        var record = new PushRecord(push.Id, push.Site, push.Gateway, push.Version, push.Sha256, push.IssuedBy, push.IssuedAt, push.ExpiresAt, state);
        directory.Pushed(record);
        return state == CommandStates.NotSent
            ? Results.Json(new { error = "the broker did not take the push; nothing was sent", push = record }, Json, statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Json(record, Json, statusCode: StatusCodes.Status202Accepted);
    }

    private static string? SiteOf(string gateway, GatewayDirectory directory, DeviceRegistry registry) =>
        registry.Inventories.FirstOrDefault(i => i.Gateway == gateway)?.Site
        ?? directory.List([]).FirstOrDefault(g => g.Gateway == gateway)?.Site;

    private static IResult NotFound(string gateway) => Error(StatusCodes.Status404NotFound, $"gateway: {gateway} does not exist");

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, Json, statusCode: status);
}
