using IoTPilots.Edge.Publishing;

namespace IoTPilots.Edge;

/// <summary>
/// The edge agent's settings from the environment, read once at start (Program.cs), so a wrong value stops the
/// process there with exit code 2 and a message naming the variable, before anything connects.
/// <c>PILOTS_EDGE_STATE_DIR</c> is where the queues live (<c>{dir}/{gateway}</c>); the uplink variables are in <see cref="Uplink"/>.
/// </summary>
public sealed record EdgeSettings(Uplink Uplink, string StateDir)
{
    public const string DefaultStateDir = "state";

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

        return new EdgeSettings(uplink, stateDir);
    }
}
