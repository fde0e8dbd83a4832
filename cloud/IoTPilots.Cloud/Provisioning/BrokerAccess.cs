using System.Text;
using IoTPilots.Contract;
using IoTPilots.Devices;

namespace IoTPilots.Cloud.Provisioning;

/// <summary>A gateway as the broker knows it: its id (its MQTT user) and the sites it publishes for.</summary>
public sealed record GatewayAccess(string Gateway, string Site, IReadOnlyList<string> TelemetrySites, string SourceFile);

/// <summary>
/// Who may do what on the broker, from the edge inventories: each gateway writes only its own topics of contract v1
/// (<see cref="Topics"/>: telemetry per device, the retained status with its last will, and gap reports), the cloud
/// reads what ingestion and the rules engine subscribe to, and the viewer reads everything and writes nothing.
/// Pure: the text of Mosquitto's ACL file, no I/O.
/// </summary>
public static class BrokerAccess
{
    /// <summary>The cloud workers' user (ingestion and rules share it).</summary>
    public const string CloudUser = "cloud";

    /// <summary>Read-only user, for dashboards and people with mosquitto_sub.</summary>
    public const string ViewerUser = "viewer";

    /// <summary>The gateways of these inventories, in id order.</summary>
    /// <exception cref="FormatException">Two inventories name the same gateway, or a gateway takes a reserved user name; the message names the file and field.</exception>
    public static IReadOnlyList<GatewayAccess> FromInventories(IEnumerable<Inventory> inventories)
    {
        var gateways = new SortedDictionary<string, GatewayAccess>(StringComparer.Ordinal);
        foreach (var inventory in inventories)
        {
            if (inventory.Gateway is CloudUser or ViewerUser)
            {
                throw new FormatException($"{inventory.SourceFile}: gateway: '{inventory.Gateway}' is the broker user of the {(inventory.Gateway == CloudUser ? "cloud workers" : "read-only viewer")}; give the gateway another id");
            }

            if (gateways.TryGetValue(inventory.Gateway, out var first))
            {
                throw new FormatException($"{inventory.SourceFile}: gateway: '{inventory.Gateway}' is already the gateway of {first.SourceFile}; every gateway needs its own id (it is its broker user)");
            }

            // A device may name its own site (inventory `site:` per device); its telemetry goes under that site.
            var sites = inventory.Devices.Select(d => d.Site).Append(inventory.Site).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            gateways.Add(inventory.Gateway, new GatewayAccess(inventory.Gateway, inventory.Site, sites, inventory.SourceFile));
        }

        return [.. gateways.Values];
    }

    /// <summary>
    /// What each broker user may publish (write) and receive (read), as MQTT topics and filters: the one contract
    /// both brokers enforce, rendered as Mosquitto's ACL (<see cref="Acl"/>) and as NATS permissions
    /// (<see cref="NatsServerConfig"/>). A gateway writes only its own topics (contract v1,
    /// edge/IoTPilots.Contract/Topics.cs) and reads only its commands and inventory pushes; the cloud reads what
    /// ingestion, rules, the live view and the gateway services subscribe to, and sends commands and pushes; the viewer
    /// only reads. Gateways in id order, then the cloud, then the viewer.
    /// </summary>
    public static IReadOnlyList<UserAccess> Users(IReadOnlyList<GatewayAccess> gateways)
    {
        ArgumentNullException.ThrowIfNull(gateways);
        var users = new List<UserAccess>();
        foreach (var gateway in gateways)
        {
            var rules = gateway.TelemetrySites.Select(site => TopicRule.Write($"{Topics.Root}/{Topics.Version}/{site}/{gateway.Gateway}/+/telemetry")).ToList();
            rules.Add(TopicRule.Write(Topics.Status(gateway.Site, gateway.Gateway)));
            rules.Add(TopicRule.Write(GapReport.Topic(gateway.Site, gateway.Gateway)));
            // Its own commands and inventory pushes in, their results out (issue 15); the signature, not this rule, is
            // what makes it act.
            rules.Add(TopicRule.Read(Topics.Command(gateway.Site, gateway.Gateway)));
            rules.Add(TopicRule.Write(Topics.CommandResult(gateway.Site, gateway.Gateway)));
            rules.Add(TopicRule.Read(Topics.Config(gateway.Site, gateway.Gateway)));
            rules.Add(TopicRule.Write(Topics.ConfigResult(gateway.Site, gateway.Gateway)));
            users.Add(new UserAccess(gateway.Gateway, rules));
        }

        users.Add(new UserAccess(CloudUser,
        [
            TopicRule.Read(Topics.AllTelemetry),
            TopicRule.Read(Topics.AllGaps),
            TopicRule.Read($"{Topics.Root}/{Topics.Version}/+/+/status"),
            TopicRule.Write($"{Topics.Root}/{Topics.Version}/+/+/command"),
            TopicRule.Read(Topics.AllCommandResults),
            TopicRule.Write($"{Topics.Root}/{Topics.Version}/+/+/config"),
            TopicRule.Read(Topics.AllConfigResults),
        ]));
        users.Add(new UserAccess(ViewerUser, [TopicRule.Read($"{Topics.Root}/{Topics.Version}/#")]));
        return users;
    }

    /// <summary>
    /// Mosquitto's ACL file. Mosquitto 2.0.11 checks it when a client publishes (write, the last will included)
    /// and when the broker delivers a message to a subscriber (read); a SUBSCRIBE itself is always granted
    /// (<c>mosquitto_acl_check_default</c>: "FIXME - implement ACL subscription strings", src/security_default.c),
    /// so a user without a read rule may subscribe but is never sent anything. Shared subscriptions
    /// (<c>$share/group/filter</c>) are checked the same way, on the topic of each message delivered.
    /// Rules are per user, not <c>pattern</c>s: a pattern applies to every user, so a gateway named like a
    /// cloud user would gain its rights, and the site is pinned as well as the gateway.
    /// </summary>
    public static string Acl(IReadOnlyList<GatewayAccess> gateways)
    {
        var acl = new StringBuilder();
        acl.Append("""
            # Mosquitto ACL for IoT Pilots, written by ./run provision from the edge inventories: regenerate, do not edit.
            # A gateway writes only its own topics (contract v1, edge/IoTPilots.Contract/Topics.cs) and reads only its commands
            # and inventory pushes; the cloud reads what ingestion and rules subscribe to (shared subscriptions included); the
            # viewer only reads. Mosquitto checks these when a message is published and when it is delivered; any user may send
            # SUBSCRIBE, but nothing without a read rule is ever delivered to it.

            """);
        foreach (var user in Users(gateways))
        {
            acl.Append('\n').Append("user ").Append(user.User).Append('\n');
            foreach (var rule in user.Rules)
            {
                acl.Append("topic ").Append(rule.Publish ? "write " : "read ").Append(rule.Topic).Append('\n');
            }
        }

        return acl.ToString();
    }
}

/// <summary>One broker user and its rules, in the order the ACL lists them.</summary>
public sealed record UserAccess(string User, IReadOnlyList<TopicRule> Rules);

/// <summary>A topic or filter the user may publish to (<see cref="Publish"/>, an ACL's write) or receive from (read).</summary>
public sealed record TopicRule(bool Publish, string Topic)
{
    public static TopicRule Read(string topic) => new(false, topic);

    public static TopicRule Write(string topic) => new(true, topic);
}
