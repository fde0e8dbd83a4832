using IoTPilots.Edge.Publishing;

namespace IoTPilots.Edge;

/// <summary>
/// The edge agent's settings from the environment, read once at start (Program.cs), so a wrong value stops the
/// process there with exit code 2 and a message naming the variable, before anything connects.
/// <c>PILOTS_EDGE_STATE_DIR</c> is where the queues live (<c>{dir}/{gateway}</c>); the uplink variables are in <see cref="Uplink"/>.
/// <c>PILOTS_COMMAND_KEY</c> (or a file named by <c>PILOTS_COMMAND_KEY_FILE</c>) is the gateway's command key.
/// </summary>
public sealed record EdgeSettings(Uplink Uplink, string StateDir)
{
    public const string DefaultStateDir = "state";

    /// <summary>The shortest command key: HMAC-SHA256's own output length (RFC 2104 §3: keys shorter than L bytes are discouraged).</summary>
    public const int MinCommandKeyBytes = 32;

    /// <summary>The key the cloud signs this gateway's commands with; null when none is set (every command is then refused).</summary>
    public byte[]? CommandKey { get; init; }

    /// <exception cref="FormatException">A variable is set to a value that cannot be used; the message names it.</exception>
    public static EdgeSettings FromEnvironment(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var uplink = Uplink.FromEnvironment(env);
        var stateDir = env("PILOTS_EDGE_STATE_DIR") is { Length: > 0 } dir ? dir : DefaultStateDir;
        if (stateDir.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            throw new FormatException($"PILOTS_EDGE_STATE_DIR: '{stateDir}' is not a usable path");
        }

        return new EdgeSettings(uplink, stateDir) { CommandKey = CommandKeyFrom(env) };
    }

    /// <summary>The command key: base64 of at least 32 bytes, in <c>PILOTS_COMMAND_KEY</c> or in the file <c>PILOTS_COMMAND_KEY_FILE</c> names (not both).</summary>
    /// <exception cref="FormatException">Not base64, too short, both set, or the file cannot be read; the message names the variable.</exception>
    public static byte[]? CommandKeyFrom(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var inline = env("PILOTS_COMMAND_KEY") is { Length: > 0 } k ? k : null;
        var file = env("PILOTS_COMMAND_KEY_FILE") is { Length: > 0 } f ? f : null;
        if (inline is not null && file is not null)
        {
            throw new FormatException("PILOTS_COMMAND_KEY and PILOTS_COMMAND_KEY_FILE are both set; set one");
        }

        var (name, text) = (inline, file) switch
        {
            ({ } value, _) => ("PILOTS_COMMAND_KEY", value),
            (_, { } path) => ("PILOTS_COMMAND_KEY_FILE", ReadKeyFile(path)),
            _ => ("", null),
        };
        if (text is null)
        {
            return null;
        }

        var key = new byte[text.Length];
        if (!Convert.TryFromBase64String(text.Trim(), key, out var length))
        {
            throw new FormatException($"{name}: the command key is not base64");
        }

        return length >= MinCommandKeyBytes
            ? key[..length]
            : throw new FormatException($"{name}: the command key has {length} bytes; at least {MinCommandKeyBytes} are needed (e.g. openssl rand -base64 32)");
    }

    private static string ReadKeyFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new FormatException($"PILOTS_COMMAND_KEY_FILE: cannot read '{path}': {ex.Message}", ex);
        }
    }
}
