using System.Globalization;
using System.Net;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Commands;
using IoTPilots.Contract;
using IoTPilots.Rules;
using Microsoft.AspNetCore.Antiforgery;

namespace IoTPilots.Cloud.Notifications;

/// <summary>
/// <c>GET /c/{token}</c>: the page a confirm-mode action's link opens (<see cref="NotificationLinks.ForAction"/>):
/// what the tap will do, to which device, for which alert, and one button; <c>POST /c/{token}</c> (the button) sends
/// the command through the command path, issued by the person who tapped and recorded against the alert, then waits
/// up to <see cref="AnswerBound"/> for the gateway's answer and shows it. The GET changes nothing, because messengers
/// and mail scanners fetch links to preview them.
/// <para>
/// The link says what to do; the login says who does it. Unlike an acknowledgement, a command moves equipment, so
/// the tap needs a logged-in operator (or admin) whose sites include the alert's: anyone else sees why not and no
/// button (issue 15: "a user without the operator role cannot command"). A phone keeps its session for the session
/// lifetime, so a farmer logs in once, not at every alarm. The button's form carries the antiforgery token: the
/// session cookie alone must not be enough for another site to press it.
/// </para>
/// Refused, each with its own page and status: a link that is not ours or was changed (404), an expired link (410),
/// an alert that does not exist (404) or has resolved (409), no login (401), no operator role or not the alert's site
/// (403), commands off on this cloud (503), an action already taken for the alert (409, with who, when and how it
/// went), an action on the asset within the rule's <c>every</c> (429), a command the planner refuses (400), and the
/// broker not taking it (503: nothing was sent; the link still works).
/// </summary>
public static class ConfirmLinkPages
{
    /// <summary>How long the tap waits for the gateway's answer before showing "sent, waiting".</summary>
    public static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(15);

    public static IEndpointRouteBuilder MapConfirmLinks(this IEndpointRouteBuilder app)
    {
        // Anonymous at the door so that a bad, expired or spent link says so before any login; the pages check the
        // operator themselves. The POST keeps antiforgery (the session cookie is the credential here).
        app.MapGet("/" + NotificationLinks.ActionPrefix + "{**token}", (string token, HttpContext context) => PageAsync(context, token, tap: false)).AllowAnonymous();
        app.MapPost("/" + NotificationLinks.ActionPrefix + "{**token}", (string token, HttpContext context) => PageAsync(context, token, tap: true)).AllowAnonymous();
        return app;
    }

    private static async Task<IResult> PageAsync(HttpContext context, string token, bool tap)
    {
        var services = context.RequestServices;
        var links = services.GetService<NotificationLinks>();
        var store = services.GetService<AlertStore>();
        if (links is null || store is null)
        {
            return NotValid(context);
        }

        if (links.CheckAction(token, out var target, out var expired) is not null)
        {
            return expired
                ? Page(context, StatusCodes.Status410Gone, "Liên kết đã hết hạn / Link expired", "Liên kết này đã hết hạn. Hãy dùng liên kết trong tin nhắn mới nhất, hoặc bảng điều khiển.", "This link has expired. Use the link in the latest message, or the console.")
                : NotValid(context);
        }

        if (store.Get(target.AlertId) is not { } alert || !Identifiers.IsValid(target.Device) || !Identifiers.IsValidField(target.Point))
        {
            return Page(context, StatusCodes.Status404NotFound, "Không tìm thấy / Not found", "Không tìm thấy cảnh báo này.", "This alert does not exist.");
        }

        var label = RuleActionText.Label(new RuleAction(target.Point, target.Value, null, RuleAction.DefaultEvery), target.Device);
        var what = $"{alert.Series.Gateway}/{target.Device}.{target.Point} = {target.Value.ToString(CultureInfo.InvariantCulture)}";
        if (alert.ResolvedAt is not null)
        {
            return Page(context, StatusCodes.Status409Conflict, "Cảnh báo đã hết / Alert resolved", $"Cảnh báo đã trở lại bình thường; không cần {label.Vi}.", $"The alert is back to normal; nothing to do ({label.En} was not sent).");
        }

        var user = context.User;
        if (user.Identity?.IsAuthenticated != true || user.Identity.Name is not { } name)
        {
            var login = $"{LoginPage.Path}?ReturnUrl={Uri.EscapeDataString(context.Request.Path)}";
            return Page(context, StatusCodes.Status401Unauthorized, "Đăng nhập / Log in", $"Đăng nhập với quyền vận hành để {Lower(label.Vi)}.", $"Log in as an operator to {Lower(label.En)}.",
                $"""<p><a href="{WebUtility.HtmlEncode(login)}">Đăng nhập / Log in</a></p>""");
        }

        if (!AccessClaims.Allows(user, Role.Operator) || !SiteScope.Of(user).Allows(alert.Series.Site))
        {
            return Page(context, StatusCodes.Status403Forbidden, "Không có quyền / Not allowed", $"{name}: cần quyền vận hành ở {alert.Series.Site} để điều khiển thiết bị.", $"{name}: controlling equipment needs the operator role at {alert.Series.Site}.");
        }

        if (services.GetService<RuleActions>() is not { CommandsOn: true } actions)
        {
            return Page(context, StatusCodes.Status503ServiceUnavailable, "Lệnh đang tắt / Commands are off", "Máy chủ này không gửi lệnh điều khiển (thiếu PILOTS_COMMAND_KEYS).", "This cloud sends no commands (no PILOTS_COMMAND_KEYS).");
        }

        if (!tap)
        {
            var shown = services.GetService<CommandStore>()?.ForAlert(alert.Id).LastOrDefault(r => r.State is not (CommandStates.NotSent or CommandStates.Undelivered));
            if (shown is not null)
            {
                return Result(context, shown, label, taken: true);
            }

            var csrf = services.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context).RequestToken;
            var form = $"""
                <p><code>{WebUtility.HtmlEncode(what)}</code></p>
                <form method="post"><input type="hidden" name="{AccessSetup.AntiforgeryField}" value="{WebUtility.HtmlEncode(csrf)}"><button type="submit">{WebUtility.HtmlEncode($"{label.Vi} / {label.En}")}</button></form>
                """;
            return Page(context, StatusCodes.Status200OK, "Xác nhận / Confirm",
                $"{alert.Message.Vi} ({alert.Series.Device}). Nhấn nút để {Lower(label.Vi)}.", $"{alert.Message.En}. Tap to {Lower(label.En)}.", form);
        }

