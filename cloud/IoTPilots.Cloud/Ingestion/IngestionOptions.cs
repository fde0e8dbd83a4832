using IoTPilots.Cloud.Influx;
using IoTPilots.Config;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>Settings of the ingestion pipeline, from the environment (see README, "Configuration").</summary>
public sealed record IngestionOptions(MqttEndpoint Broker, InfluxEndpoint Influx, string Group, string Worker)
{
    /// <summary>
    /// A group commit holds at most this many lines [issue 5: at most 5000 lines]; it is written as soon as a
    /// write slot is free, so there is no batch delay to wait out.
    /// </summary>
    public int MaxBatchLines { get; init; } = 5000;

    /// <summary>
    /// Unacknowledged messages in flight, at most: sent to the broker as MQTT 5 receive-maximum (so the protocol's
    /// largest, 65535) and the size of the pipeline's queue. A window the cloud fills only when it is seconds behind,
    /// so the broker's own flow control is rarely in play (cloud README, "Overload").
    /// </summary>
    public int MaxInFlight { get; init; } = 65535;

    /// <summary>InfluxDB writes in flight at once; each carries whatever arrived while the others were being written.</summary>
    public int Writers { get; init; } = 2;

    public string Filter => $"$share/{Group}/{Contract.Topics.AllTelemetry}";

    public string GapFilter => $"$share/{Group}/{Contract.Topics.AllGaps}";

    /// <summary>The NATS mode (<c>PILOTS_NATS_URL</c>, docs/scaling.md): the shared subscription becomes a JetStream durable consumer; null: Mosquitto.</summary>
    public IoTPilots.Cloud.Nats.NatsOptions? Nats { get; init; }

    /// <summary>How often the delivery summary is computed and written; zero turns it off for this worker.</summary>
    public TimeSpan DeliveryInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest delivery-summary interval accepted: a day.</summary>
    public static readonly TimeSpan MaxDeliveryInterval = TimeSpan.FromDays(1);

    /// <summary>
    /// Reads and checks the ingestion's variables (root README, "variables") once, at start: a value that is given
    /// but wrong is a <see cref="FormatException"/> naming the variable, never the default.
    /// </summary>
    public static IngestionOptions FromEnvironment(Func<string, string?> env)
    {
        var settings = new SettingsReader(env);
        var group = settings.String("PILOTS_INGEST_GROUP", "ingest");
        // MQTT 5.0 section 4.8.2: a ShareName must not contain "/", "+" or "#" (it sits between "$share/" and the filter).
        if (group.IndexOfAny(['/', '+', '#']) >= 0)
        {
            throw SettingsReader.Error("PILOTS_INGEST_GROUP", group, "is not a shared-subscription name (no '/', '+' or '#', MQTT 5.0 section 4.8.2)");
        }

        var mqttUrl = settings.String("PILOTS_MQTT_URL", "mqtt://127.0.0.1:1883");
        MqttEndpoint broker;
        try
        {
            broker = MqttEndpoint.Parse(mqttUrl);
        }
        catch (FormatException)
        {
            // Said again here so that the message masks the password the URL may carry.
            throw SettingsReader.Error("PILOTS_MQTT_URL", mqttUrl, "is not an MQTT URL (expected mqtt://[user:pass@]host[:port] or mqtts://...)");
        }

        var nats = IoTPilots.Cloud.Nats.NatsOptions.FromEnvironment(env);
        if (nats is not null && !broker.Mqtt311)
        {
            // NATS's MQTT gateway refuses MQTT 5 (nats-server 2.9 serves 3.1.1 only).
            throw SettingsReader.Error("PILOTS_MQTT_URL", mqttUrl, "must name the NATS cluster's MQTT port with ?protocol=3.1.1 when PILOTS_NATS_URL is set");
        }

        return new(
            broker.WithTlsFromEnvironment(env),
            InfluxEndpoint.FromEnvironment(env),
            group,
            settings.String("PILOTS_INGEST_WORKER", "1"))
        {
            DeliveryInterval = settings.Seconds("PILOTS_DELIVERY_INTERVAL_S", TimeSpan.FromSeconds(10), TimeSpan.Zero, MaxDeliveryInterval),
            Nats = nats,
        };
    }
}
