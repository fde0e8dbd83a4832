using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Influx;

/// <summary>
/// An InfluxDB server named by a URL such as <c>http://user:pass@127.0.0.1:8086</c>. The API flavour,
/// database or bucket, and token come from the environment (see README, "Configuration").
/// </summary>
public sealed record InfluxEndpoint(Uri BaseUri, string Database, string? Username, string? Password, string? Token, string? Org, bool UseV2Api)
{
    public static InfluxEndpoint FromEnvironment(Func<string, string?> env)
    {
        var url = env("PILOTS_INFLUX_URL") ?? "http://127.0.0.1:8086";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new FormatException($"PILOTS_INFLUX_URL: '{url}' is not an http(s) URL");
        }

        var (user, pass) = MqttEndpoint.SplitUserInfo(uri);
        var baseUri = new UriBuilder(uri) { UserName = "", Password = "" }.Uri;
        var api = env("PILOTS_INFLUX_API") ?? "v1";
        if (api is not ("v1" or "v2"))
        {
            throw new FormatException($"PILOTS_INFLUX_API: '{api}' is not v1 or v2");
        }

        return new InfluxEndpoint(
            baseUri,
            env("PILOTS_INFLUX_DB") is { Length: > 0 } db ? db : "pilots",
            user ?? env("PILOTS_INFLUX_USER"),
            pass ?? env("PILOTS_INFLUX_PASSWORD"),
            env("PILOTS_INFLUX_TOKEN"),
            env("PILOTS_INFLUX_ORG"),
            api == "v2");
    }
}
