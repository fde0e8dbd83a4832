using System.Globalization;
using System.Text.RegularExpressions;

namespace IoTPilots.Cloud.Influx;

/// <summary>
/// Reads an InfluxDB 400/422 refusal to find which lines of the request it refused. What InfluxDB 1.6 answers
/// (tried against influxd 1.6.7, see the tests' <c>InfluxRefusalTests</c>):
/// <list type="bullet">
/// <item>unparsable lines: <c>partial write: unable to parse '&lt;line&gt;': invalid field format\nunable to parse
/// '&lt;line&gt;': missing field value dropped=0</c>; every other line is stored;</item>
/// <item>a field whose type differs from the stored one: <c>partial write: field type conflict: input field "f" on
/// measurement "m" is type string, already exists as type float dropped=N</c>; the other lines are stored, and
/// only the first conflict is named even when N counts others; unparsable lines in the same request are then
/// not mentioned at all;</item>
/// <item>two types of a new field within one request: <c>field type conflict</c>, and nothing at all is stored;</item>
/// <item>points older than a retention policy: <c>partial write: points beyond retention policy dropped=N</c>.</item>
/// </list>
/// A request-level refusal (<c>retention policy not found: x</c>) names no data problem at all. Pure.
/// </summary>
public static partial class InfluxRefusal
{
    /// <summary>Lines InfluxDB named as bad (index into the request, and an error that never repeats the line), and whether every other line is known to be stored.</summary>
    public sealed record Analysis(IReadOnlyDictionary<int, string> Bad, bool RestStored);

    /// <summary>Whether the refusal is about the points (so splitting the request can isolate them), not the request itself.</summary>
    public static bool IsAboutData(WriteRefusal refusal) =>
        refusal.Status == 422 ||
        (refusal.Status == 400 && DataErrors.Any(e => refusal.Error.Contains(e, StringComparison.OrdinalIgnoreCase)));

    // The sentences InfluxDB 1.x (models/points.go, tsdb/shard.go) and 2.x use for refused points.
    private static readonly string[] DataErrors =
    [
        "unable to parse", "failed to parse", "partial write", "field type conflict", "beyond retention policy", "max-values-per-tag",
    ];

    public static Analysis Analyse(WriteRefusal refusal, IReadOnlyList<string> lines)
    {
        var error = refusal.Error;
        var bad = new Dictionary<int, string>();
        if (error.Contains("unable to parse '", StringComparison.Ordinal))
        {
            for (var i = 0; i < lines.Count; i++)
            {
                var quoted = $"unable to parse '{lines[i]}': ";
                var at = error.IndexOf(quoted, StringComparison.Ordinal);
                if (at >= 0)
                {
                    bad[i] = "unable to parse: " + Reason(error, at + quoted.Length);
                }
            }
        }

        var conflicts = 0;
        if (TypeConflict().Match(error) is { Success: true } m)
        {
            var field = m.Groups["field"].Value;
            var measurement = m.Groups["measurement"].Value;
            var existing = m.Groups["existing"].Value;
            for (var i = 0; i < lines.Count; i++)
            {
                if (!bad.ContainsKey(i) && LineParts.Measurement(lines[i]) == LineProtocol.EscapeMeasurement(measurement) &&
                    LineParts.Fields(lines[i]).Any(f => f.Key == LineProtocol.EscapeKey(field) && f.Type != existing))
                {
                    bad[i] = $"field type conflict: field {field} of measurement {measurement} already exists as type {existing}";
                    conflicts++;
                }
            }
        }

        // Everything else is known to be stored only after a partial write of parse errors alone (dropped=0). A type
        // conflict hides the request's parse errors (influxd 1.6 answers with the write's error before the parse
        // error), so after one the rest must be sent again.
        var dropped = Dropped().Match(error) is { Success: true } d ? long.Parse(d.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
        var restStored = error.StartsWith("partial write", StringComparison.Ordinal) && dropped == 0 && conflicts == 0 && bad.Count > 0;
        return new Analysis(bad, restStored);
    }

    /// <summary>The error without anything InfluxDB quoted from the data, so a quarantine point never carries content.</summary>
    public static string WithoutContent(string error) => Quoted().Replace(error, "'…'");

    private static string Reason(string error, int from)
    {
        var end = error.IndexOf('\n', from);
        var reason = end < 0 ? error[from..] : error[from..end];
        return Dropped().Replace(reason, "").Trim();
    }

    [GeneratedRegex("""field type conflict: input field "(?<field>[^"]*)" on measurement "(?<measurement>[^"]*)" is type (?<type>\w+), already exists as type (?<existing>\w+)""")]
    private static partial Regex TypeConflict();

    [GeneratedRegex(@"\s*dropped=(\d+)\s*$")]
    private static partial Regex Dropped();

    [GeneratedRegex("'[^'\n]*'")]
    private static partial Regex Quoted();
}

/// <summary>Just enough of a line-protocol reader to name a line's series and its fields' types. Pure.</summary>
public static class LineParts
{
    /// <summary>Measurement and tags: everything before the first unescaped space.</summary>
    public static string SeriesKey(string line)
    {
        var end = UnescapedIndex(line, 0, ' ');
        return end < 0 ? line : line[..end];
    }

    /// <summary>The measurement, still escaped as in the line.</summary>
    public static string Measurement(string line)
    {
        var key = SeriesKey(line);
        var end = UnescapedIndex(key, 0, ',');
        return end < 0 ? key : key[..end];
    }

    /// <summary>Each field's key (escaped as in the line) and type as InfluxDB names it: float, integer, unsigned, string, boolean.</summary>
    public static IEnumerable<(string Key, string Type)> Fields(string line)
    {
        var i = UnescapedIndex(line, 0, ' ');
        if (i < 0)
        {
            yield break;
        }

        i++;
        while (i < line.Length)
        {
            var eq = UnescapedIndex(line, i, '=');
            if (eq < 0)
            {
                yield break;
            }

            var key = line[i..eq];
            i = eq + 1;
            string type;
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (i < line.Length && line[i] != '"')
                {
                    i += line[i] == '\\' ? 2 : 1;
                }

                i++;
                type = "string";
            }
            else
            {
                var start = i;
                while (i < line.Length && line[i] is not (',' or ' '))
                {
                    i++;
                }

                type = TypeOf(line[start..i]);
            }

            yield return (key, type);
            if (i >= line.Length || line[i] == ' ')
            {
                yield break;
            }

            i++;
        }
    }

    private static string TypeOf(string value) => value switch
    {
        "t" or "T" or "true" or "True" or "TRUE" or "f" or "F" or "false" or "False" or "FALSE" => "boolean",
        _ when value.EndsWith('i') => "integer",
        _ when value.EndsWith('u') => "unsigned",
        _ => "float",
    };

    private static int UnescapedIndex(string s, int from, char c)
    {
        for (var i = from; i < s.Length; i++)
        {
            if (s[i] == '\\')
            {
                i++;
            }
            else if (s[i] == c)
            {
                return i;
            }
        }

        return -1;
    }
}
