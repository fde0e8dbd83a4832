using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace IoTPilots.Rules;

/// <summary>
/// Alert texts with placeholders: <c>{device}</c>, <c>{site}</c>, <c>{gateway}</c>, <c>{field}</c>, <c>{value}</c>,
/// <c>{limit}</c>, <c>{unit}</c>, <c>{window}</c>. Numbers are written for the reader: a decimal point in
/// English, a decimal comma in Vietnamese (2,72 mg/L), and durations in words of each language.
/// </summary>
public static partial class MessageTemplate
{
    public static readonly IReadOnlyList<string> Placeholders = ["device", "site", "gateway", "field", "value", "limit", "unit", "window"];

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
        _ => new("No reading of {field} from {device} for {window}", "Không có số liệu {field} từ {device} trong {window}"),
    };

    public static LocalizedText Render(Rule rule, SeriesKey series, string field, string unit, double? value) =>
        new(Render(rule.Message.En, rule, series, field, unit, value, vietnamese: false), Render(rule.Message.Vi, rule, series, field, unit, value, vietnamese: true));

    private static string Render(string template, Rule rule, SeriesKey series, string field, string unit, double? value, bool vietnamese) =>
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

    [GeneratedRegex(@"\{([a-z_]+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex PlaceholderPattern();
}
