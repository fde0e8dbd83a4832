using System.Globalization;
using System.Text.Json;

namespace IoTPilots.Contract;

/// <summary>
/// A command from the cloud to one writable point of one device behind a gateway, on
/// <see cref="Topics.Command"/>: set <see cref="Point"/> of <see cref="Device"/> to <see cref="Value"/>
/// (engineering units). It names who issued it and when it stops being valid, and carries an HMAC-SHA256 over all
/// of that (<see cref="CommandSignature"/>) with the gateway's own key, so neither a broker user allowed to
/// publish there nor a replayed copy can make a gateway act.
/// </summary>
public sealed record CommandMessage(
    string Id,
    string Site,
    string Gateway,
    string Device,
    string Point,
    double Value,
    string IssuedBy,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string? Signature = null);

/// <summary>How a command ended at the gateway. Every command gets one result: nothing happens silently.</summary>
public enum CommandOutcome
{
    /// <summary>Written, and (when the point asks for it) read back equal.</summary>
    Done,

    /// <summary>Refused before anything reached the device; <see cref="CommandResult.Reason"/> says why.</summary>
    Refused,

    /// <summary>Allowed, but the device did not answer or did not take the value.</summary>
    Failed,
}

/// <summary>The gateway's answer to a command, on <see cref="Topics.CommandResult"/>.</summary>
/// <param name="Reason">A stable code (<see cref="CommandReasons"/>), for counting and for the console's text.</param>
/// <param name="Detail">For people: what exactly was wrong, naming the field or the limit.</param>
public sealed record CommandResult(string Id, string Site, string Gateway, CommandOutcome Outcome, string Reason, string Detail, double? ReadBack, DateTimeOffset At)
{
    /// <summary>Who asked: the command's user, or <c>gateway:max_run</c> when the gateway switched a point off itself.</summary>
    public string? IssuedBy { get; init; }

    /// <summary>The device, point and value asked for, when the command could be read: a result then stands on its own in a log or an alert's history.</summary>
    public string? Device { get; init; }

    public string? Point { get; init; }

    public double? Value { get; init; }
}

/// <summary>The reason codes of <see cref="CommandResult"/>.</summary>
public static class CommandReasons
{
    public const string Ok = "ok";
    public const string Malformed = "malformed";
    public const string Unsigned = "unsigned";
    public const string BadSignature = "bad-signature";
    public const string Expired = "expired";
    public const string TooLong = "lifetime-too-long";
    public const string Replayed = "replayed";
    public const string WrongGateway = "wrong-gateway";
    public const string UnknownDevice = "unknown-device";
    public const string UnknownPoint = "unknown-point";
    public const string NotWritable = "not-writable";
    public const string OutOfRange = "out-of-range";
    public const string TooSoon = "too-soon";
    public const string Locked = "locked";
    public const string Unreachable = "unreachable";
    public const string ReadBackMismatch = "read-back-mismatch";

    /// <summary>The device answered the write with a Modbus exception (e.g. illegal data address): it is there but did not take it.</summary>
    public const string DeviceRefused = "device-refused";

    /// <summary>A result the gateway made on its own: a point ran longer than its <c>max_run</c> and was switched off.</summary>
    public const string MaxRun = "max-run";
}

/// <summary>
/// The signature of a command: HMAC-SHA256 (RFC 2104) with the gateway's key over a canonical text of every field
/// but the signature, one per line, times in Unix milliseconds and the value in round-trip notation, so the cloud
/// (.NET) and any other signer produce the same bytes. Compared in constant time.
/// </summary>
public static class CommandSignature
{
    public static string Canonical(CommandMessage c) => string.Join(
        '\n',
        "pilots-command-v1",
        c.Id,
        c.Site,
        c.Gateway,
        c.Device,
        c.Point,
        c.Value.ToString("R", CultureInfo.InvariantCulture),
        c.IssuedBy,
        c.IssuedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
        c.ExpiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));

    public static CommandMessage Sign(CommandMessage command, byte[] key) => command with { Signature = Hmac.Sign(Canonical(command), key) };

    public static bool Verify(CommandMessage command, byte[] key) => Hmac.Verify(Canonical(command), command.Signature, key);
}

/// <summary>JSON of commands and results (version 1). Decoding never throws: a bad payload gets an error naming the field.</summary>
public static class CommandCodec
{
    public static byte[] Encode(CommandMessage c) => GatewayJson.Encode(c.Site, c.Gateway, json =>
    {
        json.WriteString("id", c.Id);
        json.WriteString("device", c.Device);
        json.WriteString("point", c.Point);
        json.WriteNumber("value", c.Value);
        json.WriteString("issued_by", c.IssuedBy);
        json.WriteNumber("issued_at", c.IssuedAt.ToUnixTimeMilliseconds());
        json.WriteNumber("expires_at", c.ExpiresAt.ToUnixTimeMilliseconds());
        if (c.Signature is { } sig)
        {
            json.WriteString("sig", sig);
        }
    });

