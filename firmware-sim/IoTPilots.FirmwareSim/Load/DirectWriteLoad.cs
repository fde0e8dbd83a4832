using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace IoTPilots.FirmwareSim.Load;

/// <summary>
/// The ceiling of the InfluxDB itself, for the ingest bench: points shaped like the cloud's telemetry points (one
/// per message: four tags, the three readings as fields) written straight to <c>/write</c> as fast as it takes
/// them, in gzip batches of 5000 lines with two writes in flight, as the cloud writes. Prints one JSON line with
/// the points per second. No MQTT, no decoding: what the cloud could reach at best.
/// </summary>
internal static class DirectWriteLoad
{
    public const string Usage = "usage: IoTPilots.FirmwareSim load-influx --influx-url http://HOST:PORT --db NAME [--seconds S] [--site ID]";

    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i]] = args[i + 1];
        }

        if (args.Length % 2 != 0 || !values.TryGetValue("--influx-url", out var url) || !Uri.TryCreate(url, UriKind.Absolute, out var baseUri) || !values.TryGetValue("--db", out var db))
        {
            throw new FormatException("--influx-url (a URL) and --db are required");
        }

        var seconds = values.TryGetValue("--seconds", out var s) && double.TryParse(s, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : 10;
        var site = values.GetValueOrDefault("--site", $"direct-{DateTimeOffset.UtcNow:HHmmss}");
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var clock = Stopwatch.StartNew();
        long points = 0;
        long next = 0;
        async Task WriterAsync()
        {
            while (clock.Elapsed.TotalSeconds < seconds && !cancellationToken.IsCancellationRequested)
            {
                var first = Interlocked.Add(ref next, 5000) - 5000;
                using var content = Batch(site, start, first, 5000);
                using var response = await http.PostAsync($"write?db={Uri.EscapeDataString(db)}&precision=ms", content, cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException($"InfluxDB answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)}");
                }

                Interlocked.Add(ref points, 5000);
            }
        }

        await Task.WhenAll(WriterAsync(), WriterAsync()).ConfigureAwait(false);
        var elapsed = clock.Elapsed.TotalSeconds;
        await output.WriteLineAsync(JsonSerializer.Serialize(new { result = "direct", site, points, seconds = Math.Round(elapsed, 2), pointsPerSecond = Math.Round(points / elapsed) })).ConfigureAwait(false);
        return 0;
    }

    private static ByteArrayContent Batch(string site, long startMs, long first, int count)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new StreamWriter(gzip, new UTF8Encoding(false)))
        {
            for (var n = first; n < first + count; n++)
            {
                // 20 gateways of 8 devices, like the load generator's default fleet.
                var gateway = n % 20;
                var seq = n / 20;
                var value = (seq % 1000) / 10.0;
                writer.Write(string.Create(CultureInfo.InvariantCulture,
                    $"telemetry,device=dev-{seq % 8:D2},gateway=gw-{gateway + 1:D3},pilot=aquaculture,site={site} do_mg_l={5 + (value / 100):R},temp_c={20 + (value / 10):R},ph={7 + (value / 1000):R} {startMs + (seq / 8)}\n"));
            }
        }

        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }
}
