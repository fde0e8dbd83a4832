using System.Diagnostics.Metrics;

namespace IoTPilots.Edge;

/// <summary>The edge agent's one Meter: counts that matter on a gateway.</summary>
public sealed class EdgeMetrics : IDisposable
{
    public const string MeterName = "IoTPilots.Edge";
    private readonly Meter _meter = new(MeterName);

    public EdgeMetrics()
    {
        Readings = _meter.CreateCounter<long>("pilots.edge.readings", description: "Readings produced by polling, any quality");
        CommFailures = _meter.CreateCounter<long>("pilots.edge.comm_failures", description: "Readings with quality comm-failure");
        Published = _meter.CreateCounter<long>("pilots.edge.messages_published", description: "Telemetry messages acknowledged by the broker");
        Dropped = _meter.CreateCounter<long>("pilots.edge.readings_dropped", description: "Readings the queue refused (byte budget full, drop-newest)");
        Commands = _meter.CreateCounter<long>("pilots.edge.commands", description: "Commands from the cloud and the gateway's own switch-offs, by outcome and reason");
    }

    public Counter<long> Commands { get; }

    public Counter<long> Readings { get; }

    public Counter<long> CommFailures { get; }

    public Counter<long> Published { get; }

    public Counter<long> Dropped { get; }

    public void Dispose() => _meter.Dispose();
}
