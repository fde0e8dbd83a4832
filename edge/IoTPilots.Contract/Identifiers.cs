using System.Text.RegularExpressions;

namespace IoTPilots.Contract;

/// <summary>
/// Site, gateway and device ids become MQTT topic segments and InfluxDB tag values, so they are kept
/// to a safe alphabet: no '/', '+', '#', spaces or commas to escape anywhere.
/// </summary>
public static partial class Identifiers
{
    public const string Rule = "1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit";

    public static bool IsValid(string? id) => id is not null && IdPattern().IsMatch(id);

    /// <summary>Field names are snake_case with a unit suffix, e.g. <c>do_mg_l</c>.</summary>
    public const string FieldRule = "1-64 characters of a-z, 0-9 and '_', starting with a letter (snake_case with a unit suffix, e.g. do_mg_l)";

    public static bool IsValidField(string? field) => field is not null && FieldPattern().IsMatch(field);

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex FieldPattern();
}
