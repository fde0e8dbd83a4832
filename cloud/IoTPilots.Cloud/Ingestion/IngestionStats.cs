using System.Diagnostics.Metrics;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>Counters of the ingestion pipeline: the cloud service's Meter, and the numbers the demo summary prints.</summary>
public sealed class IngestionStats : IDisposable
{
    public const string MeterName = "IoTPilots.Cloud";
    private readonly Meter _meter = new(MeterName);
    private long _messages;
    private long _readings;
    private long _linesWritten;
    private long _rejected;
    private long _writeErrors;
    private long _pendingLines;
    private long _messagesStored;

    public IngestionStats()
    {
        _meter.CreateObservableCounter("pilots.ingest.messages", () => Messages, description: "Valid telemetry messages received");
        _meter.CreateObservableCounter("pilots.ingest.readings", () => Readings, description: "Readings in valid messages");
        _meter.CreateObservableCounter("pilots.ingest.lines_written", () => LinesWritten, description: "Line-protocol points stored in InfluxDB");
        _meter.CreateObservableCounter("pilots.ingest.rejected", () => Rejected, description: "Messages refused by the contract");
        _meter.CreateObservableCounter("pilots.ingest.write_errors", () => WriteErrors, description: "Failed InfluxDB writes (retried)");
        _meter.CreateObservableCounter("pilots.ingest.messages_stored", () => MessagesStored, description: "Messages stored and acknowledged (valid or quarantined)");
        _meter.CreateObservableGauge("pilots.ingest.pending_lines", () => PendingLines, description: "Lines waiting to be written");
    }

    public long Messages => Interlocked.Read(ref _messages);

    public long Readings => Interlocked.Read(ref _readings);

    public long LinesWritten => Interlocked.Read(ref _linesWritten);

    public long Rejected => Interlocked.Read(ref _rejected);

    public long WriteErrors => Interlocked.Read(ref _writeErrors);

    /// <summary>Messages whose lines are stored (telemetry, gap reports and quarantined ones), so they can be acknowledged.</summary>
    public long MessagesStored => Interlocked.Read(ref _messagesStored);

    public long PendingLines => Interlocked.Read(ref _pendingLines);

    public Dictionary<Contract.RejectReason, long> RejectedByReason { get; } = [];

    public void Received(int readings, int lines)
    {
        Interlocked.Increment(ref _messages);
        Interlocked.Add(ref _readings, readings);
        Interlocked.Add(ref _pendingLines, lines);
    }

    public void Written(int lines)
    {
        Interlocked.Add(ref _linesWritten, lines);
        Interlocked.Add(ref _pendingLines, -lines);
    }

    public void Stored(int messages) => Interlocked.Add(ref _messagesStored, messages);

    public void Dropped(int lines) => Interlocked.Add(ref _pendingLines, -lines);

    public void Reject(Contract.RejectReason reason)
    {
        Interlocked.Increment(ref _rejected);
        lock (RejectedByReason)
        {
            RejectedByReason[reason] = RejectedByReason.GetValueOrDefault(reason) + 1;
        }
    }

    public void WriteError() => Interlocked.Increment(ref _writeErrors);

    public void Dispose() => _meter.Dispose();
}
