using System.Net;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;

namespace IoTPilots.Cloud.Notifications;

/// <summary>
/// <c>GET /a/{token}</c>: a one-tap confirm page for a signed acknowledgement link; <c>POST /a/{token}</c> (its
/// button) acknowledges as the contact the link was sent to, through that channel. The GET changes nothing, because
/// messengers and mail scanners fetch links to preview them. A link works once and until it expires.
/// </summary>
public static class AckLinkPages
{
    public static IEndpointRouteBuilder MapAckLinks(this IEndpointRouteBuilder app)
    {
        // Open to anyone holding the link: its signature is the credential (NotificationLinks), and the phone that
        // opens it from an SMS has no session. No antiforgery token either: the link's own signature is unguessable.
        app.MapGet("/a/{token}", (string token, HttpContext context) => Page(context, token, confirm: false)).AllowAnonymous();
        app.MapPost("/a/{token}", (string token, HttpContext context) => Page(context, token, confirm: true)).AllowAnonymous().DisableAntiforgery();
        return app.MapConfirmLinks();
    }

    private static IResult Page(HttpContext context, string token, bool confirm)
    {
        var links = context.RequestServices.GetService<NotificationLinks>();
        var notifier = context.RequestServices.GetService<AlertNotifier>();
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        if (links is null || notifier is null || links.Check(token, out var rowId) is { } refused)
        {
            return Html(context, StatusCodes.Status404NotFound, "Liên kết không hợp lệ / Link not valid", "Liên kết này không hợp lệ hoặc đã hết hạn.", "This link is not valid or has expired.");
        }

        if (notifier.Store.OutboxRow(rowId) is not { } row || notifier.Store.Get(row.AlertId) is not { } alert)
        {
            return Html(context, StatusCodes.Status404NotFound, "Không tìm thấy / Not found", "Không tìm thấy cảnh báo này.", "This alert does not exist.");
        }

        var what = WebUtility.HtmlEncode($"{alert.Message.Vi} ({alert.Series.Device})");
        if (!confirm)
        {
            var form = $"""<form method="post"><button type="submit">Đã nhận / Acknowledge</button></form>""";
            return Html(context, StatusCodes.Status200OK, "Xác nhận / Acknowledge", $"{what}<br>{WebUtility.HtmlEncode(row.Contact)}: xác nhận bạn đã nhận cảnh báo này?", "Confirm you are taking this alert.", form, rawFirst: true);
        }

        if (!notifier.Store.UseLink(rowId.ToString(System.Globalization.CultureInfo.InvariantCulture), time.GetUtcNow()))
        {
            return Html(context, StatusCodes.Status410Gone, "Đã dùng / Already used", "Liên kết này đã được dùng.", "This link has already been used.");
        }

        try
        {
            notifier.Acknowledge(alert.Id, row.Contact, null, time.GetUtcNow(), $"{row.Channel} link");
            return Html(context, StatusCodes.Status200OK, "Đã nhận / Acknowledged", $"Cảm ơn {row.Contact}. Đã ghi nhận.", "Thank you. Acknowledged.");
        }
        catch (InvalidOperationException ex)
        {
            return Html(context, StatusCodes.Status409Conflict, "Đã có người nhận / Already acknowledged", "Cảnh báo này đã có người nhận.", ex.Message);
        }
    }

    internal static IResult Html(HttpContext context, int status, string title, string vi, string en, string extra = "", bool rawFirst = false)
    {
        // Plain text is encoded; only the confirm page's first line (built above from encoded parts) and the form are ours.
        var first = rawFirst ? vi : WebUtility.HtmlEncode(vi);
        var html = $$"""
            <!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>{{WebUtility.HtmlEncode(title)}}</title>
            <style>body{font:18px system-ui,sans-serif;margin:1.5em;max-width:30em}button{font-size:1.2em;min-height:44px;padding:.5em 1.5em}</style>
            </head><body><h1>{{WebUtility.HtmlEncode(title)}}</h1><p>{{first}}</p><p>{{WebUtility.HtmlEncode(en)}}</p>{{extra}}</body></html>
            """;
        return Results.Content(context.WithNonce(html), "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);
    }
}
