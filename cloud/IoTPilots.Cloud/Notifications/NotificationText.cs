using System.Globalization;
using System.Text;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Notifications;

/// <summary>
/// A notification as a person reads it, in their language: the full text (Telegram, e-mail, the demo's receiver)
/// and the SMS (Vietnamese without diacritics in one 160-character GSM-7 part, keeping device, value and action).
/// </summary>
public static class NotificationText
{
    /// <summary>One GSM-7 SMS part (3GPP TS 23.038: 140 octets of 7-bit characters).</summary>
    public const int SmsLength = 160;

    public static string Headline(Alert alert, string state, string language)
    {
        var vi = IsVietnamese(language);
        var severity = alert.Severity switch
        {
            Severity.Critical => vi ? "🔴 NGUY CẤP" : "🔴 CRITICAL",
            Severity.Warning => vi ? "🟠 CẢNH BÁO" : "🟠 WARNING",
            _ => vi ? "🔵 THÔNG TIN" : "🔵 INFO",
        };
        var what = StateWord(state, vi);
        return $"{(state == NoticeStates.Resolved ? "✅" : severity)}{(what.Length > 0 ? " · " + what : "")} · {alert.Series.Device} ({alert.Series.Site})";
    }

    /// <summary>The whole message: headline, the alert's text, value and time, what to do, the one-tap action when the rule offers one, and how to acknowledge.</summary>
    /// <param name="acted">What the rule's automatic action does, for the messages that say how it went.</param>
    public static string Full(Alert alert, OutboxItem item, LocalizedText action, TimeSpan zone, Uri? ackLink, ConfirmOffer? confirm = null, LocalizedText? acted = null)
    {
        var vi = IsVietnamese(item.Language);
        var local = item.At.ToOffset(zone);
        var text = new StringBuilder()
            .AppendLine(Headline(alert, item.State, item.Language))
            .AppendLine(alert.Message.In(item.Language));
        text.Append(Outcome(item, acted) ?? (vi ? "Giá trị: " : "Value: ") + MessageTemplate.Number(item.Value, vi))
            .Append(vi ? " lúc " : " at ").AppendLine(local.ToString(vi ? "HH:mm dd/MM" : "HH:mm MMM d", CultureInfo.InvariantCulture));

        if (item.State == NoticeStates.Acknowledged && alert.AcknowledgedBy is { } by)
        {
            text.Append(vi ? "Người nhận: " : "Taken by: ").AppendLine(by);
        }

        if (NeedsAction(item.State))
        {
            text.Append(vi ? "Việc cần làm: " : "Action: ").AppendLine(action.In(item.Language));
            if (confirm is not null)
            {
                text.Append("👉 ").Append(confirm.Label.In(item.Language)).Append(": ").AppendLine(confirm.Link.ToString());
            }

            if (ackLink is not null)
            {
                text.Append(vi ? "Xác nhận đã nhận: " : "Acknowledge: ").AppendLine(ackLink.ToString());
            }
        }

        return text.ToString().TrimEnd();
    }

    /// <summary>
    /// One GSM-7 part: severity, device and value first, then the action and the link, and the alert's own text
    /// in what room is left. Vietnamese loses its diacritics (gateways bill UCS-2 texts per 70 characters). A one-tap
    /// action takes the action's place (its label says what to do), and the acknowledgement link stays only if both
    /// links fit: the action is what the night needs.
    /// </summary>
    public static string Sms(Alert alert, OutboxItem item, LocalizedText action, Uri? ackLink, ConfirmOffer? confirm = null, LocalizedText? acted = null)
    {
        var vi = IsVietnamese(item.Language);
        var severity = alert.Severity switch
        {
            Severity.Critical => vi ? "NGUY CAP" : "CRITICAL",
            Severity.Warning => vi ? "CANH BAO" : "WARNING",
            _ => "INFO",
        };
        var what = StateWord(item.State, vi);
        var outcome = Outcome(item, acted);
        var head = $"{(item.State == NoticeStates.Resolved ? (vi ? "DA BINH THUONG" : "BACK TO NORMAL") : severity)}{(what.Length > 0 && item.State != NoticeStates.Resolved ? " " + what : "")} {alert.Series.Device}{(outcome is null ? " " + MessageTemplate.Number(item.Value, vi) : "")}";
        var ack = ackLink is null ? "" : $". {(vi ? "XN" : "ACK")}: {ackLink}";
        var tail = !NeedsAction(item.State) ? ""
            : confirm is null ? $". {action.In(item.Language)}{ack}"
            : $". {confirm.Label.In(item.Language)}: {confirm.Link}{ack}";
        head = Gsm7(head);
        tail = Gsm7(tail);
        if (confirm is not null && head.Length + tail.Length > SmsLength && ack.Length > 0)
        {
            tail = tail[..^Gsm7(ack).Length];
        }

        var room = SmsLength - head.Length - tail.Length - 2;
        var message = Gsm7(outcome ?? alert.Message.In(item.Language));
        var middle = room <= 3 ? "" : ": " + (message.Length <= room ? message : message[..(room - 2)].TrimEnd() + "..");
        var sms = head + middle + tail;
        return sms.Length <= SmsLength ? sms : sms[..SmsLength];
    }

