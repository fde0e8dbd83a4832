namespace IoTPilots.Contract;

/// <summary>
/// MQTT topic layout, version 1:
/// <c>pilots/v1/{site}/{gateway}/{device}/telemetry</c> for readings and
/// <c>pilots/v1/{site}/{gateway}/status</c> (retained) for the gateway's own state;
/// <c>pilots/v1/{site}/{gateway}/command</c> and <c>.../command/result</c> for commands and their answers.
/// </summary>
public static class Topics
{
    public const string Root = "pilots";
    public const string Version = "v1";

    /// <summary>Subscription filter that matches every device's telemetry.</summary>
    public const string AllTelemetry = Root + "/" + Version + "/+/+/+/telemetry";

    /// <summary>Subscription filter that matches every gateway's gap reports.</summary>
    public const string AllGaps = Root + "/" + Version + "/+/+/gap";

    public static string Telemetry(string site, string gateway, string device)
    {
        CheckSegment(site, nameof(site));
        CheckSegment(gateway, nameof(gateway));
        CheckSegment(device, nameof(device));
        return $"{Root}/{Version}/{site}/{gateway}/{device}/telemetry";
    }

    public static string Status(string site, string gateway)
    {
        CheckSegment(site, nameof(site));
        CheckSegment(gateway, nameof(gateway));
        return $"{Root}/{Version}/{site}/{gateway}/status";
    }

    /// <summary>Commands from the cloud to one gateway (<see cref="CommandMessage"/>); never retained, so a command is never replayed by the broker.</summary>
    public static string Command(string site, string gateway)
    {
        CheckSegment(site, nameof(site));
        CheckSegment(gateway, nameof(gateway));
        return $"{Root}/{Version}/{site}/{gateway}/command";
    }

    /// <summary>The gateway's answers to commands (<see cref="CommandResult"/>).</summary>
    public static string CommandResult(string site, string gateway) => Command(site, gateway) + "/result";

    /// <summary>Subscription filter that matches every gateway's command results.</summary>
    public const string AllCommandResults = Root + "/" + Version + "/+/+/command/result";

    /// <summary>
    /// Inventories pushed from the cloud to one gateway (<see cref="InventoryPush"/>). Not retained, like commands: the
    /// gateway's persistent session keeps a push for it while it is offline (up to its session expiry), and a retained
    /// push would come again on every reconnect; the push's expiry bounds how late it may still apply.
    /// </summary>
    public static string Config(string site, string gateway)
    {
        CheckSegment(site, nameof(site));
        CheckSegment(gateway, nameof(gateway));
        return $"{Root}/{Version}/{site}/{gateway}/config";
    }

    /// <summary>The gateway's answers to pushes (<see cref="InventoryResult"/>).</summary>
    public static string ConfigResult(string site, string gateway) => Config(site, gateway) + "/result";

    /// <summary>Subscription filter that matches every gateway's push results.</summary>
    public const string AllConfigResults = Root + "/" + Version + "/+/+/config/result";

    /// <summary>Splits a telemetry topic into its site, gateway and device, or returns false.</summary>
    public static bool TryParseTelemetry(string topic, out string site, out string gateway, out string device)
    {
        site = gateway = device = "";
        var parts = topic.Split('/');
        if (parts.Length != 6 || parts[0] != Root || parts[1] != Version || parts[5] != "telemetry")
        {
            return false;
        }

        if (!Identifiers.IsValid(parts[2]) || !Identifiers.IsValid(parts[3]) || !Identifiers.IsValid(parts[4]))
        {
            return false;
        }

        (site, gateway, device) = (parts[2], parts[3], parts[4]);
        return true;
    }

    private static void CheckSegment(string value, string name)
    {
        if (!Identifiers.IsValid(value))
        {
            throw new ArgumentException($"'{value}' is not a valid {name}: {Identifiers.Rule}", name);
        }
    }
}