    public static byte[] Encode(CommandResult r) => GatewayJson.Encode(r.Site, r.Gateway, json =>
    {
        json.WriteString("id", r.Id);
        json.WriteString("outcome", r.Outcome.ToString().ToLowerInvariant());
        json.WriteString("reason", r.Reason);
        json.WriteString("detail", r.Detail);
        if (r.ReadBack is { } v)
        {
            json.WriteNumber("read_back", v);
        }

        json.WriteNumber("ts", r.At.ToUnixTimeMilliseconds());
        WriteOptional(json, "issued_by", r.IssuedBy);
        WriteOptional(json, "device", r.Device);
        WriteOptional(json, "point", r.Point);
        if (r.Value is { } value)
        {
            json.WriteNumber("value", value);
        }
    });

    /// <summary>Reads a command, or returns null with the field at fault in <paramref name="error"/>.</summary>
    public static CommandMessage? TryDecode(ReadOnlySpan<byte> payload, out string error)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object)
            {
                error = "a command must be a JSON object";
                return null;
            }

            if (!r.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.Number || v.GetInt32() != 1)
            {
                error = "v: only version 1 is understood";
                return null;
            }

            var command = new CommandMessage(
                Text(r, "id"),
                Segment(r, "site"),
                Segment(r, "gateway"),
                Segment(r, "device"),
                Field(r, "point"),
                Number(r, "value"),
                Text(r, "issued_by"),
                DateTimeOffset.FromUnixTimeMilliseconds((long)Number(r, "issued_at")),
                DateTimeOffset.FromUnixTimeMilliseconds((long)Number(r, "expires_at")),
                r.TryGetProperty("sig", out var sig) && sig.ValueKind == JsonValueKind.String ? sig.GetString() : null);
            error = "";
            return command;
        }
        catch (JsonException ex)
        {
            error = $"not JSON: {ex.Message}";
        }
        catch (FormatException ex)
        {
            error = ex.Message;
        }
        catch (ArgumentOutOfRangeException)
        {
            error = "issued_at or expires_at: not a time in Unix milliseconds";
        }

        return null;
    }

    /// <summary>Reads a result, or returns null with the field at fault in <paramref name="error"/>.</summary>
    public static CommandResult? TryDecodeResult(ReadOnlySpan<byte> payload, out string error)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var r = doc.RootElement;
            var outcome = Text(r, "outcome") switch
            {
                "done" => CommandOutcome.Done,
                "refused" => CommandOutcome.Refused,
                "failed" => CommandOutcome.Failed,
                var other => throw new FormatException($"outcome: '{other}' is not done, refused or failed"),
            };
            error = "";
            return new CommandResult(
                Text(r, "id"),
                Segment(r, "site"),
                Segment(r, "gateway"),
                outcome,
                Text(r, "reason"),
                Text(r, "detail"),
                Optional(r, "read_back"),
                DateTimeOffset.FromUnixTimeMilliseconds((long)Number(r, "ts")))
            {
                IssuedBy = OptionalText(r, "issued_by"),
                Device = OptionalText(r, "device"),
                Point = OptionalText(r, "point"),
                Value = Optional(r, "value"),
            };
        }
        catch (JsonException ex)
        {
            error = $"not JSON: {ex.Message}";
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            error = ex.Message;
        }

        return null;
    }

    /// <summary>The id of a command that cannot be read as a whole, so its refusal can still name it; null when there is none.</summary>
    public static string? TryReadId(ReadOnlySpan<byte> payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            return doc.RootElement.ValueKind == JsonValueKind.Object ? OptionalText(doc.RootElement, "id") : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static double? Optional(JsonElement r, string name) =>
        r.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number ? p.GetDouble() : null;

    internal static string? OptionalText(JsonElement r, string name) =>
        r.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String && p.GetString() is { Length: > 0 and <= 200 } s ? s : null;

    internal static string Text(JsonElement r, string name) =>
        r.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String && p.GetString() is { Length: > 0 and <= 200 } s
            ? s
            : throw new FormatException($"{name}: a text of 1-200 characters is required");

    internal static string Segment(JsonElement r, string name) =>
        Text(r, name) is var s && Identifiers.IsValid(s) ? s : throw new FormatException($"{name}: {Identifiers.Rule}");

    private static string Field(JsonElement r, string name) =>
        Text(r, name) is var s && Identifiers.IsValidField(s) ? s : throw new FormatException($"{name}: {Identifiers.FieldRule}");

    private static double Number(JsonElement r, string name) =>
        r.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number && p.GetDouble() is var d && double.IsFinite(d)
            ? d
            : throw new FormatException($"{name}: a finite number is required");
}
