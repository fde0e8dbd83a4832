using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace IoTPilots.Config;

/// <summary>
/// A node of a YAML (or JSON, which is YAML) config file that remembers where it came from, so every accessor
/// can fail with a <see cref="ConfigException"/> naming file, line and field path. Typed accessors cover
/// what our config files need; anything unexpected is an error, never a silent default.
/// </summary>
public sealed partial class ConfigNode
{
    private readonly YamlNode _node;

    private ConfigNode(string file, string path, YamlNode node)
    {
        File = file;
        Path = path;
        _node = node;
    }

    public string File { get; }

    /// <summary>Field path from the root, e.g. <c>devices[2].registers[0].type</c>.</summary>
    public string Path { get; }

    public long Line => _node.Start.Line;

    public static ConfigNode Load(string file)
    {
        if (!System.IO.File.Exists(file))
        {
            throw new ConfigException(file, 0, 0, "(file)", "file not found");
        }

        return Parse(System.IO.File.ReadAllText(file), file);
    }

    public static ConfigNode Parse(string text, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new ConfigException(file, ex.Start.Line, ex.Start.Column, "(syntax)", ex.InnerException?.Message ?? ex.Message);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode)
        {
            throw new ConfigException(file, 1, 1, "(root)", "expected a mapping of settings at the top of the file");
        }

        return new ConfigNode(file, "", stream.Documents[0].RootNode);
    }

    public ConfigException Error(string problem) => new(File, _node.Start.Line, _node.Start.Column, Path.Length == 0 ? "(root)" : Path, problem);

    public bool Has(string key) => Mapping().Children.ContainsKey(new YamlScalarNode(key));

    public ConfigNode? Optional(string key)
    {
        var map = Mapping();
        if (!map.Children.TryGetValue(new YamlScalarNode(key), out var child))
        {
            return null;
        }

        if (child is YamlScalarNode { Style: ScalarStyle.Plain, Value: "" or "~" or "null" })
        {
            return null;
        }

        return new ConfigNode(File, Child(key), child);
    }

    public ConfigNode Required(string key) =>
        Optional(key) ?? throw new ConfigException(File, _node.Start.Line, _node.Start.Column, Child(key), "required field is missing");

    /// <summary>Fails on keys the schema does not know, so a typo never silently becomes a default.</summary>
    public void AllowOnly(params string[] keys)
    {
        foreach (var key in Mapping().Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "?";
            if (!keys.Contains(name))
            {
                throw new ConfigException(File, key.Start.Line, key.Start.Column, Child(name), $"unknown field (expected one of: {string.Join(", ", keys)})");
            }
        }
    }

    public bool IsList => _node is YamlSequenceNode;

    public IReadOnlyList<ConfigNode> Items()
    {
        if (_node is not YamlSequenceNode seq)
        {
            throw Error($"expected a list, got {Describe()}");
        }

        return seq.Children.Select((child, i) => new ConfigNode(File, $"{Path}[{i}]", child)).ToList();
    }

    public string AsString()
    {
        if (_node is not YamlScalarNode scalar || scalar.Value is null)
        {
            throw Error($"expected a value, got {Describe()}");
        }

        return scalar.Value;
    }

    public string String(string key) => Required(key).AsString();

    public string String(string key, string fallback) => Optional(key)?.AsString() ?? fallback;

    public double AsDouble()
    {
        var text = AsString();
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            throw Error($"expected a number, got '{text}'");
        }

        return value;
    }

    public double Double(string key, double fallback) => Optional(key)?.AsDouble() ?? fallback;

    public long AsInteger(long min, long max)
    {
        var text = AsString();
        long value;
        var ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value)
            : long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
        if (!ok)
        {
            throw Error($"expected an integer (decimal or 0x hex), got '{text}'");
        }

        if (value < min || value > max)
        {
            throw Error($"{value} is out of range {min}..{max}");
        }

        return value;
    }

    public int Int(string key, int min, int max) => (int)Required(key).AsInteger(min, max);

    public int Int(string key, int min, int max, int fallback) => (int)(Optional(key)?.AsInteger(min, max) ?? fallback);

    public bool Bool(string key, bool fallback)
    {
        var node = Optional(key);
        if (node is null)
        {
            return fallback;
        }

        return node.AsString() switch
        {
            "true" or "yes" or "on" => true,
            "false" or "no" or "off" => false,
            var other => throw node.Error($"expected true or false, got '{other}'"),
        };
    }

    /// <summary>One of a fixed set of words; the error lists them.</summary>
    public string OneOf(IReadOnlyCollection<string> allowed, string what)
    {
        var text = AsString();
        if (!allowed.Contains(text))
        {
            throw Error($"unknown {what} '{text}' (expected one of: {string.Join(", ", allowed)})");
        }

        return text;
    }

    /// <summary>A duration such as <c>500ms</c>, <c>10s</c>, <c>5m</c>, <c>2h</c>; a bare number means seconds.</summary>
    public TimeSpan AsDuration()
    {
        var text = AsString().Trim();
        var match = DurationPattern().Match(text);
        if (!match.Success)
        {
            throw Error($"expected a duration such as 500ms, 10s, 5m or 2h, got '{text}'");
        }

        var number = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(number),
            "" or "s" => TimeSpan.FromSeconds(number),
            "m" => TimeSpan.FromMinutes(number),
            "h" => TimeSpan.FromHours(number),
            _ => TimeSpan.FromDays(number),
        };
    }

    public TimeSpan Duration(string key, TimeSpan fallback) => Optional(key)?.AsDuration() ?? fallback;

    private YamlMappingNode Mapping() =>
        _node as YamlMappingNode ?? throw Error($"expected a mapping of fields, got {Describe()}");

    private string Child(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    private string Describe() => _node switch
    {
        YamlScalarNode s => $"'{s.Value}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "nothing",
    };

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$")]
    private static partial Regex DurationPattern();
}
