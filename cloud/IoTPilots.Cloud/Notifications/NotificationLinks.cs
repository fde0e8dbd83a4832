using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using IoTPilots.Cloud.Alerts;

namespace IoTPilots.Cloud.Notifications;

/// <summary>
/// Signed acknowledgement links: <c>{public}/a/{row}-{expiry}-{mac}</c>, where row is the outbox row the link was
/// sent in (so it says who and through which channel), expiry is Unix minutes in base 36, and mac the first 16
/// bytes of HMAC-SHA256 over both, base64url. Short enough to leave room in a 160-character SMS. The store marks
/// each row's link used, so it works once.
/// </summary>
public sealed class NotificationLinks(Uri? publicUrl, byte[]? secret, TimeSpan lifetime, TimeProvider time)
{
    public static NotificationLinks None { get; } = new(null, null, TimeSpan.Zero, TimeProvider.System);

    public bool Enabled => publicUrl is not null && secret is { Length: > 0 };

    public Uri? For(OutboxItem item)
    {
        if (!Enabled)
        {
            return null;
        }

        var expiry = (time.GetUtcNow() + lifetime).ToUnixTimeSeconds() / 60;
        var body = $"{item.Id}-{ToBase36(expiry)}";
        return new Uri(publicUrl!, $"a/{body}-{Mac(body)}");
    }

    /// <summary>Checks a token's signature and expiry.</summary>
    /// <returns>null and the outbox row id when the token is good, else why not.</returns>
    public string? Check(string token, out long rowId)
    {
        rowId = 0;
        var parts = token.Split('-', 3);
        if (!Enabled || parts.Length != 3 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out rowId))
        {
            return "this link is not one of ours";
        }

        var expected = Encoding.ASCII.GetBytes(Mac($"{parts[0]}-{parts[1]}"));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[2])) || FromBase36(parts[1]) is not { } expiry)
        {
            return "this link is not one of ours";
        }

        return time.GetUtcNow().ToUnixTimeSeconds() / 60 > expiry ? "this link has expired" : null;
    }

    private string Mac(string body) =>
        Convert.ToBase64String(HMACSHA256.HashData(secret!, Encoding.ASCII.GetBytes(body)).AsSpan(0, 16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string ToBase36(long value)
    {
        const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var text = new StringBuilder();
        do
        {
            text.Insert(0, Digits[(int)(value % 36)]);
            value /= 36;
        }
        while (value > 0);
        return text.ToString();
    }

    private static long? FromBase36(string text)
    {
        long value = 0;
        foreach (var c in text)
        {
            var digit = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'z' ? c - 'a' + 10 : -1;
            if (digit < 0 || value > long.MaxValue / 36)
            {
                return null;
            }

            value = (value * 36) + digit;
        }

        return text.Length == 0 ? null : value;
    }
}
