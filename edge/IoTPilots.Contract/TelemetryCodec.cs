using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace IoTPilots.Contract;

/// <summary>Why a payload was refused; the name is what gets counted and logged.</summary>
public enum RejectReason
{
    None,
    Oversized,
    MalformedJson,
    UnknownVersion,
    MissingField,
    InvalidField,
    NonFiniteValue,
    TimestampOutOfRange,
    TopicMismatch,
    UnknownDevice,
}

/// <summary>The result of decoding: a message, or the reason and a sentence naming the offending field.</summary>
public readonly record struct DecodeResult(TelemetryMessage? Message, RejectReason Reason, string Error)
{
    public bool Ok => Message is not null;

    public static DecodeResult Fail(RejectReason reason, string error) => new(null, reason, error);
}

/// <summary>
/// JSON encoding of <see cref="TelemetryMessage"/>, contract version 1. Decoding validates everything a
/// consumer relies on, so nothing downstream has to check again. See telemetry.schema.json.
/// </summary>
public static class TelemetryCodec
{
    /// <summary>Readings stamped before this are refused: no pilot existed then, so the clock is wrong.</summary>
    public static readonly DateTimeOffset EarliestTimestamp = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Readings stamped further ahead than this are refused as a wrong clock.</summary>
    public static readonly TimeSpan MaxClockAhead = TimeSpan.FromDays(1);

    public static byte[] Encode(TelemetryMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + (message.Readings.Count * 96));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("v", TelemetryMessage.CurrentVersion);
            json.WriteString("pilot", message.Pilot);
            json.WriteString("site", message.Site);
            json.WriteString("gateway", message.Gateway);
            json.WriteString("device", message.Device);
            json.WriteNumber("seq", message.Seq);
            if (message.Epoch.Length > 0)
            {
                json.WriteString("epoch", message.Epoch);
            }

            json.WriteStartArray("readings");
            foreach (var r in message.Readings)
            {
                json.WriteStartObject();
                json.WriteString("field", r.Field);
                json.WriteNumber("ts", r.Timestamp.ToUnixTimeMilliseconds());
                if (r.Value is { } value && double.IsFinite(value))
                {
                    json.WriteNumber("value", value);
                }
                else
                {
                    json.WriteNull("value");
                }

                json.WriteString("unit", r.Unit);
                json.WriteString("q", r.Quality.ToWire());
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes and validates a payload received on <paramref name="topic"/> at <paramref name="now"/>.</summary>
    public static DecodeResult Decode(ReadOnlySpan<byte> payload, string topic, DateTimeOffset now)
    {
        if (payload.Length > TelemetryMessage.MaxBytes)
        {
            return DecodeResult.Fail(RejectReason.Oversized, $"payload is {payload.Length} bytes; the limit is {TelemetryMessage.MaxBytes}");
        }

        if (!Topics.TryParseTelemetry(topic, out var topicSite, out var topicGateway, out var topicDevice))
        {
            return DecodeResult.Fail(RejectReason.TopicMismatch, $"topic '{topic}' is not pilots/v1/{{site}}/{{gateway}}/{{device}}/telemetry");
        }

        JsonDocument doc;
        try
        {
            var bytes = payload.ToArray();
            doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            return DecodeResult.Fail(RejectReason.MalformedJson, $"malformed JSON: {ex.Message}");
        }

        using (doc)
        {
            try
            {
                return DecodeRoot(doc.RootElement, topicSite, topicGateway, topicDevice, now);
            }
            catch (ContractException ex)
            {
                return DecodeResult.Fail(ex.Reason, ex.Message);
            }
        }
    }

    private static DecodeResult DecodeRoot(JsonElement root, string topicSite, string topicGateway, string topicDevice, DateTimeOffset now)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ContractException(RejectReason.MalformedJson, "payload must be a JSON object");
        }

        var version = GetProperty(root, "v", JsonValueKind.Number, "$");
        if (!version.TryGetInt32(out var v) || v != TelemetryMessage.CurrentVersion)
        {
            throw new ContractException(RejectReason.UnknownVersion, $"$.v: contract version {version.GetRawText()} is not supported (expected {TelemetryMessage.CurrentVersion})");
        }

        var pilot = GetString(root, "pilot", "$");
        if (!Pilots.IsKnown(pilot))
        {
            throw new ContractException(RejectReason.InvalidField, $"$.pilot: '{pilot}' is not one of {string.Join(", ", Pilots.All)}");
        }

        var site = GetId(root, "site");
        var gateway = GetId(root, "gateway");
        var device = GetId(root, "device");
        if (site != topicSite || gateway != topicGateway || device != topicDevice)
        {
            throw new ContractException(
                RejectReason.TopicMismatch,
                $"payload names {site}/{gateway}/{device} but was published on the topic of {topicSite}/{topicGateway}/{topicDevice}");
        }

        var seqElement = GetProperty(root, "seq", JsonValueKind.Number, "$");
        if (!seqElement.TryGetInt64(out var seq) || seq < 0)
        {
            throw new ContractException(RejectReason.InvalidField, $"$.seq: expected a non-negative integer, got {seqElement.GetRawText()}");
        }

