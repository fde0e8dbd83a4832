using System.Text;
using IoTPilots.Cloud.Nats;

namespace IoTPilots.Cloud.Provisioning;

/// <summary>Where the NATS nodes keep what <c>./run provision</c> writes into <c>nats/</c>, and their ports.</summary>
/// <param name="Dir">The folder of security.conf, users.conf, mqtt-tls.conf, route-tls.conf and the certificates on every node.</param>
/// <param name="ClientPort">The NATS client port (the cloud's <c>PILOTS_NATS_URL</c>).</param>
/// <param name="MqttPort">The MQTT port (TLS) gateways dial: <c>--port</c>, as for Mosquitto.</param>
public sealed record NatsLayout(string Dir = NatsLayout.DefaultDir, int ClientPort = 4222, int MqttPort = 8883)
{
    public const string DefaultDir = "/etc/nats/iotpilots";
}

/// <summary>
/// The NATS mode's server security, as fragments each node's config includes (deploy/nats/nats.conf shows where; pure
/// text, no I/O). nats-server 2.9 resolves an <c>include</c> relative to the including file (conf/parse.go joins the
/// two paths, so an absolute one does not work): the node's config sits in the same folder.
/// <list type="bullet">
/// <item><c>security.conf</c>, at the top level: TLS for NATS clients and the users (<c>include users.conf</c>).</item>
/// <item><c>users.conf</c>: one user per broker user of <see cref="BrokerAccess.Users"/>, with bcrypt passwords and
/// permissions on the subjects the MQTT topics map to (<see cref="Permissions"/>).</item>
/// <item><c>mqtt-tls.conf</c> inside <c>mqtt { }</c> and <c>route-tls.conf</c> inside <c>cluster { }</c>.</item>
/// </list>
/// MQTT clients log in with the same users: with no <c>mqtt { authorization }</c> override the MQTT gateway checks a
/// CONNECT's user and password against these (nats-server 2.9.10 server/auth.go, <c>isClientAuthorized</c>).
/// </summary>
public static class NatsServerConfig
{
    /// <summary>The NATS client's inbox prefix (NATS.Net's default): JetStream API replies come back there.</summary>
    private const string Inbox = "_INBOX.>";

    /// <summary>
    /// The MQTT gateway delivers a QoS 1 subscription through a JetStream consumer whose deliver subject is
    /// <c>$MQTT.sub.&lt;nuid&gt;</c>, and subscribes the client's connection to it, so a user with permissions needs
    /// subscribe on it (nats-server docs, MQTT, "Configuration"; server/mqtt.go, <c>processJSConsumer</c>). An MQTT client
    /// cannot subscribe to it itself: the gateway refuses filters under it (<c>mqttSubPrefix</c>).
    /// </summary>
    private const string MqttDelivery = "$MQTT.sub.>";

    /// <summary>
    /// What the cloud's JetStream consumers need on NATS's MQTT stream, and no more: the stream's info, creating,
    /// reading and deleting consumers of it, pulling and acknowledging. Not creating, purging or deleting the stream, nor
    /// deleting its messages: the MQTT gateway owns it (<see cref="MqttStream"/>).
    /// </summary>
    public static readonly IReadOnlyList<string> CloudJetStream =
    [
        "$JS.API.INFO",
        $"$JS.API.STREAM.INFO.{MqttStream.Name}",
        $"$JS.API.STREAM.MSG.GET.{MqttStream.Name}",
        $"$JS.API.CONSUMER.*.{MqttStream.Name}",
        $"$JS.API.CONSUMER.*.{MqttStream.Name}.>",
        $"$JS.API.CONSUMER.*.*.{MqttStream.Name}.>",
        $"$JS.ACK.{MqttStream.Name}.>",
    ];

    /// <summary>
    /// A user's NATS permissions from its MQTT rules. A topic maps to a subject as the MQTT gateway maps it
    /// (<see cref="MqttStream.ToSubject"/>). A filter ending in <c>#</c> also matches its parent level in MQTT, so the
    /// gateway subscribes the parent subject as well (<c>mqttNeedSubForLevelUp</c>) and the user needs both, or the
    /// whole SUBSCRIBE is refused. Gateways and the viewer speak MQTT only; the cloud also NATS (its JetStream consumer).
    /// </summary>
    public static NatsPermissions Permissions(UserAccess user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var publish = new List<string>();
        var subscribe = new List<string>();
        foreach (var rule in user.Rules)
        {
            var subject = MqttStream.ToSubject(rule.Topic);
            if (rule.Publish)
            {
                publish.Add(subject);
                continue;
            }

            subscribe.Add(subject);
            if (subject.EndsWith(".>", StringComparison.Ordinal))
            {
                subscribe.Add(subject[..^2]);
            }
        }

        subscribe.Add(MqttDelivery);
        var cloud = user.User == BrokerAccess.CloudUser;
        if (cloud)
        {
            publish.AddRange(CloudJetStream);
            subscribe.Add(Inbox);
        }

        return new NatsPermissions([.. publish.Distinct(StringComparer.Ordinal)], [.. subscribe.Distinct(StringComparer.Ordinal)], cloud ? ["STANDARD", "MQTT"] : ["MQTT"]);
    }

