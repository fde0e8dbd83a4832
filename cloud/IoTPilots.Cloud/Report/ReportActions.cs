using IoTPilots.Cloud.Commands;

namespace IoTPilots.Cloud.Report;

/// <summary>
/// The report's automatic actions (issue 15: "every action appears in ... the report"): the commands rules (and
/// gateways, on their own) sent to the pilot's sites in the period, from the commands record the cloud keeps beside
/// its alert store, with how each ended.
/// </summary>
public static class ReportActions
{
    /// <summary>The commands record the cloud writes: <c>PILOTS_COMMANDS_DB</c>, else <c>commands.db</c> beside the alert store (as <see cref="CommandsOptions"/>).</summary>
    public static string PathOf(Func<string, string?> environment, string alertDatabasePath) =>
        environment("PILOTS_COMMANDS_DB") is { Length: > 0 } path
            ? path
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(alertDatabasePath))!, "commands.db");

    /// <summary>The automatic actions of the period from the record at <paramref name="path"/>; none when the cloud never had commands on (no file).</summary>
    public static IReadOnlyList<CommandRecord> Load(string path, PilotReport report)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        using var store = CommandStore.Open(path);
        return InPeriod(store.List(int.MaxValue, null), report);
    }

    /// <summary>
    /// Those of <paramref name="commands"/> issued in [from, to) by a rule or a gateway, on the report's sites or for one
    /// of its alerts, oldest first. Pure.
    /// </summary>
    public static IReadOnlyList<CommandRecord> InPeriod(IEnumerable<CommandRecord> commands, PilotReport report)
    {
        var sites = report.SiteOf.Values.Concat(report.Definition?.Sites ?? []).ToHashSet(StringComparer.Ordinal);
        var alerts = report.AlertList.Select(a => a.Id).ToHashSet();
        return [.. commands
            .Where(c => c.IssuedAt >= report.From && c.IssuedAt < report.To && AutomaticActions.IsAutomatic(c.IssuedBy))
            .Where(c => sites.Contains(c.Site) || (c.AlertId is { } id && alerts.Contains(id)))
            .OrderBy(c => c.IssuedAt)
            .ThenBy(c => c.Id, StringComparer.Ordinal)];
    }

    /// <summary>How an action ended, as a stable word for the figures: the gateway's done/refused/failed, else expired (unanswered past its expiry) or the cloud's state.</summary>
    public static string Outcome(CommandRecord c, DateTimeOffset reportEnd) =>
        c.AnsweredAt is null && c.State == CommandStates.Sent && c.ExpiresAt <= reportEnd ? "expired" : c.State;

    /// <summary>The point as people call it (device profiles' writable points), and its value: a switch (<c>*_on</c>) reads on/off.</summary>
    public static string What(CommandRecord c, ReportText t)
    {
        var name = c.Point switch
        {
            "backup_aerator_on" => t["Backup aerator", "Máy sục dự phòng"],
            _ => c.Point,
        };
        var value = c.Point.EndsWith("_on", StringComparison.Ordinal) ? (c.Value != 0 ? t["ON", "BẬT"] : t["OFF", "TẮT"]) : t.Number(c.Value, 3);
        return $"{name}: {value}";
    }

    /// <summary>Who issued it: the rule, or the gateway on its own (its max-run switch-off).</summary>
    public static string Who(CommandRecord c, ReportText t) =>
        c.IssuedBy.StartsWith("rule:", StringComparison.Ordinal) ? t[$"rule {c.IssuedBy[5..]}", $"quy tắc {c.IssuedBy[5..]}"]
        : t["the gateway itself", "gateway tự thực hiện"] + (c.Reason is { Length: > 0 } r && c.IssuedBy.StartsWith("gateway:", StringComparison.Ordinal) ? $" ({r})" : "");

    /// <summary>The outcome in words, with the reason of a refusal or failure.</summary>
    public static string OutcomeText(CommandRecord c, DateTimeOffset reportEnd, ReportText t)
    {
        var outcome = Outcome(c, reportEnd);
        var text = outcome switch
        {
            "done" => t["done", "đã thực hiện"],
            "refused" => t["refused", "bị từ chối"],
            "failed" => t["failed", "thất bại"],
            "expired" => t["expired, no answer from the gateway", "hết hạn, gateway không trả lời"],
            CommandStates.Sent => t["sent, no answer yet", "đã gửi, chưa có trả lời"],
            CommandStates.Undelivered => t["not delivered: the gateway takes no commands", "không đến được gateway"],
            CommandStates.NotSent => t["not sent: the broker did not take it", "không gửi được"],
            _ => outcome,
        };
        return outcome is "refused" or "failed" && c.Reason is { Length: > 0 } reason ? $"{text}: {reason}" : text;
    }
}
