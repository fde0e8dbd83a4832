using System.Globalization;
using System.Text;
using IoTPilots.Contract;

namespace IoTPilots.Cloud.Influx;

/// <summary>
/// InfluxDB line protocol (the format shared by InfluxDB 1.x, 2.x and 3.x):
/// <c>measurement,tag=v,tag=v field=1.5,field2="s" 1700000000000</c>, with millisecond timestamps.
/// Escaping rules: measurement escapes comma and space; tag keys, tag values and field keys escape comma,
/// equals sign and space; string field values escape double quote and backslash. Backslashes in keys are
/// left alone: InfluxDB 1.x keeps them literally. Newlines cannot be escaped anywhere, so they become
/// escaped spaces. Pure.
/// </summary>
public static class LineProtocol
{
    /// <summary>Good readings: one point per device and sampling time, one field per signal.</summary>
    public const string TelemetryMeasurement = "telemetry";

    /// <summary>Readings that are not good: one point per signal, with tag <c>field</c> and a string <c>quality</c>.</summary>
    public const string QualityMeasurement = "telemetry_quality";

    /// <summary>
    /// The raw delivery ledger: which sequence numbers were stored, per gateway, numbering epoch (tag <c>epoch</c>,
    /// absent for gateways that send none), kind and worker, as range points (<see cref="DeliveryLedger"/>) in a
    /// retention policy of their own. The entry lines <see cref="Ledger"/> makes are folded into them before writing.
    /// </summary>
    public const string LedgerMeasurement = "delivery_ledger";

    /// <summary>The accountant's rolling summary per gateway and epoch: the stored seqs as ranges, and how far it has read.</summary>
    public const string EpochMeasurement = "delivery_epoch";

    /// <summary>The edge's gap reports: what its queue dropped, by sequence range.</summary>
    public const string GapMeasurement = "delivery_gap";

    /// <summary>Per-gateway delivery summary: received, missing and dropped message counts.</summary>
    public const string DeliveryMeasurement = "delivery";

    /// <summary>Alert events (raised, updated, resolved, acknowledged), for dashboards and the pilot report.</summary>
    public const string AlertMeasurement = "alerts";

    /// <summary>Messages refused by the contract, with the reason; never the telemetry itself.</summary>
    public const string QuarantineMeasurement = "quarantine";

    /// <summary>A ledger entry: one stored message (see <see cref="DeliveryLedger.Fold"/>).</summary>
    public static string Ledger(string gateway, string epoch, long seq, string kind) =>
        $"{LedgerMeasurement},{EpochTag(epoch)}gateway={EscapeKey(gateway)},kind={kind} seq={seq.ToString(CultureInfo.InvariantCulture)}i {seq.ToString(CultureInfo.InvariantCulture)}";

    public static string Gap(GapReport gap) =>
        $"{GapMeasurement},{EpochTag(gap.Epoch)}gateway={EscapeKey(gap.Gateway)},site={EscapeKey(gap.Site)} first_seq={gap.FirstSeq}i,last_seq={gap.LastSeq}i,messages={gap.Messages}i,unnumbered={gap.Messages - gap.NumberedMessages}i,readings={gap.Readings}i," +
        $"from={gap.From.ToUnixTimeMilliseconds()}i,to={gap.To.ToUnixTimeMilliseconds()}i,reason={EscapeStringField(gap.Reason)} {gap.Seq.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>One alert event at its time (the edge's sampling time for rule events, the clock for acknowledgements).</summary>
    public static string AlertEvent(long alertId, string transition, string ruleId, Rules.Severity severity, Rules.SeriesKey series, string field, double? value, string messageEn, DateTimeOffset at)
    {
        var fields = $"alert_id={alertId.ToString(CultureInfo.InvariantCulture)}i";
        if (value is { } v && double.IsFinite(v))
        {
            fields += $",value={v.ToString("R", CultureInfo.InvariantCulture)}";
        }

        return $"{AlertMeasurement},device={EscapeKey(series.Device)},event={transition},field={EscapeKey(field)},gateway={EscapeKey(series.Gateway)},pilot={EscapeKey(series.Pilot)}," +
            $"rule={EscapeKey(ruleId)},severity={severity.ToString().ToLowerInvariant()},site={EscapeKey(series.Site)} {fields},message={EscapeStringField(messageEn)} {at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}";
    }