    /// <summary>At the top level of each node's config: TLS required of NATS clients, and the users.</summary>
    public static string Security(NatsLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var dir = layout.Dir.TrimEnd('/');
        return $$"""
            # NATS server security for IoT Pilots, written by ./run provision (deploy/README.md, "The NATS mode"): include it at
            # the top level of each node's config, which sits in this folder ({{dir}}), with `include security.conf`.
            # NATS clients (the cloud's JetStream consumer, port {{layout.ClientPort}}) must use TLS; everyone logs in (users.conf).

            tls {
              cert_file: "{{dir}}/server.crt"
              key_file: "{{dir}}/server.key"
              ca_file: "{{dir}}/ca.crt"
              # Seconds for the handshake (the default, 2 s, is short for a gateway on a slow cellular link).
              timeout: 5
            }

            include users.conf

            """;
    }

    /// <summary>Inside each node's <c>mqtt { }</c>: the gateways' MQTT 3.1.1 over TLS.</summary>
    public static string MqttTls(NatsLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var dir = layout.Dir.TrimEnd('/');
        return $$"""
            # TLS of the MQTT listener (gateways, and the cloud's MQTT subscriptions), written by ./run provision: include it
            # inside each node's mqtt { } block with `include mqtt-tls.conf`. Logins are the users of users.conf.
            tls {
              cert_file: "{{dir}}/server.crt"
              key_file: "{{dir}}/server.key"
              timeout: 5
            }

            """;
    }

    /// <summary>
    /// Inside each node's <c>cluster { }</c>: mutual TLS between the nodes. Each node presents route.crt, which the CA
    /// signed for server and client use, because nats-server requires and verifies the dialling node's certificate on
    /// routes; a route's URL must be a name route.crt carries (the <c>--host</c> names).
    /// </summary>
    public static string RouteTls(NatsLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var dir = layout.Dir.TrimEnd('/');
        return $$"""
            # Mutual TLS between the cluster's nodes, written by ./run provision: include it inside each node's cluster { }
            # block with `include route-tls.conf`. Route URLs must name a host route.crt carries.
            tls {
              cert_file: "{{dir}}/route.crt"
              key_file: "{{dir}}/route.key"
              ca_file: "{{dir}}/ca.crt"
              timeout: 5
            }

            """;
    }

    /// <summary>The <c>authorization</c> block: each user with its bcrypt hash (<see cref="NatsPassword"/>) and permissions.</summary>
    public static string Users(IReadOnlyList<UserAccess> users, Func<string, string> hashOf)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(hashOf);
        var text = new StringBuilder("""
            # NATS users of IoT Pilots, written by ./run provision from the edge inventories: regenerate, do not edit.
            # Passwords are bcrypt hashes (nats-server compares a "$2a$..." password with bcrypt). Topics are subjects here: an
            # MQTT topic a/b/c is the subject a.b.c, + is *, # is >. Each gateway publishes only its own topics and receives
            # only its commands and inventory pushes; the cloud reads what it consumes and may use JetStream on $MQTT_msgs only;
            # the viewer only reads. A publish outside these is dropped (an MQTT client still gets its PUBACK) and logged as a
            # "Publish Violation"; nothing of it reaches the stream.
            authorization {
              timeout: 5
              users: [

            """);
        foreach (var user in users)
        {
            var permissions = Permissions(user);
            text.Append($"    {{ user: {Quote(user.User)}, password: {Quote(hashOf(user.User))}, allowed_connection_types: {List(permissions.ConnectionTypes)},\n");
            text.Append("      permissions: {\n");
            text.Append(permissions.Publish.Count == 0
                ? "        publish: { deny: [\">\"] }\n"
                : $"        publish: {{ allow: {List(permissions.Publish)} }}\n");
            text.Append($"        subscribe: {{ allow: {List(permissions.Subscribe)} }}\n");
            text.Append("      } }\n");
        }

        text.Append("  ]\n}\n");
        return text.ToString();
    }

    /// <summary>The bcrypt hash of each user in a users.conf this wrote, so a re-run can keep a hash that still matches.</summary>
    public static IReadOnlyDictionary<string, string> HashesIn(string? usersConf)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in (usersConf ?? "").Split('\n'))
        {
            var match = System.Text.RegularExpressions.Regex.Match(line, "\\{ user: \"([^\"]+)\", password: \"([^\"]+)\"");
            if (match.Success)
            {
                hashes[match.Groups[1].Value] = match.Groups[2].Value;
            }
        }

        return hashes;
    }

    private static string Quote(string value) => value.Contains('"', StringComparison.Ordinal) || value.Contains('\\', StringComparison.Ordinal)
        ? throw new FormatException($"'{value}' cannot be written into a NATS config")
        : $"\"{value}\"";

    private static string List(IEnumerable<string> values) => "[" + string.Join(", ", values.Select(Quote)) + "]";
}

/// <summary>One user's NATS permissions: subjects it may publish to, subscribe to, and how it may connect.</summary>
public sealed record NatsPermissions(IReadOnlyList<string> Publish, IReadOnlyList<string> Subscribe, IReadOnlyList<string> ConnectionTypes);
