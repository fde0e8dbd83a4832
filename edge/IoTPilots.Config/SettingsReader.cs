using System.Globalization;

namespace IoTPilots.Config;

/// <summary>
/// Settings read once, at start, from a name → value source: the environment (<c>PILOTS_*</c>) or command-line
/// options. Unset or empty means the default. A value that is given but wrong is a <see cref="FormatException"/>
/// whose message starts with the name and says what was expected, e.g.
/// <c>PILOTS_DELIVERY_INTERVAL_S: 'abc' is not a number of seconds from 0 to 86400</c>; it never becomes the
/// default. Processes print it and exit 2, which systemd does not restart on (as for <see cref="ConfigException"/>).
/// </summary>
public sealed class SettingsReader(Func<string, string?> source)
{
    /// <summary>The value, or null when unset or empty.</summary>
    public string? Optional(string name) => source(name) is { Length: > 0 } value ? value : null;

    public string String(string name, string fallback) => Optional(name) ?? fallback;

    public double Number(string name, double fallback, double min, double max, string unit = "number")
    {
        if (Optional(name) is not { } text)
        {
            return fallback;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && double.IsFinite(n) && n >= min && n <= max
            ? n
            : throw Error(name, text, $"is not a {unit} from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
    }

    public TimeSpan Seconds(string name, TimeSpan fallback, TimeSpan min, TimeSpan max) =>
        TimeSpan.FromSeconds(Number(name, fallback.TotalSeconds, min.TotalSeconds, max.TotalSeconds, "number of seconds"));

    /// <summary><c>1</c>/<c>true</c> or <c>0</c>/<c>false</c>.</summary>
    public bool Switch(string name, bool fallback) => Optional(name) switch
    {
        null => fallback,
        "1" or "true" => true,
        "0" or "false" => false,
        var other => throw Error(name, other, "is not 1 or 0"),
    };

    /// <summary>An existing file or folder.</summary>
    public string? ExistingPath(string name)
    {
        if (Optional(name) is not { } path)
        {
            return null;
        }

        return File.Exists(path) || Directory.Exists(path) ? path : throw Error(name, path, "is neither a file nor a folder");
    }

    /// <summary>The problem with a given value, naming the setting; a URL's password is never repeated.</summary>
    public static FormatException Error(string name, string value, string problem) => new($"{name}: '{Redact(value)}' {problem}");

    /// <summary>Masks the password of a <c>scheme://user:password@host</c> value, so an error message can quote it.</summary>
    public static string Redact(string value)
    {
        var scheme = value.IndexOf("://", StringComparison.Ordinal);
        var at = value.LastIndexOf('@');
        if (scheme < 0 || at < scheme)
        {
            return value;
        }

        var colon = value.IndexOf(':', scheme + 3);
        return colon < 0 || colon > at ? value : $"{value[..(colon + 1)]}***{value[at..]}";
    }
}