    // Tags in key order, as InfluxDB prefers: epoch sorts before gateway. No tag at all for an empty epoch.
    private static string EpochTag(string epoch) => epoch.Length > 0 ? $"epoch={EscapeKey(epoch)}," : "";

    public static string Quarantine(RejectReason reason, string topic, string error, int bytes, long timestampMs) =>
        Quarantine(reason.ToString(), topic, error, bytes, timestampMs);

    /// <summary>A quarantine point for a reason outside the contract's (e.g. InfluxDB refusing a line; then <paramref name="topic"/> names its series).</summary>
    public static string Quarantine(string reason, string topic, string error, int bytes, long timestampMs) =>
        $"{QuarantineMeasurement},reason={EscapeKey(reason)} topic={EscapeStringField(topic.Length > 200 ? topic[..200] : topic)}," +
        $"error={EscapeStringField(error.Length > 500 ? error[..500] : error)},bytes={bytes.ToString(CultureInfo.InvariantCulture)}i {timestampMs.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The rolling summary of one epoch; time 0, so each write replaces the last.</summary>
    public static string Epoch(string gateway, string epoch, long received, long maxSeq, string ranges, long cursorMs) =>
        $"{EpochMeasurement},{EpochTag(epoch)}gateway={EscapeKey(gateway)} received={received}i,max_seq={maxSeq}i,ranges={EscapeStringField(ranges)},cursor={cursorMs}i 0";

    public static string Delivery(string gateway, long received, long missing, long dropped, long timestampMs) =>
        $"{DeliveryMeasurement},gateway={EscapeKey(gateway)} received={received}i,missing={missing}i,dropped={dropped}i {timestampMs.ToString(CultureInfo.InvariantCulture)}";

    public static string EscapeMeasurement(string s) => Escape(s, escapeEquals: false);

    public static string EscapeKey(string s) => Escape(s, escapeEquals: true);

    public static string EscapeStringField(string s) =>
        "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace('\n', ' ') + "\"";

    /// <summary>Floats are always written as floats (never as integers) so a field never changes type.</summary>
    public static string FormatFloat(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Builds the lines for one message: the storage schema documented in README.md.</summary>
    public static List<string> FromMessage(TelemetryMessage message)
    {
        var tags = Tags(message);
        var lines = new List<string>();
        foreach (var group in message.Readings.Where(r => r.Quality == Quality.Good).GroupBy(r => r.Timestamp.ToUnixTimeMilliseconds()))
        {
            var sb = new StringBuilder(TelemetryMeasurement).Append(tags).Append(' ');
            var first = true;
            // A signal sampled twice at one millisecond keeps its last value, as InfluxDB itself would.
            foreach (var r in group.GroupBy(r => r.Field).Select(g => g.Last()))
            {
                sb.Append(first ? "" : ",").Append(EscapeKey(r.Field)).Append('=').Append(FormatFloat(r.Value!.Value));
                first = false;
            }

            lines.Add(sb.Append(' ').Append(group.Key.ToString(CultureInfo.InvariantCulture)).ToString());
        }

        foreach (var r in message.Readings.Where(r => r.Quality != Quality.Good))
        {
            var sb = new StringBuilder(QualityMeasurement).Append(tags)
                .Append(",field=").Append(EscapeKey(r.Field))
                .Append(" quality=").Append(EscapeStringField(r.Quality.ToWire()));
            if (r.Value is { } v)
            {
                sb.Append(",value=").Append(FormatFloat(v));
            }

            lines.Add(sb.Append(' ').Append(r.Timestamp.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)).ToString());
        }

        return lines;
    }

    /// <summary>Tags in key order, as InfluxDB recommends for write performance.</summary>
    private static string Tags(TelemetryMessage m) =>
        $",device={EscapeKey(m.Device)},gateway={EscapeKey(m.Gateway)},pilot={EscapeKey(m.Pilot)},site={EscapeKey(m.Site)}";

    private static string Escape(string s, bool escapeEquals)
    {
        var sb = new StringBuilder(s.Length + 8);
        foreach (var c in s)
        {
            switch (c)
            {
                case ',':
                case ' ':
                    sb.Append('\\').Append(c);
                    break;
                case '=' when escapeEquals:
                    sb.Append("\\=");
                    break;
                case '\n':
                case '\r':
                    sb.Append("\\ ");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        return sb.ToString();
    }
}
