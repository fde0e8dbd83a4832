using System.Security.Cryptography;

namespace IoTPilots.Mqtt.AzureIotHub;

/// <summary>
/// A device (or module) connection string as the Azure portal and <c>az iot hub device-identity connection-string
/// show</c> print it: <c>HostName=myhub.azure-devices.net;DeviceId=gw-aqua-01;SharedAccessKey=&lt;base64&gt;</c>,
/// optionally with <c>ModuleId</c>, <c>SharedAccessKeyName</c> (signing with a hub policy such as <c>device</c>
/// instead of the device's own key) and <c>GatewayHostName</c> (connecting through an IoT Edge gateway).
/// Part names match case-insensitively. It is a secret: <see cref="ToString"/> leaves the key out, and no
/// parse error repeats it.
/// </summary>
public sealed class IotHubConnectionString
{
    public const string EnvironmentVariable = "PILOTS_IOTHUB_CONNECTION_STRING";

    private const string Expected = "expected HostName=<hub>.azure-devices.net;DeviceId=<device>;SharedAccessKey=<base64 key>";

    // IoT Hub device and module IDs are at most 128 characters (identity registry, "Device identity properties").
    private const int MaxIdLength = 128;

    private static readonly string[] KnownParts =
        ["HostName", "DeviceId", "ModuleId", "SharedAccessKey", "SharedAccessKeyName", "GatewayHostName"];

    private IotHubConnectionString(string hostName, string deviceId, string? moduleId, string sharedAccessKey, string? sharedAccessKeyName, string? gatewayHostName)
    {
        HostName = hostName;
        DeviceId = deviceId;
        ModuleId = moduleId;
        SharedAccessKey = sharedAccessKey;
        SharedAccessKeyName = sharedAccessKeyName;
        GatewayHostName = gatewayHostName;
    }

    /// <summary>The hub's full host name (its CName), e.g. <c>myhub.azure-devices.net</c>.</summary>
    public string HostName { get; }

    public string DeviceId { get; }

    public string? ModuleId { get; }

    /// <summary>The base64 symmetric key. Secret: never log it.</summary>
    public string SharedAccessKey { get; }

    public string? SharedAccessKeyName { get; }

    public string? GatewayHostName { get; }

    /// <summary>
    /// What the SAS token is scoped to: <c>{HostName}/devices/{DeviceId}</c>, or
    /// <c>{HostName}/devices/{DeviceId}/modules/{ModuleId}</c> for a module. Always the hub's name, even through
    /// a gateway. (The SAS article's token-service section writes <c>/module/</c>; the Node and embedded C SDKs,
    /// whose tests pin <c>%2Fmodules%2F</c>, use the plural, which matches the module topics.)
    /// </summary>
    public string ResourceUri => ModuleId is null
        ? $"{HostName}/devices/{DeviceId}"
        : $"{HostName}/devices/{DeviceId}/modules/{ModuleId}";

    /// <summary>Where the TCP/TLS connection goes: the gateway when there is one, else the hub.</summary>
    public string ConnectHost => GatewayHostName ?? HostName;

    public static IotHubConnectionString FromEnvironment(Func<string, string?> env)
    {
        var value = env(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new FormatException($"{EnvironmentVariable} is not set ({Expected})");
        }

        return Parse(value);
    }

