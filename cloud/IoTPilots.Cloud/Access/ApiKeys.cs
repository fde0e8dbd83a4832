using System.Security.Cryptography;
using System.Text;

namespace IoTPilots.Cloud.Access;

/// <summary>
/// API keys for machines: <c>pk_</c> and 32 random bytes in base64url (256 bits). Only their SHA-256 is stored.
/// </summary>
/// <remarks>
/// PBKDF2 (as for passwords) exists to make guessing a low-entropy secret from its hash slow. A 256-bit random key
/// cannot be guessed at any speed (2^255 tries on average), so a slow hash would only cost every API request a
/// slow hash; one SHA-256 lets the store look a key up by its hash, in constant time per request (NIST SP 800-63B
/// 5.1.1.2 asks for a salted, iterated hash only for memorised secrets).
/// </remarks>
public static class ApiKeys
{
    public const string Prefix = "pk_";

    /// <summary>The HTTP header a key may also come in, for clients that cannot set <c>Authorization</c>.</summary>
    public const string Header = "X-Api-Key";

    // 32 bytes in unpadded base64url.
    private const int SecretLength = 43;

    public static string Generate() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>Lowercase hex SHA-256 of the key's text: what the store keeps and looks up.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Whether <paramref name="key"/> has the shape of a key this service makes (checked before hashing, so junk costs nothing).</summary>
    public static bool IsWellFormed(string? key) =>
        key is not null
        && key.Length == Prefix.Length + SecretLength
        && key.StartsWith(Prefix, StringComparison.Ordinal)
        && key.AsSpan(Prefix.Length).ContainsAnyExcept(Base64UrlAlphabet) is false;

    /// <summary>
    /// The key a request carries: <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>. Null when it carries
    /// neither (then the session cookie decides); <paramref name="present"/> is true when it carries one, well formed or not.
    /// </summary>
    public static string? FromHeaders(string? authorization, string? apiKeyHeader, out bool present)
    {
        present = false;
        var value = authorization?.Trim();
        if (value is not null && value.StartsWith("Bearer", StringComparison.OrdinalIgnoreCase) && (value.Length == 6 || char.IsWhiteSpace(value[6])))
        {
            present = true;
            return value[6..].Trim();
        }

        if (!string.IsNullOrWhiteSpace(apiKeyHeader))
        {
            present = true;
            return apiKeyHeader.Trim();
        }

        return null;
    }

    private static readonly System.Buffers.SearchValues<char> Base64UrlAlphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
