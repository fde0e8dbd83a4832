using System.Text.Encodings.Web;
using System.Text.Unicode;
using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace IoTPilots.Cloud.Access;

/// <summary>
/// <c>GET /login</c> (the form, Vietnamese first with English), <c>POST /login</c> (checks the password, starts a
/// session cookie) and <c>POST /logout</c>. The form works without script, at 360 px, and loads nothing from elsewhere.
/// </summary>
public static class LoginPage
{
    public const string Path = "/login";

    // Vietnamese stays readable in the page source (WebUtility.HtmlEncode would write á as &#225;); markup is still escaped.
    private static readonly HtmlEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    internal static IEndpointRouteBuilder MapLogin(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (HttpContext context) =>
            context.User.Identity?.IsAuthenticated == true && context.User.Identity.AuthenticationType == AccessSetup.CookieScheme
                ? Results.Redirect(LocalOrRoot(context.Request.Query["ReturnUrl"]))
                : Render(context, StatusCodes.Status200OK, null)).AllowAnonymous();
        // Its antiforgery token is checked by AccessSetup's middleware, as for every POST: no login CSRF.
        app.MapPost(Path, LoginAsync).AllowAnonymous();
        app.MapPost("/logout", async (HttpContext context) =>
        {
            await context.SignOutAsync(AccessSetup.CookieScheme);
            return Results.Redirect(Path, permanent: false, preserveMethod: false);
        });
        return app;
    }

    private static async Task<IResult> LoginAsync(HttpContext context, UserStore users, ILoggerFactory loggers)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var name = form["username"].ToString().Trim();
        var password = form["password"].ToString();
        var user = name.Length is > 0 and <= AccountInput.MaxNameLength && password.Length is > 0 and <= AccountInput.MaxPasswordLength
            ? users.CheckPassword(name, password)
            : null;
        if (user is null)
        {
            loggers.CreateLogger(typeof(LoginPage)).LogWarning("Login refused for {User} from {Address}", name.Length <= 64 ? name : name[..64], context.Connection.RemoteIpAddress);
            return Render(context, StatusCodes.Status401Unauthorized, ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."), name);
        }

        var claims = AccessClaims.For(user.Name, user.Role, user.Sites);
        claims.Add(new Claim(AccessClaims.StampType, user.Stamp));
        await context.SignInAsync(AccessSetup.CookieScheme, new ClaimsPrincipal(new ClaimsIdentity(claims, AccessSetup.CookieScheme)));
        return Results.Redirect(LocalOrRoot(form["ReturnUrl"]));
    }

    /// <summary>Only a path on this server: a login link must not send people on to another site (open redirect).</summary>
    internal static string LocalOrRoot(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) && !url.Any(char.IsControl) ? url : "/";

    /// <summary>The form, with an optional message (Vietnamese, English) above it.</summary>
    internal static IResult Render(HttpContext context, int status, (string Vi, string En)? message, string name = "")
    {
        var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
        var returnUrl = LocalOrRoot(context.Request.HasFormContentType ? context.Request.Form["ReturnUrl"] : context.Request.Query["ReturnUrl"]);
        string E(string? text) => Html.Encode(text ?? "");
        var error = message is { } m
            ? $"""<p class="error" role="alert" data-testid="login-error">{E(m.Vi)}<br><span lang="en">{E(m.En)}</span></p>"""
            : "";
        var html = $$"""
            <!doctype html>
            <html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Đăng nhập · IoT Pilots</title>
            <style>
              body { font: 17px/1.4 system-ui, sans-serif; margin: 0; padding: 24px 16px; background: #f4f6f8; color: #1b1f23; }
              main { max-width: 360px; margin: 0 auto; background: #fff; padding: 20px; border-radius: 8px; box-shadow: 0 1px 3px #0002; }
              h1 { font-size: 1.4em; margin: 0 0 16px; } h1 span, label span.en, .error span { color: #57606a; font-weight: normal; }
              label { display: block; margin: 12px 0 4px; font-weight: 600; } label span.en { font-size: .9em; }
              input { width: 100%; box-sizing: border-box; min-height: 44px; font-size: 1em; padding: 8px; border: 1px solid #8c959f; border-radius: 6px; }
              button { margin-top: 20px; width: 100%; min-height: 44px; font-size: 1.05em; font-weight: 600; color: #fff; background: #0969da; border: 0; border-radius: 6px; }
              .error { color: #a40e26; background: #ffebe9; padding: 8px 12px; border-radius: 6px; }
            </style></head>
            <body><main>
            <h1>Đăng nhập <span lang="en">· Log in</span></h1>
            {{error}}
            <form method="post" action="login" data-testid="login-form">
              <input type="hidden" name="{{E(tokens.FormFieldName)}}" value="{{E(tokens.RequestToken)}}">
              <input type="hidden" name="ReturnUrl" value="{{E(returnUrl)}}">
              <label for="username">Tên đăng nhập <span class="en" lang="en">/ User name</span></label>
              <input id="username" name="username" data-testid="login-user" autocomplete="username" autocapitalize="none" required maxlength="64" value="{{E(name)}}">
              <label for="password">Mật khẩu <span class="en" lang="en">/ Password</span></label>
              <input id="password" name="password" data-testid="login-password" type="password" autocomplete="current-password" required maxlength="256">
              <button type="submit" data-testid="login-submit">Đăng nhập / Log in</button>
            </form>
            </main></body></html>
            """;
        context.Response.Headers.CacheControl = "no-store";
        return Results.Content(context.WithNonce(html), "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);
    }
}
