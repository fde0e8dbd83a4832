using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace IoTPilots.Cloud.Influx;

/// <summary>Writes line-protocol lines somewhere durable. The ingestion pipeline acknowledges only after this returns.</summary>
public interface IPointWriter
{
    Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken);
}

/// <summary>The server is (temporarily) unable to take the write; try again after <see cref="RetryAfter"/>.</summary>
public sealed class InfluxUnavailableException(string message, TimeSpan? retryAfter, Exception? inner = null) : Exception(message, inner)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>The server refused the points themselves (HTTP 400, e.g. a field type conflict); retrying cannot help.</summary>
public sealed class InfluxRejectedException(string message) : Exception(message);

/// <summary>InfluxDB refused a write request: HTTP 400, 413 or 422, with its error sentence.</summary>
public sealed record WriteRefusal(int Status, string Error);

/// <summary>
/// A small InfluxDB HTTP client for the API every version shares: <c>/write</c> (1.x, and the v1 compatibility
/// endpoint of 2.x and 3.x) or <c>/api/v2/write</c>, gzip-compressed, with token or basic auth, and
/// <c>/query</c> in InfluxQL. InfluxDB.Client is not available here, and this is all we need of it.
/// </summary>
public sealed class InfluxWriter(HttpClient http, InfluxEndpoint endpoint) : IPointWriter
{
    public InfluxEndpoint Endpoint { get; } = endpoint;

