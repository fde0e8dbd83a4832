using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using IoTPilots.Contract;
using IoTPilots.Mqtt;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.FirmwareSim.Load;

/// <summary>
/// <c>firmware-sim alert-latency</c>, the measuring half of <c>./run bench alert-latency</c>: it is the webhook
/// receiver (PILOTS_WEBHOOK_URL points at it) and it publishes the readings, so both ends of each measurement are
/// read from one monotonic clock. Probe pairs go to devices <c>lat-NNNN</c>, one device per pair: a DO reading
/// below the rule's threshold (an alert raised), then one above its clear level (resolved). A fresh series per pair
/// keeps the probes clear of flap suppression (issue 10: an alert opening and clearing N times in M minutes).
/// Latency: from just before the QoS 1 publish to the webhook's request arriving, matched by device and state.
/// </summary>
public static class AlertLatencyProbe
{
    public const string Usage = "usage: IoTPilots.FirmwareSim alert-latency --mqtt-url mqtt://HOST:PORT --webhook-port PORT [--probes N] [--warmup N] [--gap-ms MS] [--site ID] [--stats-url URL]";

    private const double Low = 2.0;
    private const double High = 4.0;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length || !args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new FormatException($"bad or incomplete argument '{args[i]}'");
            }

            values[args[i]] = args[i + 1];
        }

        int Whole(string name, int min, int max, int fallback) =>
            !values.TryGetValue(name, out var text) ? fallback
            : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max ? v
            : throw new FormatException($"{name}: '{text}' is not a whole number from {min} to {max}");

        var broker = MqttEndpoint.Parse(values.GetValueOrDefault("--mqtt-url") ?? throw new FormatException("--mqtt-url is required"), "--mqtt-url");
        var port = Whole("--webhook-port", 1, 65535, 0);
        if (port == 0)
        {
            throw new FormatException("--webhook-port is required");
        }

        var probes = Whole("--probes", 2, 100_000, 200);
        var warmup = Whole("--warmup", 0, 1000, 10);
        var gap = TimeSpan.FromMilliseconds(Whole("--gap-ms", 0, 60_000, 50));
        var site = values.GetValueOrDefault("--site", "latency");
        var stats = values.TryGetValue("--stats-url", out var s) ? (Uri.TryCreate(s, UriKind.Absolute, out var u) ? u : throw new FormatException($"--stats-url: '{s}' is not a URL")) : null;

        var waiting = new ConcurrentDictionary<(string Device, string State), TaskCompletionSource<long>>();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        listener.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receiving = ReceiveAsync(listener, waiting, stop.Token);

        using var client = new MqttClientFactory().CreateMqttClient();
        var connect = new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId($"alert-latency-{Environment.ProcessId}").WithCleanStart();
        if (broker.Username is not null)
        {
            connect.WithCredentials(broker.Username, broker.Password);
        }

        await client.ConnectAsync(connect.Build(), cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        using var http = new HttpClient();
        // The cloud's stats need an API key (issue 11): the bench makes one and passes it in PILOTS_API_KEY.
        if (Environment.GetEnvironmentVariable("PILOTS_API_KEY") is { Length: > 0 } apiKey)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }

        var readingsBefore = await ReadingsAsync(http, stats).ConfigureAwait(false);
        var window = Stopwatch.StartNew();

        var latencies = new List<double>();
        var missed = 0;
        var seq = 0L;
        for (var i = 0; i < warmup + probes; i++)
        {
            var device = $"lat-{i / 2:D4}";
            var raise = i % 2 == 0;
            var key = (device, raise ? "raised" : "resolved");
            var arrived = waiting.GetOrAdd(key, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));
            var message = new TelemetryMessage(Pilots.Aquaculture, site, "gw-latency", device, ++seq,
                [new Reading("do_mg_l", DateTimeOffset.UtcNow, raise ? Low : High, "mg/L", Quality.Good)]);
            var sent = Stopwatch.GetTimestamp();
            await client.PublishAsync(
                new MqttApplicationMessageBuilder().WithTopic(Topics.Telemetry(site, "gw-latency", device)).WithPayload(TelemetryCodec.Encode(message))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(),
                cancellationToken).ConfigureAwait(false);
            try
            {
                var at = await arrived.Task.WaitAsync(Timeout, cancellationToken).ConfigureAwait(false);
                if (i >= warmup)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(sent, at).TotalMilliseconds);
                }
            }
            catch (TimeoutException)
            {
                missed += i >= warmup ? 1 : 0;
            }

            await Task.Delay(gap, cancellationToken).ConfigureAwait(false);
        }

        var seconds = window.Elapsed.TotalSeconds;
        var readingsAfter = await ReadingsAsync(http, stats).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        listener.Stop();
        await receiving.ConfigureAwait(false);

        latencies.Sort();
        double? P(double q) => latencies.Count == 0 ? null : Math.Round(latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)], 1);
        var ingested = readingsBefore is { } b && readingsAfter is { } a ? Math.Round((a - b) / seconds) : (double?)null;
        string F(double? v) => v?.ToString("0.0", CultureInfo.InvariantCulture) ?? "-";
        output.WriteLine($"{"probes",8}{"missed",8}{"p50 ms",10}{"p95 ms",10}{"p99 ms",10}{"max ms",10}{"ingested readings/s",22}");
        output.WriteLine($"{latencies.Count,8}{missed,8}{F(P(0.50)),10}{F(P(0.95)),10}{F(P(0.99)),10}{F(P(1.0)),10}{(ingested?.ToString("#,0", CultureInfo.InvariantCulture) ?? "-"),22}");
        output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["bench"] = "alert-latency",
            ["p50_ms"] = P(0.50),
            ["p95_ms"] = P(0.95),
            ["p99_ms"] = P(0.99),
            ["max_ms"] = P(1.0),
            ["probes"] = latencies.Count,
            ["missed"] = missed,
            ["ingested_readings_per_s"] = ingested,
        }));
        return missed == 0 && latencies.Count > 0 ? 0 : 1;
    }

    /// <summary>The cloud's ingested-readings counter (GET /api/ingestion/stats), to show the background load was really flowing.</summary>
    private static async Task<long?> ReadingsAsync(HttpClient http, Uri? stats)
    {
        if (stats is null)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(await http.GetStringAsync(stats).ConfigureAwait(false));
        return doc.RootElement.GetProperty("readings").GetInt64();
    }

    private static async Task ReceiveAsync(HttpListener listener, ConcurrentDictionary<(string, string), TaskCompletionSource<long>> waiting, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().WaitAsync(stop).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            var at = Stopwatch.GetTimestamp();
            try
            {
                using var doc = await JsonDocument.ParseAsync(context.Request.InputStream, cancellationToken: stop).ConfigureAwait(false);
                var device = doc.RootElement.GetProperty("device").GetString() ?? "";
                var state = doc.RootElement.GetProperty("state").GetString() ?? "";
                waiting.GetOrAdd((device, state), _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(at);
                context.Response.StatusCode = 200;
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                // Not a webhook of ours: say so, as any receiver would; the probe it was meant for times out and counts as missed.
                context.Response.StatusCode = 400;
            }

            context.Response.Close();
        }
    }
}
