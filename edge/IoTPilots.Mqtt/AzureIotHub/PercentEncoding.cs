using System.Text;

namespace IoTPilots.Mqtt.AzureIotHub;

/// <summary>
/// Percent-encoding of UTF-8 bytes as RFC 3986 §2.1 defines it: the unreserved characters of §2.3
/// (<c>A-Z a-z 0-9 - . _ ~</c>) pass through, every other byte becomes <c>%XX</c>. Written out rather than
/// taken from <see cref="Uri.EscapeDataString(string)"/> because the SAS resource URI needs lowercase hex digits
/// (see <see cref="SasToken"/>) and IoT Hub system property names keep their <c>$</c> (see
/// <see cref="IotHubMqtt.PropertyBag"/>). The reserved characters <c>&amp;</c>, <c>=</c> and <c>+</c> are always
/// escaped, so a value can never split a property bag or decode to a space.
/// </summary>
internal static class PercentEncoding
{
    public static string Escape(string value, bool lowercaseHex = false, bool keepDollar = false)
    {
        var hex = lowercaseHex ? "0123456789abcdef" : "0123456789ABCDEF";
        var builder = new StringBuilder(value.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (IsUnreserved(b) || (keepDollar && b == (byte)'$'))
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(hex[b >> 4]).Append(hex[b & 0x0F]);
            }
        }

        return builder.ToString();
    }

    private static bool IsUnreserved(byte b) =>
        b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';
}
