using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace IoTPilots.Rules;

/// <summary>
/// Alert texts with placeholders: <c>{device}</c>, <c>{site}</c>, <c>{gateway}</c>, <c>{field}</c>, <c>{value}</c>,
/// <c>{limit}</c>, <c>{unit}</c>, <c>{window}</c>, and for forecasts <c>{eta}</c> (time to the crossing, with its
/// range), for composites <c>{parts}</c> (each condition, whether it held and for how long) and for derived signals
/// <c>{inputs}</c> (the values the signal was computed from, with their ages). Numbers are written for the reader: a decimal point in
/// English, a decimal comma in Vietnamese (2,72 mg/L), and durations in words of each language.
/// </summary>
public static partial class MessageTemplate
{
    public static readonly IReadOnlyList<string> Placeholders = ["device", "site", "gateway", "field", "value", "limit", "unit", "window", "eta", "parts", "inputs", "baseline", "shift", "sigmas", "since"];

    /// <summary>The first placeholder that is not one of <see cref="Placeholders"/>, or null.</summary>
    public static string? UnknownPlaceholder(string template) =>
        PlaceholderPattern().Matches(template).Select(m => m.Groups[1].Value).FirstOrDefault(p => !Placeholders.Contains(p));

    /// <summary>The default texts for a rule that brings none of its own.</summary>
    public static LocalizedText Default(RuleKind kind, bool below) => (kind, below) switch
    {
        (RuleKind.Threshold, true) => new("{field} on {device} is {value} {unit}, below {limit} {unit}", "{field} ở {device} là {value} {unit}, dưới ngưỡng {limit} {unit}"),
        (RuleKind.Threshold, false) => new("{field} on {device} is {value} {unit}, above {limit} {unit}", "{field} ở {device} là {value} {unit}, vượt ngưỡng {limit} {unit}"),
        (RuleKind.Rate, true) => new("{field} on {device} is falling at {value} {unit}/min (limit {limit} {unit}/min)", "{field} ở {device} đang giảm {value} {unit}/phút (ngưỡng {limit} {unit}/phút)"),
        (RuleKind.Rate, false) => new("{field} on {device} is rising at {value} {unit}/min (limit {limit} {unit}/min)", "{field} ở {device} đang tăng {value} {unit}/phút (ngưỡng {limit} {unit}/phút)"),
        (RuleKind.Forecast, true) => new("{field} on {device} is trending down: at this rate it reaches {limit} {unit} in {eta}", "{field} ở {device} đang có xu hướng giảm: với tốc độ này sẽ chạm {limit} {unit} sau {eta}"),
        (RuleKind.Forecast, false) => new("{field} on {device} is trending up: at this rate it reaches {limit} {unit} in {eta}", "{field} ở {device} đang có xu hướng tăng: với tốc độ này sẽ chạm {limit} {unit} sau {eta}"),
        (RuleKind.Drift, _) => new("{field} on {device} is drifting from its baseline {baseline}: now {value} {unit}, {shift} ({sigmas}), for {since}", "{field} ở {device} đang trôi khỏi mức nền {baseline}: hiện là {value} {unit}, lệch {shift} ({sigmas}), từ {since} trước"),
        _ => new("No reading of {field} from {device} for {window}", "Không có số liệu {field} từ {device} trong {window}"),
    };

    /// <summary>The default texts of a composite rule: which conditions held.</summary>
    public static LocalizedText DefaultComposite(bool all) => all
        ? new("All conditions hold on {device}: {parts}", "Tất cả điều kiện cùng xảy ra ở {device}: {parts}")
        : new("A condition holds on {device}: {parts}", "Có điều kiện xảy ra ở {device}: {parts}");

    public static LocalizedText Render(Rule rule, SeriesKey series, string field, string unit, double? value, Eta? eta = null, Evidence? evidence = null) =>
        new(Render(rule.Message.En, rule, series, field, unit, value, eta, evidence, vietnamese: false), Render(rule.Message.Vi, rule, series, field, unit, value, eta, evidence, vietnamese: true));

    private static string Render(string template, Rule rule, SeriesKey series, string field, string unit, double? value, Eta? eta, Evidence? evidence, bool vietnamese) =>
        PlaceholderPattern().Replace(template, m => m.Groups[1].Value switch
        {
            "device" => series.Device,
            "site" => series.Site,
            "gateway" => series.Gateway,
            "field" => field,
            "value" => Number(value, vietnamese),
            "limit" => Number(rule.Limit, vietnamese),
            "unit" => unit,
            "window" => Duration(rule.Window, vietnamese),
            "eta" => eta is { } e ? e.Describe(vietnamese) : "–",
            "parts" => evidence is { Parts.Count: > 0 } p ? string.Join("; ", p.Parts.Select(x => x.Describe(vietnamese))) : "–",
            "inputs" => evidence is { Inputs.Count: > 0 } i ? string.Join(", ", i.Inputs.Select(x => x.Describe(vietnamese))) : "–",
            "baseline" => evidence?.Drift?.Baseline(vietnamese) ?? "–",
            "shift" => evidence?.Drift?.ShiftText(vietnamese) ?? "–",
            "sigmas" => evidence?.Drift?.SigmasText(vietnamese) ?? "–",
            "since" => evidence?.Drift?.SinceText(vietnamese) ?? "–",
            _ => m.Value,
        }).Replace("  ", " ", StringComparison.Ordinal).Trim();

