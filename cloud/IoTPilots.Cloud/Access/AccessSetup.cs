using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IoTPilots.Cloud.Access;

/// <summary>
/// Who may call what. People log in to a cookie session (<see cref="LoginPage"/>); machines send an API key
/// (<see cref="ApiKeyHandler"/>). A fallback policy makes every endpoint need one or the other unless it says
/// <c>AllowAnonymous</c> (health, the login page, signed acknowledgement links), so endpoints added later (the live
/// view) are protected without doing anything. Every state-changing request made with a session cookie must carry the
/// antiforgery token; one made with a key need not (a browser never adds a key to a cross-site request).
/// </summary>
public static class AccessSetup
{
    public const string CookieScheme = "cookie";
    public const string KeyScheme = "apikey";

    /// <summary>The header the console's fetch() POSTs put the antiforgery token in.</summary>
    public const string AntiforgeryHeader = "X-CSRF-Token";

    /// <summary>The form field pages' plain forms put it in (login, logout).</summary>
    public const string AntiforgeryField = "__csrf";

    // Forwards to the key scheme when the request carries a key, else to the cookie.
    private const string Scheme = "pilots";

    public static IServiceCollection AddAccess(this IServiceCollection services, AccessOptions options)
    {
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => UserStore.Open(options.UsersDbPath, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ISiteAccess, ClaimsSiteAccess>();
        services.AddDataProtection().SetApplicationName("IoTPilots.Cloud").PersistKeysToFileSystem(new DirectoryInfo(options.KeyRingPath));

        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, null, o => o.ForwardDefaultSelector = context =>
            {
                ApiKeys.FromHeaders(context.Request.Headers.Authorization, context.Request.Headers[ApiKeys.Header], out var present);
                return present ? KeyScheme : CookieScheme;
            })
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = "pilots.session";
                o.Cookie.HttpOnly = true;
                // Lax, not Strict: a link to the console from a messenger opens it logged in; POSTs need the antiforgery token anyway.
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = options.SessionLifetime;
                o.SlidingExpiration = true;
                o.LoginPath = LoginPage.Path;
                o.Events.OnRedirectToLogin = context => WantsPage(context.Request)
                    ? RedirectAsync(context)
                    : Problems.UnauthorizedAsync(context.HttpContext, "log in, or send an API key (Authorization: Bearer KEY)");
                o.Events.OnRedirectToAccessDenied = context => Problems.ForbiddenAsync(context.HttpContext);
                o.Events.OnValidatePrincipal = ValidateSessionAsync;
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(KeyScheme, null);
        // Session expiry runs on the service's clock, so tests can move it (FakeTimeProvider) instead of waiting hours.
        services.AddOptions<CookieAuthenticationOptions>(CookieScheme).Configure<TimeProvider>((o, time) => o.TimeProvider = time);

        services.AddAuthorization(o =>
        {
            o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
            o.AddPolicy(Policies.Operator, p => p.RequireAssertion(c => AccessClaims.Allows(c.User, Role.Operator)));
            o.AddPolicy(Policies.Admin, p => p.RequireAssertion(c => AccessClaims.Allows(c.User, Role.Admin)));
            o.AddPolicy(Policies.AllSites, p => p.RequireAssertion(c => SiteScope.Of(c.User).IsAll));
        });
        services.AddAntiforgery(o =>
        {
            o.HeaderName = AntiforgeryHeader;
            o.FormFieldName = AntiforgeryField;
            o.Cookie.Name = "pilots.csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
        services.AddRateLimiter(o =>
        {
            // Per name first: an attempt refused for its name does not also spend its address's budget.
            o.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                LoginLimiter(options.LoginAttemptsPerUser, options.LoginWindow, c => "user:" + (c.Request.HasFormContentType ? c.Request.Form["username"].ToString().Trim().ToLowerInvariant() : "")),
                LoginLimiter(options.LoginAttemptsPerAddress, options.LoginWindow, c => "ip:" + c.Connection.RemoteIpAddress));
            o.OnRejected = (context, _) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(options.LoginWindow.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var minutes = Math.Max(1, (int)Math.Ceiling(options.LoginWindow.TotalMinutes));
                return new ValueTask(LoginPage.Render(context.HttpContext, StatusCodes.Status429TooManyRequests,
                    ($"Quá nhiều lần đăng nhập. Hãy thử lại sau {minutes} phút.", $"Too many login attempts. Try again in {minutes} minute(s).")).ExecuteAsync(context.HttpContext));
            };
        });
        return services;
    }

    /// <summary>The middleware, in order; call before mapping endpoints.</summary>
    public static WebApplication UseAccess(this WebApplication app)
    {
        app.UseSecurityHeaders();
        // The limiter's partition by user name reads the form; read it here, asynchronously, so the partitioner can.
        app.Use(async (context, next) =>
        {
            if (IsLoginPost(context.Request) && context.Request.HasFormContentType)
            {
                await context.Request.ReadFormAsync(context.RequestAborted);
            }

            await next(context);
        });
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
        app.Use(async (context, next) =>
        {
            if (NeedsAntiforgery(context) && !await context.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(context))
            {
                await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, "Bad Request",
                    $"antiforgery token missing or wrong: send the page's token in the {AntiforgeryHeader} header (reload the page if it is old), or use an API key");
                return;
            }

            await next(context);
        });
        return app;
    }

