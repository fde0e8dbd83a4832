using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace IoTPilots.Cloud.Commands;

/// <summary>
/// <c>IoTPilots.Cloud gateways list</c> and <c>gateways push GATEWAY FILE [--hours N]</c> (<c>./run gateways</c>): a
/// client of a running cloud's gateways API (<see cref="GatewayApi"/>), at <c>--url</c> (else <c>PILOTS_CLOUD_URL</c>,
/// else <c>http://127.0.0.1:5080</c>) with the API key in <c>PILOTS_API_KEY</c> (an environment variable, never an
/// argument, so it stays out of the shell history and <c>ps</c>). Exit 2 for bad arguments (naming them), 1 when the
/// cloud refuses or cannot be reached (its error printed), 0 otherwise.
/// </summary>
public static class GatewaysCommand
{
    private const string Usage = "usage: gateways list [--url URL] | gateways push GATEWAY FILE [--hours 1-168] [--url URL]   (API key in PILOTS_API_KEY)";

    public static async Task<int> RunAsync(string[] args, Func<string, string?> env, TextWriter output, TextWriter error, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(env);
        var rest = new List<string>();
        string? url = null;
        string? hours = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--url" when i + 1 < args.Length:
                    url = args[++i];
                    break;
                case "--hours" when i + 1 < args.Length:
                    hours = args[++i];
                    break;
                case var flag when flag.StartsWith("--", StringComparison.Ordinal):
                    return Fail(error, $"gateways: {flag}: unknown option or missing value");
                default:
                    rest.Add(args[i]);
                    break;
            }
        }

        url ??= env("PILOTS_CLOUD_URL") is { Length: > 0 } u ? u : "http://127.0.0.1:5080";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            return Fail(error, $"gateways: --url: '{url}' is not an http(s) address");
        }

        if (env("PILOTS_API_KEY") is not { Length: > 0 } key)
        {
            return Fail(error, "gateways: PILOTS_API_KEY: set it to an API key (./run users key-add NAME --role viewer|admin --sites ...)");
        }

        if (hours is not null && (!int.TryParse(hours, NumberStyles.None, CultureInfo.InvariantCulture, out var h) || h is < 1 or > 168))
        {
            return Fail(error, $"gateways: --hours: '{hours}' is not a whole number from 1 to 168");
        }

        // A cloud behind a path (a reverse proxy's /pilots) keeps it: relative URIs resolve below a trailing slash only.
        baseUri = baseUri.AbsolutePath.EndsWith('/') ? baseUri : new Uri(baseUri + "/");
        using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.BaseAddress = baseUri;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        http.Timeout = TimeSpan.FromSeconds(30);
        try
        {
            return rest switch
            {
                ["list"] => await ListAsync(http, output, error).ConfigureAwait(false),
                ["push", var gateway, var file] => await PushAsync(http, gateway, file, hours, output, error).ConfigureAwait(false),
                _ => Fail(error, Usage),
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await error.WriteLineAsync($"gateways: {baseUri}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<int> ListAsync(HttpClient http, TextWriter output, TextWriter error)
    {
        using var response = await http.GetAsync(new Uri("api/gateways", UriKind.Relative)).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return await RefusedAsync(response, body, error).ConfigureAwait(false);
        }

        using var doc = JsonDocument.Parse(body);
        await output.WriteLineAsync($"{"SITE",-20} {"GATEWAY",-16} {"STATE",-8} {"VERSION",7} {"INVENTORY",-12} {"LAST PUSH"}").ConfigureAwait(false);
        foreach (var g in doc.RootElement.EnumerateArray())
        {
            var inventory = g.GetProperty("inventory");
            var (version, state) = inventory.ValueKind == JsonValueKind.Object
                ? (inventory.GetProperty("version").GetInt64().ToString(CultureInfo.InvariantCulture), inventory.GetProperty("state").GetString())
                : ("-", "-");
            var push = g.GetProperty("lastPush");
            var last = push.ValueKind == JsonValueKind.Object
                ? $"v{push.GetProperty("version").GetInt64()} {push.GetProperty("state").GetString()} {push.GetProperty("reason").GetString()} by {push.GetProperty("issuedBy").GetString()}".TrimEnd()
                : "-";
            await output.WriteLineAsync($"{g.GetProperty("site").GetString(),-20} {g.GetProperty("gateway").GetString(),-16} {g.GetProperty("state").GetString(),-8} {version,7} {state,-12} {last}").ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task<int> PushAsync(HttpClient http, string gateway, string file, string? hours, TextWriter output, TextWriter error)
    {
        string yaml;
        try
        {
            yaml = await File.ReadAllTextAsync(file).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return Fail(error, $"gateways: {file}: {ex.Message}");
        }

        var path = $"api/gateways/{Uri.EscapeDataString(gateway)}/inventory" + (hours is null ? "" : $"?hours={hours}");
        using var content = new StringContent(yaml, Encoding.UTF8, "application/yaml");
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), content).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return await RefusedAsync(response, body, error).ConfigureAwait(false);
        }

        using var doc = JsonDocument.Parse(body);
        var record = doc.RootElement;
        await output.WriteLineAsync($"{gateway}: version {record.GetProperty("version").GetInt64()} {record.GetProperty("state").GetString()} (push {record.GetProperty("id").GetString()}); the gateway answers on probation, then confirmed or rolled-back: ./run gateways list").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> RefusedAsync(HttpResponseMessage response, string body, TextWriter error)
    {
        string message;
        try
        {
            using var doc = JsonDocument.Parse(body);
            message = doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            message = body;
        }

        await error.WriteLineAsync($"gateways: {(int)response.StatusCode} {response.ReasonPhrase}: {message}").ConfigureAwait(false);
        return 1;
    }

    private static int Fail(TextWriter error, string message)
    {
        error.WriteLine(message);
        return 2;
    }
}