    /// <summary>Up to two decimals; a decimal comma in Vietnamese.</summary>
    public static string Number(double? value, bool vietnamese)
    {
        if (value is not { } v)
        {
            return "–";
        }

        var text = v.ToString("0.##", CultureInfo.InvariantCulture);
        return vietnamese ? text.Replace('.', ',') : text;
    }

    public static string Duration(TimeSpan span, bool vietnamese)
    {
        var text = new StringBuilder();
        if (span.TotalHours >= 1 && span.TotalHours == Math.Floor(span.TotalHours))
        {
            text.Append(span.TotalHours.ToString(CultureInfo.InvariantCulture)).Append(vietnamese ? " giờ" : " h");
        }
        else if (span.TotalMinutes >= 1 && span.TotalMinutes == Math.Floor(span.TotalMinutes))
        {
            text.Append(span.TotalMinutes.ToString(CultureInfo.InvariantCulture)).Append(vietnamese ? " phút" : " min");
        }
        else
        {
            text.Append(Math.Round(span.TotalSeconds).ToString(CultureInfo.InvariantCulture)).Append(vietnamese ? " giây" : " s");
        }

        return text.ToString();
    }

    /// <summary>A rough duration for people: minutes under 2 h, hours under 3 days, then days.</summary>
    public static string Approximately(TimeSpan span, bool vietnamese)
    {
        var (n, en, vi) = span.TotalHours < 2 ? (Math.Max(1, Math.Round(span.TotalMinutes)), "min", "phút")
            : span.TotalDays < 3 ? (Math.Round(span.TotalHours), "h", "giờ")
            : (Math.Round(span.TotalDays), "days", "ngày");
        return $"{n.ToString(CultureInfo.InvariantCulture)} {(vietnamese ? vi : en)}";
    }

    [GeneratedRegex(@"\{([a-z_]+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex PlaceholderPattern();
}

/// <summary>A forecast's time to the crossing, and the range the trend's spread allows (<see cref="Latest"/> null: it may never come).</summary>
public sealed record Eta(TimeSpan Likely, TimeSpan Earliest, TimeSpan? Latest)
{
    public string Describe(bool vietnamese)
    {
        if (Likely == TimeSpan.Zero)
        {
            return vietnamese ? "ngay bây giờ (đã tới ngưỡng)" : "now (already there)";
        }

        var likely = MessageTemplate.Approximately(Likely, vietnamese);
        var earliest = MessageTemplate.Approximately(Earliest, vietnamese);
        var latest = Latest is { } l ? MessageTemplate.Approximately(l, vietnamese) : vietnamese ? "không xác định" : "open-ended";
        return vietnamese ? $"khoảng {likely} ({earliest} – {latest})" : $"about {likely} ({earliest} – {latest})";
    }
}

/// <summary>Why an alert of a composite rule or on a derived signal was decided: the parts and the inputs, for its text and its record.</summary>
public sealed record Evidence(IReadOnlyList<PartEvidence> Parts, IReadOnlyList<InputEvidence> Inputs, DriftEvidence? Drift = null)
{
    public static readonly Evidence None = new([], []);

    public override string ToString() => string.Join("; ", [.. Parts.Select(p => p.Describe(false)), .. Inputs.Select(i => i.Describe(false)), .. Drift is { } d ? [d.Describe(false)] : Array.Empty<string>()]);
}

/// <summary>One condition of a composite: whether it held at the decision, its latest value (or slope), and since when.</summary>
/// <param name="Devices">For a per-site rule, the devices that met it (empty per device).</param>
public sealed record PartEvidence(string Condition, bool Held, double? Value, TimeSpan? HeldFor, IReadOnlyList<string> Devices)
{
    public string Describe(bool vietnamese)
    {
        var value = Value is { } v ? $" ({MessageTemplate.Number(v, vietnamese)})" : "";
        var where = Devices.Count > 0 ? $" [{string.Join(", ", Devices)}]" : "";
        var state = (Held, HeldFor) switch
        {
            (true, { } f) when f > TimeSpan.Zero => vietnamese ? $"đúng trong {MessageTemplate.Duration(f, true)}" : $"held for {MessageTemplate.Duration(f, false)}",
            (true, _) => vietnamese ? "đúng" : "held",
            _ => vietnamese ? "không" : "not held",
        };
        return $"{Condition}{value}{where}: {state}";
    }
}

/// <summary>One input of a derived signal: the value it was computed from and how old it was at the reading time.</summary>
public sealed record InputEvidence(string Field, double Value, DateTimeOffset At, TimeSpan Age)
{
    public string Describe(bool vietnamese) => $"{Field} = {MessageTemplate.Number(Value, vietnamese)}{(Age > TimeSpan.Zero ? $" ({MessageTemplate.Duration(Age, vietnamese)}{(vietnamese ? " trước" : " before")})" : "")}";
}
