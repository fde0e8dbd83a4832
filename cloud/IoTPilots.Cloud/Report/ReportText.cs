using System.Globalization;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Report;

/// <summary>
/// The report's words and number formats in Vietnamese (default) or English. Numbers and dates are formatted here
/// rather than through vi-VN culture data, which the tests' invariant globalization does not have: Vietnamese
/// writes a decimal comma, a dot between thousands and dd/MM/yyyy dates.
/// </summary>
public sealed class ReportText(string language)
{
    public bool Vi { get; } = language == "vi";

    public string Language => Vi ? "vi" : "en";

    public string this[string en, string vi] => Vi ? vi : en;

    public string Number(double value, int decimals = 1)
    {
        var text = Math.Round(value, decimals).ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (decimals > 0)
        {
            text = text.TrimEnd('0').TrimEnd('.');
        }

        return Vi ? text.Replace(',', ' ').Replace('.', ',').Replace(' ', '.') : text;
    }

    public string Number(double? value, int decimals = 1) => value is { } v ? Number(v, decimals) : "–";

    public string Date(DateTimeOffset at) => at.UtcDateTime.ToString(Vi ? "dd/MM/yyyy HH:mm" : "yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    public string Day(DateTimeOffset at) => at.UtcDateTime.ToString(Vi ? "dd/MM" : "MM-dd", CultureInfo.InvariantCulture);

    public string Duration(TimeSpan? span) => span is not { } t ? "–"
        : t.TotalMinutes < 90 ? $"{Number(t.TotalMinutes)} {Unit("min")}"
        : $"{Number(t.TotalHours)} {Unit("h")}";

    public string Unit(string unit) => unit switch
    {
        "min" => this["min", "phút"],
        "h" => this["h", "giờ"],
        "lifts" => this["lifts/h", "lượt nâng/giờ"],
        _ => unit,
    };

    public string Severity(Severity severity) => severity switch
    {
        Rules.Severity.Critical => this["critical", "nghiêm trọng"],
        Rules.Severity.Warning => this["warning", "cảnh báo"],
        _ => this["info", "thông tin"],
    };

    public string Met(bool? met) => met switch
    {
        true => this["met", "đạt"],
        false => this["missed", "không đạt"],
        null => this["no data", "không có dữ liệu"],
    };

    public string NotAcknowledged => this["not acknowledged", "chưa xác nhận"];

    /// <summary>What a KPI measures, in words.</summary>
    public string Kpi(KpiDefinition k, SignalDefinition signal)
    {
        var field = k.Field == signal.Field ? this[signal.LabelEn, signal.LabelVi] : k.Field ?? "";
        var limit = k.Limit is { } l ? Number(l) : "";
        return k.Kind switch
        {
            "availability" => this["Data availability (mean over devices)", "Tính sẵn sàng dữ liệu (trung bình các thiết bị)"],
            "ack-median" => this[$"Median time to acknowledge {k.Severity} alerts", $"Thời gian xác nhận cảnh báo {Severity(Enum.Parse<Severity>(k.Severity!, true))} (trung vị)"],
            "lead-time" => this["Failures predicted ahead (median lead time)", "Hỏng hóc được dự báo trước (thời gian báo trước, trung vị)"],
            "time-below" => this[$"Time with {field} below {limit} (worst device)", $"Thời gian {field} dưới {limit} (thiết bị kém nhất)"],
            "time-above" => this[$"Time with {k.Field} above {limit} (worst device)", $"Thời gian {k.Field} trên {limit} (thiết bị kém nhất)"],
            "outside-band" => this[$"Time with {field} outside setpoint ± {Number(k.Tolerance)} (worst device)", $"Thời gian {field} ngoài dải điểm đặt ± {Number(k.Tolerance)} (thiết bị kém nhất)"],
            _ => this[$"{k.Field} per hour (lowest device)", $"{k.Field} mỗi giờ (thiết bị thấp nhất)"],
        };
    }

    /// <summary>How a KPI is computed, for the method appendix.</summary>
    public string Method(KpiDefinition k) => k.Kind switch
    {
        "availability" => this["Per device, the share of the period's intervals (1 min up to 2 days, else 10 min) with at least one good reading; the mean over devices.", "Với mỗi thiết bị, tỷ lệ các khoảng thời gian (1 phút nếu kỳ ≤ 2 ngày, nếu không 10 phút) có ít nhất một giá trị tốt; lấy trung bình các thiết bị."],
        "ack-median" => this["Median of (acknowledged at − raised at) over the alerts of that severity raised in the period and acknowledged; alerts not acknowledged do not count and are listed.", "Trung vị của (lúc xác nhận − lúc phát) trên các cảnh báo mức đó phát trong kỳ và đã được xác nhận; cảnh báo chưa xác nhận không tính và được liệt kê."],
        "lead-time" => this["For each forecast alert, the first critical threshold alert on the same device and field after it; the median time between them.", "Với mỗi cảnh báo dự báo, cảnh báo ngưỡng nghiêm trọng đầu tiên sau đó trên cùng thiết bị và tín hiệu; trung vị khoảng thời gian giữa chúng."],
        "time-below" => this["Per device, the intervals whose minimum is below the limit, times the interval length; the worst device.", "Với mỗi thiết bị, số khoảng có giá trị nhỏ nhất dưới giới hạn nhân độ dài khoảng; lấy thiết bị kém nhất."],
        "time-above" => this["Per device, the intervals whose maximum is above the limit, times the interval length; the worst device.", "Với mỗi thiết bị, số khoảng có giá trị lớn nhất trên giới hạn nhân độ dài khoảng; lấy thiết bị kém nhất."],
        "outside-band" => this["Per device, the intervals whose mean is further than the tolerance from the mean setpoint, times the interval length; the worst device.", "Với mỗi thiết bị, số khoảng có giá trị trung bình lệch khỏi điểm đặt quá dung sai, nhân độ dài khoảng; lấy thiết bị kém nhất."],
        _ => this["Per device, the counter's maximum minus its minimum in the period, per hour of the period; the lowest device.", "Với mỗi thiết bị, giá trị lớn nhất trừ nhỏ nhất của bộ đếm trong kỳ, chia cho số giờ của kỳ; lấy thiết bị thấp nhất."],
    };
}
