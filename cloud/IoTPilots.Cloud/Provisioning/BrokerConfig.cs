namespace IoTPilots.Cloud.Provisioning;

/// <summary>Where the broker's files live on the broker host and where it listens.</summary>
/// <param name="BrokerDir">Folder of mosquitto.conf, acl, passwords, ca.crt, server.crt and server.key on the broker host.</param>
/// <param name="DataDir">Mosquitto's persistence folder.</param>
/// <param name="Port">The TLS listener with passwords.</param>
/// <param name="CertPort">The mutual-TLS listener (only with client certificates).</param>
/// <param name="Bind">The address the listeners bind to; null: every interface (a broker in a container must, or no other container reaches it).</param>
/// <param name="ClientCerts">Also a listener that requires a client certificate signed by the CA, whose CN is the MQTT user.</param>
public sealed record BrokerLayout(
    string BrokerDir = BrokerLayout.DefaultBrokerDir,
    string DataDir = "/var/lib/mosquitto",
    int Port = 8883,
    int CertPort = 8884,
    string? Bind = null,
    bool ClientCerts = false)
{
    public const string DefaultBrokerDir = "/etc/mosquitto/iotpilots";
}

/// <summary>
/// The text of Mosquitto 2.0's mosquitto.conf for the platform (pure). deploy/mosquitto/mosquitto.conf is this
/// with the defaults, and a unit test keeps the two equal.
/// </summary>
public static class BrokerConfig
{
    public static string Render(BrokerLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var dir = layout.BrokerDir.TrimEnd('/');
        var bind = layout.Bind is { } address ? " " + address : "";
        var certificateListener = layout.ClientCerts
            ? $"""

              # Mutual TLS: the client's certificate must be signed by ca.crt, and its CN is the MQTT user (no password).
              listener {layout.CertPort}{bind}
              certfile {dir}/server.crt
              keyfile {dir}/server.key
              cafile {dir}/ca.crt
              tls_version tlsv1.2
              require_certificate true
              use_identity_as_username true

              """
            : $"""

              # Client certificates instead of passwords: ./run provision --client-certs adds a listener on {layout.CertPort}
              # with require_certificate true and use_identity_as_username true.

              """;
        return $"""
            # Mosquitto 2.0 for IoT Pilots, written by ./run provision (deploy/README.md): TLS only, no anonymous clients,
            # a password per gateway and an ACL that lets each gateway publish only under its own id.
            # Every file below is written by ./run provision into one folder; install it as {dir}.
            per_listener_settings false
            allow_anonymous false
            password_file {dir}/passwords
            acl_file {dir}/acl

            # Gateways and cloud workers connect over TLS, with a user and password. No plain listener: the cloud,
            # in a container or not, connects here too.
            listener {layout.Port}{bind}
            certfile {dir}/server.crt
            keyfile {dir}/server.key
            cafile {dir}/ca.crt
            tls_version tlsv1.2
            {certificateListener}
            persistence true
            persistence_location {layout.DataDir.TrimEnd('/')}/
            # Sessions, subscriptions and queued messages are saved every 10 s and on a clean stop. A broker crash
            # (not a stop) can lose what changed since the last save: the edge has already been acknowledged for it.
            # Where that matters, run a clustered broker with synchronous persistence (EMQX, HiveMQ).
            autosave_interval 10

            # Delivery: cloud workers acknowledge only after storing, in batches of up to a second, so allow enough
            # messages in flight; and hold an offline persistent session's backlog instead of dropping it at the
            # default 1000 messages. The byte cap keeps a runaway backlog from exhausting the disk.
            max_inflight_messages 1000
            max_queued_messages 0
            max_queued_bytes 1073741824
            max_packet_size 300000

            # Logs to standard output: the journal under systemd, `docker compose logs` in a container.
            log_dest stdout
            log_type error
            log_type warning
            log_type notice
            connection_messages true

            """;
    }
}