    /// <summary>Vietnamese letters without their marks (đ → d), and anything outside GSM-7's basic set as '?'.</summary>
    /// <remarks>A table, not Unicode decomposition: the service may run with invariant globalization, where
    /// <see cref="string.Normalize()"/> leaves these letters whole.</remarks>
    public static string Gsm7(string text)
    {
        var plain = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            var letter = Plain.TryGetValue(c, out var p) ? p : c;
            plain.Append(letter is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' || " .,:;-/_?=&+%()!'\"*#<>@\n".Contains(letter, StringComparison.Ordinal) ? letter : '?');
        }

        return plain.ToString();
    }

    // The Vietnamese alphabet's marked vowels (Unicode Latin Extended Additional and Latin-1), lower then upper case.
    private static readonly Dictionary<char, char> Plain = new[]
    {
        ("àáảãạăằắẳẵặâầấẩẫậ", 'a'), ("ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ", 'A'), ("èéẻẽẹêềếểễệ", 'e'), ("ÈÉẺẼẸÊỀẾỂỄỆ", 'E'),
        ("ìíỉĩị", 'i'), ("ÌÍỈĨỊ", 'I'), ("òóỏõọôồốổỗộơờớởỡợ", 'o'), ("ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ", 'O'),
        ("ùúủũụưừứửữự", 'u'), ("ÙÚỦŨỤƯỪỨỬỮỰ", 'U'), ("ỳýỷỹỵ", 'y'), ("ỲÝỶỸỴ", 'Y'), ("đ", 'd'), ("Đ", 'D'),
    }.SelectMany(g => g.Item1.Select(c => (c, g.Item2))).ToDictionary(p => p.c, p => p.Item2);

    private static bool NeedsAction(string state) => state is NoticeStates.Raised or NoticeStates.Escalated or NoticeStates.Reminder or NoticeStates.Flapping or NoticeStates.ActionFailed;

    /// <summary>How a rule's automatic action went, for the messages that say so; null for every other message.</summary>
    private static string? Outcome(OutboxItem item, LocalizedText? acted)
    {
        var vi = IsVietnamese(item.Language);
        var what = acted?.In(item.Language) ?? (vi ? "Hành động tự động" : "The automatic action");
        return item.State switch
        {
            NoticeStates.ActionDone => vi
                ? $"✅ {what}: hệ thống đã tự thực hiện, thiết bị xác nhận {MessageTemplate.Number(item.Value, vi)}"
                : $"✅ {what}: done automatically, the device reads back {MessageTemplate.Number(item.Value, vi)}",
            NoticeStates.ActionFailed => vi
                ? $"❌ {what}: KHÔNG thực hiện được, cần người xử lý ngay"
                : $"❌ {what}: NOT done, someone must act now",
            _ => null,
        };
    }

    private static bool IsVietnamese(string language) => language.StartsWith("vi", StringComparison.OrdinalIgnoreCase);

    private static string StateWord(string state, bool vi) => state switch
    {
        NoticeStates.Escalated => vi ? "CHƯA AI NHẬN" : "NOT YET ACKNOWLEDGED",
        NoticeStates.Reminder => vi ? "NHẮC LẠI" : "REMINDER",
        NoticeStates.Acknowledged => vi ? "ĐÃ CÓ NGƯỜI NHẬN" : "ACKNOWLEDGED",
        NoticeStates.Shelved => vi ? "TẠM ẨN" : "SHELVED",
        NoticeStates.Resolved => vi ? "ĐÃ BÌNH THƯỜNG" : "BACK TO NORMAL",
        NoticeStates.Flapping => vi ? "BẬT TẮT LIÊN TỤC" : "FLAPPING",
        NoticeStates.ActionDone => vi ? "ĐÃ TỰ ĐỘNG XỬ LÝ" : "ACTED AUTOMATICALLY",
        NoticeStates.ActionFailed => vi ? "TỰ ĐỘNG XỬ LÝ THẤT BẠI" : "AUTOMATIC ACTION FAILED",
        _ => "",
    };
}
