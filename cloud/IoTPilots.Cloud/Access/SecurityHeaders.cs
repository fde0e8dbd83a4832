using System.Net;
using System.Security.Cryptography;

namespace IoTPilots.Cloud.Access;

/// <summary>
/// The headers every response carries, and the per-response nonce that lets a page's own inline script and style run.
/// The pages (console, login, admin) are self-contained HTML with inline script and CSS, because the sites' links are
/// poor; a nonce made for each response (CSP Level 3, "nonce-source") lets exactly those run, and nothing an attacker
/// could inject, which <c>'unsafe-inline'</c> would allow. A page puts <see cref="CspNonce"/> on its tags with <see cref="WithNonce"/>.
/// </summary>
public static class SecurityHeaders
{
    private const string NonceKey = "pilots.csp-nonce";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        context.Items[NonceKey] = nonce;
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy =
            $"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        // Signed acknowledgement links (/a/...) are bearer tokens in the path: no page may hand them on as a Referer.
        headers["Referrer-Policy"] = "no-referrer";
        return next(context);
    });

    /// <summary>This response's nonce for inline <c>&lt;script&gt;</c> and <c>&lt;style&gt;</c>.</summary>
    public static string CspNonce(this HttpContext context) =>
        context.Items[NonceKey] as string ?? throw new InvalidOperationException("UseSecurityHeaders() is not in the pipeline");

    /// <summary>
    /// <paramref name="html"/> with this response's nonce on every bare <c>&lt;script&gt;</c> and <c>&lt;style&gt;</c> tag.
    /// Only for our own page templates: never for HTML that holds text from requests or the database.
    /// </summary>
    public static string WithNonce(this HttpContext context, string html)
    {
        if (context.Items[NonceKey] is not string raw)
        {
            // No policy in this pipeline (a test host without UseAccess): nothing to satisfy.
            return html;
        }

        var nonce = WebUtility.HtmlEncode(raw);
        return html.Replace("<script>", $"<script nonce=\"{nonce}\">", StringComparison.Ordinal)
            .Replace("<style>", $"<style nonce=\"{nonce}\">", StringComparison.Ordinal);
    }
}