        var every = services.GetService<ConfirmOffers>()?.ActionOf(alert.RuleId)?.Every ?? RuleAction.DefaultEvery;
        var outcome = await actions.ConfirmAsync(alert, target, every, name, context.RequestAborted);
        switch (outcome.Status)
        {
            case ConfirmStatus.Sent:
                var answered = await actions.AnswerAsync(outcome.Record!.Id, AnswerBound, context.RequestAborted) ?? outcome.Record;
                return Result(context, answered, label, taken: false);
            case ConfirmStatus.Taken:
                return Result(context, outcome.Record!, label, taken: true);
            case ConfirmStatus.Paced:
                return Page(context, StatusCodes.Status429TooManyRequests, "Vừa thực hiện / Done recently", $"Đã có lệnh cho {target.Device}.{target.Point} cách đây chưa đầy {every.TotalMinutes:0} phút; không gửi thêm.", $"Not sent: {outcome.Reason}.");
            case ConfirmStatus.NotSent:
                return Page(context, StatusCodes.Status503ServiceUnavailable, "Chưa gửi được / Not sent", "Máy chủ tin nhắn không nhận lệnh; chưa có gì được gửi. Hãy thử lại.", $"{outcome.Reason}. Try again.");
            case ConfirmStatus.CommandsOff:
                return Page(context, StatusCodes.Status503ServiceUnavailable, "Lệnh đang tắt / Commands are off", "Máy chủ này không gửi lệnh điều khiển.", outcome.Reason!);
            default:
                return Page(context, StatusCodes.Status400BadRequest, "Không gửi được / Not sent", $"Lệnh bị từ chối: {outcome.Reason}", $"Refused: {outcome.Reason}");
        }
    }

    /// <summary>A command's record as people read it: done, refused or failed with the gateway's reason, or still on its way.</summary>
    private static IResult Result(HttpContext context, CommandRecord record, LocalizedText label, bool taken)
    {
        var who = $"{record.IssuedBy}, {record.IssuedAt.ToString("HH:mm:ss 'UTC' dd/MM", CultureInfo.InvariantCulture)}";
        var why = string.Join(": ", new[] { record.Reason, record.Detail }.Where(t => !string.IsNullOrEmpty(t)));
        var (status, title, vi, en) = record.State switch
        {
            "done" => (StatusCodes.Status200OK, "Đã thực hiện / Done", $"Đã {Lower(label.Vi)} ({who}).", $"Done: {label.En} ({who}); read back {record.ReadBack?.ToString(CultureInfo.InvariantCulture) ?? "-"}."),
            "refused" or "failed" => (StatusCodes.Status409Conflict, "Gateway từ chối / Refused", $"Gateway không thực hiện: {why} ({who}).", $"The gateway {record.State} it: {why} ({who})."),
            _ => (StatusCodes.Status202Accepted, "Đã gửi / Sent", $"Đã gửi lệnh ({who}); đang chờ gateway trả lời. Tải lại trang để xem kết quả.", $"Sent ({who}); waiting for the gateway's answer. Reload this page to see it."),
        };
        // A link works once: after the tap, it (and every other copy of it) shows what was done and by whom.
        return taken
            ? Page(context, StatusCodes.Status409Conflict, $"Đã có lệnh / Already taken · {title}", vi, $"{en} Command {record.Id}.")
            : Page(context, status, title, vi, $"{en} Command {record.Id}.");
    }

    private static IResult NotValid(HttpContext context) =>
        Page(context, StatusCodes.Status404NotFound, "Liên kết không hợp lệ / Link not valid", "Liên kết này không hợp lệ.", "This link is not valid.");

    private static IResult Page(HttpContext context, int status, string title, string vi, string en, string extra = "") =>
        AckLinkPages.Html(context, status, title, vi, en, extra);

    private static string Lower(string text) => text.Length == 0 ? text : char.ToLowerInvariant(text[0]) + text[1..];
}
