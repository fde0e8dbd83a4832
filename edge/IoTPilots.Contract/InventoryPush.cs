using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace IoTPilots.Contract;

/// <summary>
/// A whole inventory (the gateway's YAML, as text) pushed from the cloud to one gateway on <see cref="Topics.Config"/>.
/// Versioned: <see cref="Version"/> rises with every push to a gateway, and the gateway takes only one newer than any
/// it has run or tried; <see cref="Sha256"/> is the hash of <see cref="Content"/>'s UTF-8 bytes, so the signature (over
/// the hash, not the text) covers the content. Signed like a command (<see cref="InventorySignature"/>), with the same
/// per-gateway key, and valid until <see cref="ExpiresAt"/>.
/// </summary>
public sealed record InventoryPush(
    string Id,
    string Site,
    string Gateway,
    long Version,
    string Sha256,
    string Content,
    string IssuedBy,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string? Signature = null)
{
    /// <summary>The largest inventory a push carries: far above a gateway's tens of devices, far below the broker's limits.</summary>
    public const int MaxContentBytes = 256 * 1024;

    /// <summary>Lower-case hex SHA-256 of the text's UTF-8 bytes: the content hash a push and a gateway's status carry.</summary>
    public static string HashOf(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));
}

/// <summary>What became of a push at the gateway (<see cref="InventoryResult.Outcome"/>).</summary>
public static class InventoryOutcomes
{
    /// <summary>Valid and applied: the gateway polls with it now, on probation until it has reached its devices and the broker.</summary>
    public const string Probation = "probation";

    /// <summary>The probation passed: this is the running inventory, and the one a later rollback returns to.</summary>
    public const string Confirmed = "confirmed";

    /// <summary>The probation failed (or the gateway restarted during it): the previous inventory runs again.</summary>
    public const string RolledBack = "rolled-back";

    /// <summary>Refused before it applied; nothing changed.</summary>
    public const string Refused = "refused";
}

/// <summary>The reason codes of <see cref="InventoryResult"/>: those shared with commands, and the inventory's own.</summary>
public static class InventoryReasons
{
    public const string Ok = CommandReasons.Ok;
    public const string Malformed = CommandReasons.Malformed;
    public const string Unsigned = CommandReasons.Unsigned;
    public const string BadSignature = CommandReasons.BadSignature;
    public const string Expired = CommandReasons.Expired;
    public const string TooLong = CommandReasons.TooLong;
    public const string Replayed = CommandReasons.Replayed;
    public const string WrongGateway = CommandReasons.WrongGateway;
    public const string HashMismatch = "hash-mismatch";
    public const string NotNewer = "not-newer";
    public const string Invalid = "invalid-inventory";
    public const string IdentityChange = "identity-change";
    public const string InProbation = "in-probation";
    public const string WriteFailed = "write-failed";
    public const string DevicesUnreachable = "devices-unreachable";
    public const string BrokerUnreachable = "broker-unreachable";
    public const string RestartedInProbation = "restarted-in-probation";
}

/// <summary>The gateway's answer to a push, on <see cref="Topics.ConfigResult"/>; a push on probation gets a second one (confirmed or rolled back).</summary>
/// <param name="Version">The pushed version this answer is about.</param>
/// <param name="Running">The version the gateway runs after this answer.</param>
public sealed record InventoryResult(string Id, string Site, string Gateway, long Version, string Outcome, string Reason, string Detail, long Running, DateTimeOffset At);

/// <summary>
/// The signature of a push: HMAC-SHA256 with the gateway's command key over a canonical text of every field but the
/// content and the signature (the content enters through its hash), as <see cref="CommandSignature"/> does for commands.
/// </summary>
public static class InventorySignature
{
    public static string Canonical(InventoryPush p) => string.Join(
        '\n',
        "pilots-inventory-v1",
        p.Id,
        p.Site,
        p.Gateway,
        p.Version.ToString(CultureInfo.InvariantCulture),
        p.Sha256,
        p.IssuedBy,
        p.IssuedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
        p.ExpiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));

    public static InventoryPush Sign(InventoryPush push, byte[] key) => push with { Signature = Hmac.Sign(Canonical(push), key) };

    public static bool Verify(InventoryPush push, byte[] key) => Hmac.Verify(Canonical(push), push.Signature, key);
}

