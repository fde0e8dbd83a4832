using IoTPilots.Cloud.Influx;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>Settings of the ingestion pipeline, from the environment (see README, "Configuration").</summary>
public sealed record IngestionOptions(MqttEndpoint Broker, InfluxEndpoint Influx, string Group, string Worker)
{
    /// <summary>Flush a batch at this many lines [issue 5: at most 5000 lines or 1 s].</summary>
    public int MaxBatchLines { get; init; } = 5000;

    public TimeSpan MaxBatchDelay { get; init; } = TimeSpan.FromSeconds(1);

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

    /// <summary>How often the delivery summary is computed and written; zero turns it off for this worker.</summary>
    public TimeSpan DeliveryInterval { get; init; } = TimeSpan.FromSeconds(10);

    public static IngestionOptions FromEnvironment(Func<string, string?> env) => new(
        MqttEndpoint.Parse(env("PILOTS_MQTT_URL") ?? "mqtt://127.0.0.1:1883"),
        InfluxEndpoint.FromEnvironment(env),
        env("PILOTS_INGEST_GROUP") is { Length: > 0 } g ? g : "ingest",
        env("PILOTS_INGEST_WORKER") is { Length: > 0 } w ? w : "1")
    {
        DeliveryInterval = env("PILOTS_DELIVERY_INTERVAL_S") is { Length: > 0 } d && double.TryParse(d, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds >= 0
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromSeconds(10),
    };
}
