namespace IoTPilots.Config;

/// <summary>
/// A config file is wrong. The message always names the file, the line and the field, and says what was
/// expected, e.g. <c>inventory.yaml:12:7: devices[0].bus: unknown bus 'canbus' (expected one of: modbus-tcp)</c>.
/// </summary>
public sealed class ConfigException(string file, long line, long column, string field, string problem)
    : Exception($"{file}:{line}:{column}: {field}: {problem}")
{
    public string File { get; } = file;

    public long Line { get; } = line;

    public string Field { get; } = field;

    public string Problem { get; } = problem;
}
