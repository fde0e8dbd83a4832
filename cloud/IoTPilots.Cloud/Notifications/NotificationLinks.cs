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
    /// <summary>Where action links live: <c>/c/...</c>, beside the acknowledgement links' <c>/a/...</c>.</summary>
    public const string ActionPrefix = "c/";

    /// <summary>
    /// An action link is for the emergency the message is about: an hour covers a farmer woken at night (DO falls from
    /// 7 to 3 mg/L in about 11 minutes, issue 15), and escalations and reminders carry fresh links after it.
    /// </summary>
    public static readonly TimeSpan ActionLifetime = TimeSpan.FromHours(1);

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

    /// <summary>
    /// A signed link to a rule's confirm-mode action for one alert (<see cref="ConfirmLinkPages"/>):
    /// <c>{public}/c/{alert}/{expiry}/{device}/{point}/{value}/{mac}</c>, the mac over everything before it. The link
    /// carries the action itself, so the tap does what the message said even if the rules were reloaded since, on any
    /// cloud process. Valid for <see cref="ActionLifetime"/>: a reminder or an escalation carries a fresh one.
    /// </summary>
    public Uri? ForAction(ConfirmTarget target)
    {
        if (!Enabled)
        {
            return null;
        }

        var expiry = (time.GetUtcNow() + ActionLifetime).ToUnixTimeSeconds() / 60;
        var body = $"{target.AlertId.ToString(CultureInfo.InvariantCulture)}/{ToBase36(expiry)}/{target.Device}/{target.Point}/{target.Value.ToString("R", CultureInfo.InvariantCulture)}";
        return new Uri(publicUrl!, $"{ActionPrefix}{body}/{Mac(body)}");
    }

    /// <summary>Checks an action link's token (the path after <c>/c/</c>): its signature, its parts and its expiry.</summary>
    /// <returns>null and the target when the token is good; else why not, and whether it is only that it expired.</returns>
    public string? CheckAction(string token, out ConfirmTarget target, out bool expired)
    {
        target = new ConfirmTarget(0, "", "", 0);
        expired = false;
        var parts = token.Split('/');
        if (!Enabled || parts.Length != 6)
        {
            return "this link is not one of ours";
        }

        var expected = Encoding.ASCII.GetBytes(Mac(string.Join('/', parts[..5])));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[5]))
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var alertId)
            || FromBase36(parts[1]) is not { } expiry
            || !double.TryParse(parts[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return "this link is not one of ours";
        }

        target = new ConfirmTarget(alertId, parts[2], parts[3], value);
        expired = time.GetUtcNow().ToUnixTimeSeconds() / 60 > expiry;
        return expired ? "this link has expired" : null;
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