    /// <summary>Parses a connection string; <paramref name="source"/> names it in error messages.</summary>
    public static IotHubConnectionString Parse(string connectionString, string source = EnvironmentVariable)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new FormatException($"{source} is empty ({Expected})");
        }

        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        var segments = connectionString.Split(';');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i].Trim();
            if (segment.Length == 0)
            {
                continue;
            }

            // Split at the first '=' only: base64 keys end in '=' padding.
            var eq = segment.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"{source}: part {i + 1} is not Name=value ({Expected})");
            }

            var name = segment[..eq].Trim();
            var known = Array.Find(KnownParts, k => k.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (known is null)
            {
                var hint = name.Equals("SharedAccessSignature", StringComparison.OrdinalIgnoreCase) || name.Equals("x509", StringComparison.OrdinalIgnoreCase)
                    ? "; only SharedAccessKey authentication is supported"
                    : "";
                throw new FormatException($"{source}: unknown part {Describe(name, i)} (known parts: {string.Join(", ", KnownParts)}){hint}");
            }

            if (!parts.TryAdd(known, segment[(eq + 1)..].Trim()))
            {
                throw new FormatException($"{source}: {known} is given twice");
            }
        }

        var hostName = Host(parts, "HostName", source, required: true)!;
        var deviceId = Id(parts, "DeviceId", source, required: true)!;
        var moduleId = Id(parts, "ModuleId", source, required: false);
        var keyName = Optional(parts, "SharedAccessKeyName", source);
        var gateway = Host(parts, "GatewayHostName", source, required: false);
        if (!parts.TryGetValue("SharedAccessKey", out var key))
        {
            throw new FormatException($"{source}: SharedAccessKey is missing ({Expected}; X.509 and SharedAccessSignature connection strings are not supported)");
        }

        if (!SasToken.TryDecodeKey(key, out var decoded))
        {
            throw new FormatException($"{source}: SharedAccessKey is not valid base64 (copy the primary or secondary key as the portal shows it)");
        }

        CryptographicOperations.ZeroMemory(decoded);
        return new IotHubConnectionString(hostName, deviceId, moduleId, key, keyName, gateway);
    }

    /// <summary>The connection string without its key, for logs.</summary>
    public override string ToString()
    {
        var text = $"HostName={HostName};DeviceId={DeviceId}";
        if (ModuleId is not null)
        {
            text += $";ModuleId={ModuleId}";
        }

        if (SharedAccessKeyName is not null)
        {
            text += $";SharedAccessKeyName={SharedAccessKeyName}";
        }

        if (GatewayHostName is not null)
        {
            text += $";GatewayHostName={GatewayHostName}";
        }

        return text + ";SharedAccessKey=<redacted>";
    }

    /// <summary>
    /// Names an unknown part only when it looks like a part name (letters, short): a segment that is really a
    /// stray piece of the key, split at its '=' padding, must not end up in the message.
    /// </summary>
    private static string Describe(string name, int index) =>
        name.Length is > 0 and <= 32 && name.All(char.IsAsciiLetter) ? $"'{name}'" : $"number {index + 1}";

    private static string? Optional(Dictionary<string, string> parts, string name, string source)
    {
        if (!parts.TryGetValue(name, out var value))
        {
            return null;
        }

        return value.Length > 0 ? value : throw new FormatException($"{source}: {name} is empty");
    }

    private static string? Host(Dictionary<string, string> parts, string name, string source, bool required)
    {
        var value = Optional(parts, name, source);
        if (value is null)
        {
            return required ? throw new FormatException($"{source}: {name} is missing ({Expected})") : null;
        }

        if (Uri.CheckHostName(value) is UriHostNameType.Unknown or UriHostNameType.Basic)
        {
            throw new FormatException($"{source}: {name} '{value}' is not a host name (e.g. myhub.azure-devices.net, no scheme or path)");
        }

        return value;
    }

    private static string? Id(Dictionary<string, string> parts, string name, string source, bool required)
    {
        var value = Optional(parts, name, source);
        if (value is null)
        {
            return required ? throw new FormatException($"{source}: {name} is missing ({Expected})") : null;
        }

        if (value.Length > MaxIdLength)
        {
            throw new FormatException($"{source}: {name} is longer than {MaxIdLength} characters");
        }

        // The ID is a level of every MQTT topic the hub uses (devices/{id}/messages/events/), and MQTT 3.1.1
        // §4.7.1 and §4.7.3 forbid '/' inside a level and the wildcards '+' and '#' in a topic name.
        foreach (var c in value)
        {
            if (c is '/' or '+' or '#' || !char.IsAscii(c) || char.IsControl(c) || char.IsWhiteSpace(c))
            {
                var shown = char.IsAscii(c) && !char.IsControl(c) && !char.IsWhiteSpace(c) ? $"'{c}'" : $"U+{(int)c:X4}";
                throw new FormatException($"{source}: {name} '{value}' contains {shown}, which cannot be used in an MQTT topic");
            }
        }

        return value;
    }
}
