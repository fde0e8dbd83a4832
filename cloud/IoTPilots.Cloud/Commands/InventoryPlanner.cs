using IoTPilots.Config;
using IoTPilots.Contract;
using IoTPilots.Devices;

namespace IoTPilots.Cloud.Commands;

/// <summary>
/// Turns an inventory text for one gateway into a signed, versioned <see cref="InventoryPush"/>, refusing early what
/// the gateway would refuse: a gateway the registry does not have or has no key for, a text too large or that the
/// inventory loader rejects (its file, line and field), one that changes the gateway's id or site, a lifetime outside
/// 1 hour to 7 days. The gateway checks it all again; this is for a clear answer at once. The version is the next
/// above what the gateway reports and what was pushed (<see cref="GatewayDirectory.NextVersion"/>).
/// </summary>
/// <param name="validate">Loads a text as an inventory file of the registry would load (it names the file <c>{gateway}.yaml</c>); throws <see cref="ConfigException"/> or <see cref="FormatException"/> naming file, line and field.</param>
public sealed class InventoryPlanner(IReadOnlyList<Inventory> inventories, CommandKeys keys, GatewayDirectory directory, Func<string, string, Inventory> validate, TimeProvider time)
{
    public static readonly TimeSpan MinLifetime = TimeSpan.FromHours(1);

    /// <summary>As the gateway's <c>InventoryRulesOptions.MaxLifetime</c> (its MQTT session's expiry).</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(7);

    /// <returns>The signed push, or the error and whether it is a 404 (an unknown gateway).</returns>
    public (InventoryPush? Push, string? Error, bool NotFound) Plan(string gateway, string content, string issuedBy, TimeSpan lifetime)
    {
        if (inventories.FirstOrDefault(i => i.Gateway == gateway) is not { } registered)
        {
            return (null, $"gateway: {gateway} is not in the device registry", true);
        }

        if (lifetime < MinLifetime || lifetime > MaxLifetime)
        {
            return (null, $"hours: a push is valid for {MinLifetime.TotalHours:0} to {MaxLifetime.TotalHours:0} hours", false);
        }

        if (keys.For(gateway) is not { } key)
        {
            return (null, $"gateway: {gateway} has no key in PILOTS_COMMAND_KEYS, so nothing can be signed for it", false);
        }

        if (content.Trim().Length == 0 || System.Text.Encoding.UTF8.GetByteCount(content) > InventoryPush.MaxContentBytes)
        {
            return (null, $"body: the inventory's YAML text, 1 byte to {InventoryPush.MaxContentBytes / 1024} KiB", false);
        }

        Inventory next;
        try
        {
            next = validate(gateway, content);
        }
        catch (Exception ex) when (ex is ConfigException or FormatException)
        {
            return (null, $"inventory: {ex.Message}", false);
        }

        if (next.Gateway != registered.Gateway || next.Site != registered.Site)
        {
            return (null, $"inventory: gateway/site {next.Site}/{next.Gateway} differ from the registry's {registered.Site}/{registered.Gateway}; a push may not change a gateway's identity", false);
        }

        var now = time.GetUtcNow();
        var push = new InventoryPush(
            Guid.NewGuid().ToString("N"),
            registered.Site,
            gateway,
            directory.NextVersion(gateway),
            InventoryPush.HashOf(content),
            content,
            issuedBy,
            now,
            now + lifetime);
        return (InventorySignature.Sign(push, key), null, false);
    }
}
