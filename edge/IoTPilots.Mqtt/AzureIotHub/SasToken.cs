using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace IoTPilots.Mqtt.AzureIotHub;

/// <summary>
/// IoT Hub shared access signature tokens, as "Control access to IoT Hub with shared access signatures"
/// (learn.microsoft.com/azure/iot-hub/iot-hub-dev-guide-sas, "Security token structure") defines them:
/// <c>SharedAccessSignature sr={URL-encoded-resourceURI}&amp;sig={signature}&amp;se={expiry}[&amp;skn={policyName}]</c>,
/// where the signature is the base64 HMAC-SHA256, keyed with the base64-decoded key, of
/// <c>{URL-encoded-resourceURI} + "\n" + expiry</c>, and expiry is whole seconds since the Unix epoch.
/// Pure: the caller supplies the expiry (TimeProvider time + TTL).
/// </summary>
public static class SasToken
{
    /// <summary>Creates a token for <paramref name="resourceUri"/>, such as <c>myhub.azure-devices.net/devices/device1</c>.</summary>
    /// <param name="resourceUri">Host name and path, no scheme; a device uses <see cref="IotHubConnectionString.ResourceUri"/>.</param>
    /// <param name="base64Key">The device's (or policy's) symmetric key, base64 as the portal shows it.</param>
    /// <param name="expiry">When the hub stops accepting the token; sub-second parts are dropped.</param>
    /// <param name="keyName">The shared access policy name (<c>skn</c>); null for a device's own key.</param>
    public static string Create(string resourceUri, string base64Key, DateTimeOffset expiry, string? keyName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(resourceUri);
        ArgumentNullException.ThrowIfNull(base64Key);
        var seconds = expiry.ToUnixTimeSeconds();
        if (seconds <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(expiry), expiry, "the expiry must be after 1970-01-01T00:00:00Z");
        }

        var key = DecodeKey(base64Key);
        var se = seconds.ToString(CultureInfo.InvariantCulture);
        var sr = EncodeResourceUri(resourceUri);
        var signature = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(sr + "\n" + se)));
        CryptographicOperations.ZeroMemory(key);

        // sig and skn are decoded by the hub before use, so their escapes are the usual uppercase ones, as in
        // Azure's samples (sig=...%3D) and in the Node SDK's known-answer test.
        var token = $"SharedAccessSignature sr={sr}&sig={PercentEncoding.Escape(signature)}&se={se}";
        return string.IsNullOrEmpty(keyName) ? token : $"{token}&skn={PercentEncoding.Escape(keyName)}";
    }

    /// <summary>
    /// The <c>sr</c> field and the first line of the string to sign. The SAS article asks for "lower case
    /// URL-encoding" and its examples read <c>sr=myhub.azure-devices.net%2fdevices%2fdevice1</c>, so the escapes
    /// are lowercase (as the C device SDK's URL encoder, azure-c-shared-utility urlencode.c, also writes
    /// them). The URI's own letters keep their case:
    /// device IDs are case-sensitive and every Azure SDK signs the URI as given. Either escape casing verifies,
    /// because the hub signs the <c>sr</c> text exactly as received (Azure/iotedge SharedAccessSignature.cs:
    /// "We need to preserve the casing of the escape characters in the audience"); what matters is that
    /// <c>sr</c> and the signed line are the same string, which they are here by construction.
    /// </summary>
    public static string EncodeResourceUri(string resourceUri) => PercentEncoding.Escape(resourceUri, lowercaseHex: true);

    /// <summary>Decodes a base64 key; false for bad base64 or an empty key. Callers must not echo the input.</summary>
    internal static bool TryDecodeKey(string base64Key, out byte[] key)
    {
        var buffer = new byte[((base64Key.Length + 3) / 4) * 3];
        if (!Convert.TryFromBase64String(base64Key, buffer, out var written) || written == 0)
        {
            CryptographicOperations.ZeroMemory(buffer);
            key = [];
            return false;
        }

        key = buffer[..written];
        CryptographicOperations.ZeroMemory(buffer);
        return true;
    }

    private static byte[] DecodeKey(string base64Key)
    {
        // Never put the key (or a fragment of it) in a message: exception texts end up in logs.
        return TryDecodeKey(base64Key, out var key)
            ? key
            : throw new FormatException("the shared access key is not valid, non-empty base64");
    }
}
