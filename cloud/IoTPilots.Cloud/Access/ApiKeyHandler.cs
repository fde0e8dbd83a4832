using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace IoTPilots.Cloud.Access;

/// <summary>Authenticates a request by the API key it carries (<see cref="ApiKeys.FromHeaders"/>); refusals are problem+json.</summary>
internal sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, UserStore users)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ApiKeys.FromHeaders(Request.Headers.Authorization, Request.Headers[ApiKeys.Header], out var present);
        if (!present)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (key is null || users.FindKey(key) is not { } found)
        {
            return Task.FromResult(AuthenticateResult.Fail("API key unknown or revoked"));
        }

        var identity = new ClaimsIdentity(AccessClaims.For($"key:{found.Name}", found.Role, found.Sites), Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        Problems.UnauthorizedAsync(Context, "the API key is unknown or revoked");

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => Problems.ForbiddenAsync(Context);
}

/// <summary>What a session or a key says about its holder: name, role and sites.</summary>
public static class AccessClaims
{
    public const string StampType = "pilots:stamp";

    public static List<Claim> For(string name, Role role, SiteScope sites) =>
    [
        new(ClaimTypes.Name, name),
        new(ClaimTypes.Role, RoleText.Of(role)),
        new(SiteScope.ClaimType, sites.ToString()),
    ];

    /// <summary>The caller's role; null when not authenticated.</summary>
    public static Role? RoleOf(ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true && RoleText.TryParse(user.FindFirst(ClaimTypes.Role)?.Value, out var role) ? role : null;

    /// <summary>Whether the caller may do what needs <paramref name="need"/>; admin work also needs every site (an admin scoped to one farm could otherwise grant the others).</summary>
    public static bool Allows(ClaimsPrincipal user, Role need) =>
        RoleOf(user) is { } have && RoleText.Allows(have, need) && (need != Role.Admin || SiteScope.Of(user).IsAll);
}

/// <summary>The real <see cref="ISiteAccess"/>: the sites in the caller's session or key.</summary>
public sealed class ClaimsSiteAccess : ISiteAccess
{
    public bool CanSee(HttpContext context, string site) => SiteScope.Of(context.User).Allows(site);
}
