using IoTPilots.Config;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Influx;

/// <summary>
/// An InfluxDB server named by a URL such as <c>http://user:pass@127.0.0.1:8086</c>. The API flavour,
/// database or bucket, and token come from the environment (see README, "Configuration").
/// </summary>
public sealed record InfluxEndpoint(Uri BaseUri, string Database, string? Username, string? Password, string? Token, string? Org, bool UseV2Api)
{
    /// <summary>Reads and checks the <c>PILOTS_INFLUX_*</c> variables; a wrong one is a <see cref="FormatException"/> naming it.</summary>
    public static InfluxEndpoint FromEnvironment(Func<string, string?> env)
    {
        var settings = new SettingsReader(env);
        var url = settings.String("PILOTS_INFLUX_URL", "http://127.0.0.1:8086");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            throw SettingsReader.Error("PILOTS_INFLUX_URL", url, "is not an http(s) URL (expected http(s)://[user:pass@]host:port)");
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw SettingsReader.Error("PILOTS_INFLUX_URL", url, "has a query or fragment; the database comes from PILOTS_INFLUX_DB");
        }

        var (user, pass) = MqttEndpoint.SplitUserInfo(uri);
        // A path (InfluxDB behind a reverse proxy at /influx) must end in '/', or /write would replace its last segment.
        var path = uri.AbsolutePath.EndsWith('/') ? uri.AbsolutePath : uri.AbsolutePath + "/";
        var baseUri = new UriBuilder(uri) { UserName = "", Password = "", Path = path }.Uri;
        var api = settings.String("PILOTS_INFLUX_API", "v1");
        if (api is not ("v1" or "v2"))
        {
            throw SettingsReader.Error("PILOTS_INFLUX_API", api, "is not v1 or v2");
        }

        return new InfluxEndpoint(
            baseUri,
            settings.String("PILOTS_INFLUX_DB", "pilots"),
            user ?? settings.Optional("PILOTS_INFLUX_USER"),
            pass ?? settings.Optional("PILOTS_INFLUX_PASSWORD"),
            settings.Optional("PILOTS_INFLUX_TOKEN"),
            settings.Optional("PILOTS_INFLUX_ORG"),
            api == "v2");
    }
}
