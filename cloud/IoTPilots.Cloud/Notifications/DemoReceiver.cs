using System.Globalization;
using System.Net;
using System.Text.Json;

namespace IoTPilots.Cloud.Notifications;

/// <summary>
/// <c>IoTPilots.Cloud receive --port N [--secret S]</c>: a local webhook receiver for the demo that prints each
/// notification as the farmer reads it on the phone (Vietnamese, then English), after checking the signature and
/// dropping repeats by <c>Idempotency-Key</c> as a real receiver should (see <see cref="WebhookSignature"/>).
/// </summary>
public static class DemoReceiver
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (args is not ["--port", var portText, .. var rest] || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            await error.WriteLineAsync("receive: usage: receive --port N [--secret S]");
            return 2;
        }

        var secret = rest is ["--secret", var s] ? s : Environment.GetEnvironmentVariable("PILOTS_WEBHOOK_SECRET");
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        await output.WriteLineAsync($"receive: listening on http://127.0.0.1:{port}/ (signature {(string.IsNullOrEmpty(secret) ? "not checked" : "checked")})");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var registration = cancellationToken.Register(listener.Stop);
        while (!cancellationToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                break;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body, cancellationToken);
            var (status, text) = Receive(context.Request.Headers, body.ToArray(), secret, seen);
            context.Response.StatusCode = status;
            context.Response.Close();
            await output.WriteLineAsync(text);
        }

        return 0;
    }

    /// <summary>Checks and renders one delivery: the status to answer and what to print.</summary>
    public static (int Status, string Text) Receive(System.Collections.Specialized.NameValueCollection headers, byte[] body, string? secret, HashSet<string> seen)
    {
        if (!string.IsNullOrEmpty(secret)
            && WebhookSignature.Verify(secret, headers[WebhookSignature.TimestampHeader], headers[WebhookSignature.SignatureHeader], body, DateTimeOffset.UtcNow) is { } refused)
        {
            return (401, $"receive: refused: {refused}");
        }

        if (headers[WebhookSignature.IdempotencyHeader] is { } key && !seen.Add(key))
        {
            return (200, $"receive: {key} already shown (a retry)");
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            var p = json.RootElement;
            var vi = p.GetProperty("text_vi").GetString();
            var en = p.GetProperty("text_en").GetString()?.Replace("\n", "\n    ", StringComparison.Ordinal);
            return (200, $"""
                ┌─ 📱 {p.GetProperty("state").GetString()} · {p.GetProperty("device").GetString()} · {p.GetProperty("at").GetString()}
                {vi}
                    {en}
                └─
                """);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (400, $"receive: not a notification ({ex.Message})");
        }
    }
}