    public Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken) => WriteAsync(lines, null, cancellationToken);

    /// <summary>Writes to a 1.x retention policy (null: the default; ignored on the v2 API); throws on any refusal.</summary>
    public async Task WriteAsync(IReadOnlyList<string> lines, string? retentionPolicy, CancellationToken cancellationToken)
    {
        if (await SendAsync(lines, retentionPolicy, cancellationToken).ConfigureAwait(false) is { } refusal)
        {
            throw new InfluxRejectedException($"InfluxDB refused {lines.Count} lines: HTTP {refusal.Status} {refusal.Error}");
        }
    }

    /// <summary>
    /// One write request: null when InfluxDB stored every line, the refusal when it answered 400, 413 or 422 (the
    /// data, or the size of the request, is the problem: retrying the same request cannot help). Throws
    /// <see cref="InfluxUnavailableException"/> for everything worth retrying. <paramref name="retentionPolicy"/>
    /// names a 1.x retention policy (ignored on the v2 API, where the bucket decides).
    /// </summary>
    public async Task<WriteRefusal?> SendAsync(IReadOnlyList<string> lines, string? retentionPolicy, CancellationToken cancellationToken)
    {
        if (lines.Count == 0)
        {
            return null;
        }

        var db = Uri.EscapeDataString(Endpoint.Database);
        var path = Endpoint.UseV2Api
            ? $"api/v2/write?bucket={db}&org={Uri.EscapeDataString(Endpoint.Org ?? "")}&precision=ms"
            : $"write?db={db}&precision=ms" + (retentionPolicy is { Length: > 0 } rp ? $"&rp={Uri.EscapeDataString(rp)}" : "");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Endpoint.BaseUri, path));
        request.Content = Gzip(lines);
        Authorize(request);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new InfluxUnavailableException($"InfluxDB at {Endpoint.BaseUri} unreachable: {ex.Message}", null, ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InfluxUnavailableException($"InfluxDB at {Endpoint.BaseUri} timed out", null, ex);
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                return null;
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.UnprocessableEntity)
            {
                return new WriteRefusal(status, ErrorText(body));
            }

            // 429, 503 and every other failure are the server's trouble, not the data's: retry, honoring Retry-After.
            var retryAfter = response.Headers.RetryAfter?.Delta
                ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
            throw new InfluxUnavailableException($"InfluxDB write failed: HTTP {status} {body.Trim()}", retryAfter);
        }
    }

    /// <summary>The error sentence of a refusal: <c>{"error":...}</c> (1.x) or <c>{"message":...}</c> (2.x), else the body.</summary>
    private static string ErrorText(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            foreach (var name in (string[])["error", "message"])
            {
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String)
                {
                    return e.GetString()!;
                }
            }
        }
        catch (JsonException)
        {
        }

        return body.Trim();
    }

    /// <summary>Creates the retention policy if it is missing (InfluxDB 1.x; a no-op on the v2 API). A null duration is forever (INF).</summary>
    public async Task EnsureRetentionPolicyAsync(string name, TimeSpan? duration, CancellationToken cancellationToken)
    {
        if (Endpoint.UseV2Api)
        {
            return;
        }

        var text = duration is { } d ? Math.Max(1, (long)d.TotalHours).ToString(System.Globalization.CultureInfo.InvariantCulture) + "h" : "INF";
        try
        {
            using var doc = await QueryAsync($"CREATE RETENTION POLICY \"{name}\" ON \"{Endpoint.Database.Replace("\"", "\\\"", StringComparison.Ordinal)}\" DURATION {text} REPLICATION 1", cancellationToken, post: true).ConfigureAwait(false);
        }
        catch (InfluxRejectedException ex) when (ex.Message.Contains("already exists", StringComparison.Ordinal))
        {
            // Made earlier with another duration (an operator's choice): keep it.
        }
        catch (InfluxRejectedException ex)
        {
            // E.g. a user without the right to create it: the writes that need it are held until someone does.
            throw new InfluxUnavailableException($"could not create retention policy {name} on {Endpoint.Database} ({ex.Message}); create it, or give the user the right", null, ex);
        }
    }

    /// <summary>
    /// Creates the database and the retention policies of the delivery ledger and of the accounting's state if they
    /// are missing (InfluxDB 1.x; a no-op on the v2 API).
    /// </summary>
    public async Task EnsureDatabaseAsync(CancellationToken cancellationToken)
    {
        if (Endpoint.UseV2Api)
        {
            return;
        }

        using (await QueryAsync($"CREATE DATABASE \"{Endpoint.Database.Replace("\"", "\\\"", StringComparison.Ordinal)}\"", cancellationToken, post: true).ConfigureAwait(false))
        {
        }

        await EnsureRetentionPolicyAsync(DeliveryLedger.RetentionPolicy, DeliveryLedger.Retention, cancellationToken).ConfigureAwait(false);
        await EnsureRetentionPolicyAsync(DeliveryState.RetentionPolicy, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs an InfluxQL query against the configured database and returns the JSON response.</summary>
    public async Task<JsonDocument> QueryAsync(string influxQl, CancellationToken cancellationToken, bool post = false)
    {
        var query = $"db={Uri.EscapeDataString(Endpoint.Database)}&epoch=ms&q={Uri.EscapeDataString(influxQl)}";
        using var request = post
            ? new HttpRequestMessage(HttpMethod.Post, new Uri(Endpoint.BaseUri, "query"))
            {
                Content = new StringContent(query, Encoding.UTF8, "application/x-www-form-urlencoded"),
            }
            : new HttpRequestMessage(HttpMethod.Get, new Uri(Endpoint.BaseUri, "query?" + query));
        Authorize(request);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InfluxUnavailableException($"InfluxDB query failed: HTTP {(int)response.StatusCode} {body.Trim()}", null);
        }

        var doc = JsonDocument.Parse(body);
        foreach (var result in doc.RootElement.GetProperty("results").EnumerateArray())
        {
            if (result.TryGetProperty("error", out var error))
            {
                // Read the message before disposing: the element belongs to the document.
                var message = error.GetString();
                doc.Dispose();
                throw new InfluxRejectedException($"InfluxQL error in '{influxQl}': {message}");
            }
        }

        return doc;
    }

    private void Authorize(HttpRequestMessage request)
    {
        if (Endpoint.Token is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Token", token);
        }
        else if (Endpoint.Username is { Length: > 0 } user)
        {
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{Endpoint.Password}"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", basic);
        }
    }

    private static ByteArrayContent Gzip(IReadOnlyList<string> lines)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new StreamWriter(gzip, new UTF8Encoding(false)))
        {
            foreach (var line in lines)
            {
                writer.Write(line);
                writer.Write('\n');
            }
        }

        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }
}
