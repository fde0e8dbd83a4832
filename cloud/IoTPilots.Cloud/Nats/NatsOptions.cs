using IoTPilots.Config;

namespace IoTPilots.Cloud.Nats;

/// <summary>
/// The clustered ingestion mode (docs/scaling.md): set <c>PILOTS_NATS_URL</c> to the NATS cluster's client URLs
/// (<c>nats://127.0.0.1:4222,nats://127.0.0.1:4223</c>) and the ingestion reads through a JetStream durable consumer
/// instead of an MQTT shared subscription. Unset: the Mosquitto mode.
/// </summary>
/// <param name="Url">The seed servers, comma-separated, as NATS.Net takes them.</param>
public sealed record NatsOptions(string Url)
{
    /// <summary>
    /// How long a message handed to a worker may stay unacknowledged before JetStream gives it to another one. Long
    /// enough for a group commit held by a slow InfluxDB (the pipeline retries with backoff up to 10 s), short enough
    /// that a worker killed with -9 delays its messages by that much only (<c>PILOTS_NATS_ACK_WAIT_S</c>).
    /// </summary>
    public TimeSpan AckWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <returns>Null when <c>PILOTS_NATS_URL</c> is unset or empty (the Mosquitto mode).</returns>
    /// <exception cref="FormatException">A URL in the list is not <c>nats://host[:port]</c>; the message names the variable.</exception>
    public static NatsOptions? FromEnvironment(Func<string, string?> env)
    {
        var settings = new SettingsReader(env);
        if (settings.Optional("PILOTS_NATS_URL") is not { } url)
        {
            return null;
        }

        foreach (var part in url.Split(','))
        {
            if (!Uri.TryCreate(part.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls") || uri.Host.Length == 0)
            {
                throw SettingsReader.Error("PILOTS_NATS_URL", url, "is not a list of NATS URLs (expected nats://host[:port][,nats://host[:port]...])");
            }
        }

        return new NatsOptions(url)
        {
            AckWait = settings.Seconds("PILOTS_NATS_ACK_WAIT_S", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)),
        };
    }
}