        var epoch = "";
        if (root.TryGetProperty("epoch", out var epochElement))
        {
            epoch = epochElement.ValueKind == JsonValueKind.String ? epochElement.GetString()! : "\0";
            if (epoch.Length == 0 || !TelemetryMessage.IsValidEpoch(epoch))
            {
                throw new ContractException(
                    RejectReason.InvalidField,
                    $"$.epoch: expected 1 to {TelemetryMessage.MaxEpochLength} characters of A-Z a-z 0-9 . _ : -, got {epochElement.GetRawText()}");
            }
        }

        var array = GetProperty(root, "readings", JsonValueKind.Array, "$");
        var count = array.GetArrayLength();
        if (count == 0 || count > TelemetryMessage.MaxReadings)
        {
            throw new ContractException(RejectReason.InvalidField, $"$.readings: expected 1 to {TelemetryMessage.MaxReadings} readings, got {count}");
        }

        var readings = new List<Reading>(count);
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            readings.Add(DecodeReading(item, $"$.readings[{i}]", now));
            i++;
        }

        return new DecodeResult(new TelemetryMessage(pilot, site, gateway, device, seq, readings) { Epoch = epoch }, RejectReason.None, "");
    }

    private static Reading DecodeReading(JsonElement item, string path, DateTimeOffset now)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new ContractException(RejectReason.InvalidField, $"{path}: expected an object");
        }

        var field = GetString(item, "field", path);
        if (!Identifiers.IsValidField(field))
        {
            throw new ContractException(RejectReason.InvalidField, $"{path}.field: '{field}' is not valid: {Identifiers.FieldRule}");
        }

        var tsElement = GetProperty(item, "ts", JsonValueKind.Number, path);
        if (!tsElement.TryGetInt64(out var tsMs))
        {
            throw new ContractException(RejectReason.InvalidField, $"{path}.ts: expected integer milliseconds since 1970-01-01 UTC, got {tsElement.GetRawText()}");
        }

        var ts = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(tsMs, -62135596800000L, 253402300799999L));
        if (ts < EarliestTimestamp || ts > now + MaxClockAhead)
        {
            throw new ContractException(
                RejectReason.TimestampOutOfRange,
                $"{path}.ts: {ts.ToString("O", CultureInfo.InvariantCulture)} is before {EarliestTimestamp:yyyy-MM-dd} or more than {MaxClockAhead.TotalHours:0} h ahead of the receiver's clock");
        }

        var qText = GetString(item, "q", path);
        if (!QualityNames.TryParse(qText, out var quality))
        {
            throw new ContractException(RejectReason.InvalidField, $"{path}.q: '{qText}' is not one of good, bad, stale, comm-failure");
        }

        double? value = null;
        if (item.TryGetProperty("value", out var valueElement) && valueElement.ValueKind != JsonValueKind.Null)
        {
            if (valueElement.ValueKind == JsonValueKind.String)
            {
                // Some JSON writers emit NaN and Infinity as strings; they are never valid here.
                throw new ContractException(RejectReason.NonFiniteValue, $"{path}.value: expected a finite number, got {valueElement.GetRawText()}");
            }

            if (valueElement.ValueKind != JsonValueKind.Number || !valueElement.TryGetDouble(out var d) || !double.IsFinite(d))
            {
                throw new ContractException(RejectReason.NonFiniteValue, $"{path}.value: expected a finite number, got {valueElement.GetRawText()}");
            }

            value = d;
        }

        if (value is null && quality == Quality.Good)
        {
            throw new ContractException(RejectReason.InvalidField, $"{path}.value: a reading of quality good must carry a value");
        }

        var unit = item.TryGetProperty("unit", out var unitElement) && unitElement.ValueKind == JsonValueKind.String
            ? unitElement.GetString() ?? ""
            : "";
        return new Reading(field, ts, value, unit, quality);
    }

    private static string GetId(JsonElement root, string name)
    {
        var id = GetString(root, name, "$");
        if (!Identifiers.IsValid(id))
        {
            throw new ContractException(RejectReason.InvalidField, $"$.{name}: '{id}' is not valid: {Identifiers.Rule}");
        }

        return id;
    }

    private static string GetString(JsonElement obj, string name, string path) =>
        GetProperty(obj, name, JsonValueKind.String, path).GetString()!;

    private static JsonElement GetProperty(JsonElement obj, string name, JsonValueKind kind, string path)
    {
        if (!obj.TryGetProperty(name, out var element))
        {
            throw new ContractException(RejectReason.MissingField, $"{path}.{name}: required field is missing");
        }

        if (element.ValueKind != kind)
        {
            throw new ContractException(RejectReason.InvalidField, $"{path}.{name}: expected {kind.ToString().ToLowerInvariant()}, got {element.ValueKind.ToString().ToLowerInvariant()}");
        }

        return element;
    }

    private sealed class ContractException(RejectReason reason, string message) : Exception(message)
    {
        public RejectReason Reason { get; } = reason;
    }
}
