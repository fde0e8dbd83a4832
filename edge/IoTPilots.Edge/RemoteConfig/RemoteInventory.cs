using System.Globalization;

namespace IoTPilots.Edge.RemoteConfig;

/// <summary>
/// Remote configuration as Program.cs sets it up: the files (<see cref="InventoryFiles.Open"/>, which picks the
/// inventory to start with) and the options; <c>PILOTS_INVENTORY_PROBATION_S</c> is the probation in seconds
/// (1 to 86400, default 300).
/// </summary>
public sealed record RemoteInventory(InventoryFiles Files, InventoryRulesOptions Options)
{
    /// <exception cref="FormatException">PILOTS_INVENTORY_PROBATION_S is set to something else than a whole number of seconds in range.</exception>
    /// <exception cref="IoTPilots.Config.ConfigException">The installed inventory is invalid.</exception>
    public static RemoteInventory Open(string installedFile, EdgeSettings settings, Func<string, string?> env, TimeProvider time, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(env);
        var options = new InventoryRulesOptions();
        if (env("PILOTS_INVENTORY_PROBATION_S") is { Length: > 0 } text)
        {
            options = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= 86_400
                ? options with { Probation = TimeSpan.FromSeconds(seconds) }
                : throw new FormatException($"PILOTS_INVENTORY_PROBATION_S: '{text}' is not a whole number of seconds from 1 to 86400");
        }

        return new RemoteInventory(InventoryFiles.Open(installedFile, settings.StateDir, time.GetUtcNow(), log), options);
    }
}