    /// <summary>The login and logout endpoints, who-am-I, and user and key management for admins.</summary>
    public static IEndpointRouteBuilder MapAccess(this IEndpointRouteBuilder app)
    {
        app.MapLogin();
        app.MapAccountApi();
        return app;
    }

    /// <summary>Unsafe methods with a session (or none: the login form), unless the endpoint opts out (signed links) or a key authenticated the request.</summary>
    private static bool NeedsAntiforgery(HttpContext context) =>
        !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || HttpMethods.IsOptions(context.Request.Method) || HttpMethods.IsTrace(context.Request.Method))
        && context.GetEndpoint()?.Metadata.GetMetadata<IAntiforgeryMetadata>() is not { RequiresValidation: false }
        && context.User.Identity?.AuthenticationType != KeyScheme;

    private static bool IsLoginPost(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && string.Equals(request.Path.Value, LoginPage.Path, StringComparison.OrdinalIgnoreCase);

    private static PartitionedRateLimiter<HttpContext> LoginLimiter(int permits, TimeSpan window, Func<HttpContext, string> key) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context => IsLoginPost(context.Request)
            ? RateLimitPartition.GetFixedWindowLimiter(key(context), _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = window, QueueLimit = 0 })
            : RateLimitPartition.GetNoLimiter(""));

    /// <summary>A browser navigating (it asks for HTML) is sent to the login page; fetch(), scripts and machines get a 401.</summary>
    private static bool WantsPage(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    private static Task RedirectAsync(RedirectContext<CookieAuthenticationOptions> context)
    {
        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    /// <summary>A session ends at its next request once its user is disabled or given a new password (the stamp changed).</summary>
    private static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        var users = context.HttpContext.RequestServices.GetRequiredService<UserStore>();
        var name = context.Principal?.Identity?.Name;
        var stamp = context.Principal?.FindFirst(AccessClaims.StampType)?.Value;
        if (name is null || users.FindUser(name) is not { Disabled: false } user || user.Stamp != stamp)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(CookieScheme);
        }
    }
}

/// <summary>Authorization policies by name, for <c>RequireAuthorization(...)</c>. The fallback (any authenticated caller) is the viewer's.</summary>
public static class Policies
{
    public const string Operator = "operator";
    public const string Admin = "admin";

    /// <summary>Figures that count every site at once (ingestion stats): a farm's user may not see the others' volumes.</summary>
    public const string AllSites = "all-sites";
}