/// <summary>HMAC-SHA256 (RFC 2104) of a canonical text, base64, compared in constant time: the one signing scheme of commands and pushes.</summary>
internal static class Hmac
{
    public static string Sign(string canonical, byte[] key) => Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(canonical)));

    public static bool Verify(string canonical, string? signature, byte[] key)
    {
        if (signature is null)
        {
            return false;
        }

        var given = new byte[32];
        return Convert.TryFromBase64String(signature, given, out var written) && written == given.Length
            && CryptographicOperations.FixedTimeEquals(given, HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(canonical)));
    }
}

/// <summary>JSON of pushes and their results (version 1). Decoding never throws: a bad payload gets an error naming the field.</summary>
public static class InventoryCodec
{
    public static byte[] Encode(InventoryPush p) => GatewayJson.Encode(p.Site, p.Gateway, json =>
    {
        json.WriteString("id", p.Id);
        json.WriteNumber("version", p.Version);
        json.WriteString("sha256", p.Sha256);
        json.WriteString("content", p.Content);
        json.WriteString("issued_by", p.IssuedBy);
        json.WriteNumber("issued_at", p.IssuedAt.ToUnixTimeMilliseconds());
        json.WriteNumber("expires_at", p.ExpiresAt.ToUnixTimeMilliseconds());
        if (p.Signature is { } sig)
        {
            json.WriteString("sig", sig);
        }
    });

    public static byte[] Encode(InventoryResult r) => GatewayJson.Encode(r.Site, r.Gateway, json =>
    {
        json.WriteString("id", r.Id);
        json.WriteNumber("version", r.Version);
        json.WriteString("outcome", r.Outcome);
        json.WriteString("reason", r.Reason);
        json.WriteString("detail", r.Detail);
        json.WriteNumber("running", r.Running);
        json.WriteNumber("ts", r.At.ToUnixTimeMilliseconds());
    });

    /// <summary>Reads a push, or returns null with the field at fault in <paramref name="error"/>.</summary>
    public static InventoryPush? TryDecode(ReadOnlySpan<byte> payload, out string error) => Decode(payload, out error, r =>
    {
        if (r.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String && c.GetString() is { Length: > 0 } content)
        {
            return new InventoryPush(
                CommandCodec.Text(r, "id"),
                CommandCodec.Segment(r, "site"),
                CommandCodec.Segment(r, "gateway"),
                Version(r, "version"),
                CommandCodec.Text(r, "sha256"),
                content,
                CommandCodec.Text(r, "issued_by"),
                Time(r, "issued_at"),
                Time(r, "expires_at"),
                r.TryGetProperty("sig", out var sig) && sig.ValueKind == JsonValueKind.String ? sig.GetString() : null);
        }

        throw new FormatException("content: the inventory's YAML text is required");
    });

    /// <summary>Reads a result, or returns null with the field at fault in <paramref name="error"/>.</summary>
    public static InventoryResult? TryDecodeResult(ReadOnlySpan<byte> payload, out string error) => Decode(payload, out error, r => new InventoryResult(
        CommandCodec.Text(r, "id"),
        CommandCodec.Segment(r, "site"),
        CommandCodec.Segment(r, "gateway"),
        Version(r, "version"),
        CommandCodec.Text(r, "outcome"),
        CommandCodec.Text(r, "reason"),
        r.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() ?? "" : "",
        Version(r, "running"),
        Time(r, "ts")));

    private static T? Decode<T>(ReadOnlySpan<byte> payload, out string error, Func<JsonElement, T> read)
        where T : class
    {
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object)
            {
                error = "a JSON object is required";
                return null;
            }

            if (!r.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var version) || version != 1)
            {
                error = "v: only version 1 is understood";
                return null;
            }

            error = "";
            return read(r);
        }
        catch (JsonException ex)
        {
            error = $"not JSON: {ex.Message}";
        }
        catch (FormatException ex)
        {
            error = ex.Message;
        }

        return null;
    }

    private static long Version(JsonElement r, string name) =>
        r.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt64(out var n) && n >= 0
            ? n
            : throw new FormatException($"{name}: a whole number of at least 0 is required");

    private static DateTimeOffset Time(JsonElement r, string name) =>
        r.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt64(out var ms)
            && ms >= DateTimeOffset.MinValue.ToUnixTimeMilliseconds() && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : throw new FormatException($"{name}: a time in Unix milliseconds is required");
}
