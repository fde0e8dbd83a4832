using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IoTPilots.Contract;
using IoTPilots.Mqtt;

namespace IoTPilots.FirmwareSim.Load;

/// <summary>What <c>firmware-sim load</c> sends: many gateways, contract messages of three readings at QoS 1.</summary>
public sealed record LoadOptions(MqttEndpoint Broker)
{
    public int Gateways { get; init; } = 20;

    /// <summary>Messages per second for the whole fleet.</summary>
    public double Rate { get; init; } = 10_000;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The site id of this run: a fresh site per run, so runs never share a series and each is counted alone.</summary>
    public string Site { get; init; } = $"load-{DateTimeOffset.UtcNow:HHmmss}";

    /// <summary>QoS 1 publishes per gateway connection not yet acknowledged by the broker.</summary>
    public int Window { get; init; } = 1000;

    /// <summary>
    /// A URL answering JSON with a <c>messagesStored</c> count (the cloud's <c>/api/ingestion/stats</c>): sampled
    /// every <see cref="Sample"/> to print progress and compute the lag; nothing is sampled without it.
    /// </summary>
    public Uri? StatsUrl { get; init; }

    public TimeSpan Sample { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>After the load stops, keep sampling until the cloud has stored everything or this long passes.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.Zero;

    public int DevicesPerGateway { get; init; } = 8;

    /// <summary>Processes whose CPU time the report gives for this run's messages (name to pid), e.g. the broker, the database and the cloud.</summary>
    public IReadOnlyDictionary<string, int> CpuPids { get; init; } = new Dictionary<string, int>();
}

/// <summary>
/// Simulated gateways for the ingest bench: each gateway is one MQTT connection publishing contract messages of
/// three good readings at QoS 1, numbered 1, 2, 3... per gateway in epoch <c>{site}</c>, so the cloud's ledger and a
/// count per gateway reveal every loss. Sending is paced to the target rate in 10 ms steps; a gateway falls
/// behind only when the broker does not acknowledge fast enough (its window is full), and the report says so.
/// Timestamps are the run's start plus the message's index per device in milliseconds, so no two messages
/// of a device share a point (InfluxDB would keep one), whatever the rate.
/// </summary>
public static class LoadGenerator
{
    /// <summary>How long past its duration a run may go on sending what is due before the rest is left unsent.</summary>
    public static readonly TimeSpan SendGrace = TimeSpan.FromSeconds(2);

    /// <summary>How long after sending a gateway waits for the broker's PUBACKs before it disconnects.</summary>
    public static readonly TimeSpan AckGrace = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(LoadOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow;
        var gateways = new List<LoadGateway>();
        try
        {
            for (var g = 0; g < options.Gateways; g++)
            {
                var id = $"gw-{g + 1:D3}";
                gateways.Add(await LoadGateway.ConnectAsync(options.Broker, $"{options.Site}-{id}", options.Window, cancellationToken).ConfigureAwait(false));
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidDataException)
        {
            await output.WriteLineAsync($"load: cannot connect to {options.Broker}: {ex.Message}").ConfigureAwait(false);
            foreach (var gw in gateways)
            {
                await gw.DisposeAsync().ConfigureAwait(false);
            }

            return 1;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        // The cloud's stats need an API key (issue 11): the bench makes one and passes it in PILOTS_API_KEY.
        if (Environment.GetEnvironmentVariable("PILOTS_API_KEY") is { Length: > 0 } apiKey)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }

        var baseline = options.StatsUrl is null ? 0 : await StoredAsync(http, options.StatsUrl, cancellationToken).ConfigureAwait(false) ?? 0;
        var payloads = new LoadPayloads(options.Site, start, options.DevicesPerGateway);
        // A hard bound on sending: what a broker that falls behind keeps us from sending by then is never sent (the
        // report's sendRate says so), so a lagging run cannot stretch the bench.
        using var sendStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        sendStop.CancelAfter(options.Duration + SendGrace);
        var cpu = new CpuMeter(options.CpuPids);
        var clock = Stopwatch.StartNew();
        var senders = new List<Task>();
        var perGateway = options.Rate / options.Gateways;
        for (var g = 0; g < gateways.Count; g++)
        {
            var gateway = gateways[g];
            var gatewayId = $"gw-{g + 1:D3}";
            senders.Add(Task.Run(() => SendAsync(gateway, gatewayId, perGateway, options.Duration, clock, payloads, sendStop.Token, cancellationToken), cancellationToken));
        }

        var samples = new List<Sample>();
        var sending = Task.WhenAll(senders);
        var sendEnd = TimeSpan.Zero;
        IReadOnlyDictionary<string, double>? cpuSeconds = null;
        long totalSent() => gateways.Sum(g => g.Sent);
        while (!cancellationToken.IsCancellationRequested)
        {
            var done = sending.IsCompleted;
            if (done && sendEnd == TimeSpan.Zero)
            {
                sendEnd = clock.Elapsed;
            }

            var sent = totalSent();
            long? stored = options.StatsUrl is null ? null : await StoredAsync(http, options.StatsUrl, cancellationToken).ConfigureAwait(false) - baseline;
            var sample = new Sample(clock.Elapsed.TotalSeconds, sent, gateways.Sum(g => g.Acked), stored);
            samples.Add(sample);
            await output.WriteLineAsync(JsonSerializer.Serialize(new { t = Math.Round(sample.T, 2), sent, acked = sample.Acked, stored })).ConfigureAwait(false);
            if (done && (options.StatsUrl is null || stored >= sent || clock.Elapsed - sendEnd > options.Drain))
            {
                // CPU from the first publish to everything stored (or the drain's end): the cost of these messages.
                cpuSeconds = cpu.Elapsed();
                break;
            }

            await Task.Delay(options.Sample, cancellationToken).ConfigureAwait(false);
        }

        await sending.ConfigureAwait(false);
        await Task.WhenAll(gateways.Select(g => g.DrainAsync(AckGrace))).ConfigureAwait(false);
        var acked = gateways.Sum(g => g.Acked);
        foreach (var gw in gateways)
        {
            await gw.DisposeAsync().ConfigureAwait(false);
        }

        var report = LoadReport.From(samples, options.Rate, sendEnd.TotalSeconds);
        await output.WriteLineAsync(JsonSerializer.Serialize(new
        {
            result = "load",
            site = options.Site,
            gateways = options.Gateways,
            offered = options.Rate,
            seconds = options.Duration.TotalSeconds,
            sent = totalSent(),
            acked,
            sendRate = report.SendRate,
            stored = samples[^1].Stored,
            maxLagS = report.MaxLag,
            peakStoredRate = report.PeakRate,
            loadedStoredRate = report.LoadedRate,
            minStoredRate = report.MinLoadedRate,
            drainRate = report.DrainRate,
            drainS = report.DrainSeconds,
            unsent = (long)Math.Round(options.Rate * options.Duration.TotalSeconds) - totalSent(),
            cpuSeconds,
            cpuMessages = samples[^1].Stored ?? totalSent(),
            // Per gateway (gw-001 first): the publishes written and the PUBACKs read, so a bench that finds messages
            // missing can compare them with the cloud's ledger of sequence numbers per gateway.
            gatewaySent = gateways.Select(g => g.Sent).ToArray(),
            gatewayAcked = gateways.Select(g => g.Acked).ToArray(),
        })).ConfigureAwait(false);
        return 0;
    }

    private static async Task SendAsync(LoadGateway gateway, string gatewayId, double rate, TimeSpan duration, Stopwatch clock, LoadPayloads payloads, CancellationToken sendStop, CancellationToken cancellationToken)
    {
        long seq = 0;
        var begin = clock.Elapsed;
        try
        {
            while (!sendStop.IsCancellationRequested)
            {
                var elapsed = clock.Elapsed - begin;
                var due = (long)(Math.Min(elapsed.TotalSeconds, duration.TotalSeconds) * rate);
                while (seq < due)
                {
                    // sendStop only ever cancels the wait for a window slot, before anything of the message is written.
                    await gateway.PublishAsync(payloads, gatewayId, seq + 1, sendStop).ConfigureAwait(false);
                    seq++;
                }

                await gateway.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (elapsed >= duration)
                {
                    break;
                }

                await Task.Delay(10, sendStop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (sendStop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The hard bound: the rest of this gateway's messages are not sent.
        }

        await gateway.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<long?> StoredAsync(HttpClient http, Uri url, CancellationToken cancellationToken)
    {
        try
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync(url, cancellationToken).ConfigureAwait(false));
            return doc.RootElement.GetProperty("messagesStored").GetInt64();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return null;
        }
    }
}

internal sealed record Sample(double T, long Sent, long Acked, long? Stored);

/// <summary>Figures from the progress samples: lag, stored rates while loaded, and the drain after the load.</summary>
internal sealed record LoadReport(double SendRate, double? MaxLag, double? PeakRate, double? LoadedRate, double? MinLoadedRate, double? DrainRate, double? DrainSeconds)
{
    public static LoadReport From(IReadOnlyList<Sample> samples, double offered, double sendEnd)
    {
        var last = samples[^1];
        var atEnd = samples.LastOrDefault(s => s.T <= sendEnd + 1e-9) ?? last;
        var sendRate = sendEnd > 0 ? atEnd.Sent / sendEnd : 0;
        if (samples.Any(s => s.Stored is null))
        {
            return new LoadReport(sendRate, null, null, null, null, null, null);
        }

        // Lag at each sample: how long ago the sender had sent what the cloud has stored by now.
        double? maxLag = 0;
        foreach (var s in samples)
        {
            var caughtUp = samples.LastOrDefault(p => p.Sent <= s.Stored!.Value);
            var lag = caughtUp is null ? s.T : s.T - caughtUp.T;
            if (s.Stored < s.Sent || s.T <= sendEnd)
            {
                maxLag = Math.Max(maxLag.Value, s.Stored >= s.Sent ? 0 : lag);
            }
        }

        // Stored rate over 2 s windows.
        var rates = new List<(double T, double Rate)>();
        for (var i = 0; i < samples.Count; i++)
        {
            var j = samples.FindLastIndexBefore(i, samples[i].T - 2);
            if (j >= 0)
            {
                rates.Add((samples[i].T, (samples[i].Stored!.Value - samples[j].Stored!.Value) / (samples[i].T - samples[j].T)));
            }
        }

        var peak = rates.Count > 0 ? rates.Max(r => r.Rate) : (double?)null;
        // While loaded: from 3 s after the start (connections warm) to the end of sending.
        var loaded = rates.Where(r => r.T >= 3 && r.T <= sendEnd).Select(r => r.Rate).ToList();
        double? loadedRate = null;
        double? minLoaded = null;
        if (loaded.Count > 0)
        {
            loadedRate = loaded.Average();
            minLoaded = loaded.Min();
        }

        // Drain: what was left at the end of sending, over the time it took to store it.
        double? drainRate = null;
        double? drainSeconds = null;
        var finished = samples.FirstOrDefault(s => s.T > sendEnd && s.Stored >= s.Sent);
        if (atEnd.Sent - atEnd.Stored!.Value > 0 && finished is not null && finished.T > atEnd.T)
        {
            drainSeconds = finished.T - atEnd.T;
            drainRate = (finished.Stored!.Value - atEnd.Stored.Value) / drainSeconds;
        }

        _ = offered;
        return new LoadReport(sendRate, maxLag, peak, loadedRate, minLoaded, drainRate, drainSeconds);
    }
}

internal static class SampleListExtensions
{
    /// <summary>The last index before <paramref name="before"/> whose time is at most <paramref name="t"/>, or -1.</summary>
    public static int FindLastIndexBefore(this IReadOnlyList<Sample> samples, int before, double t)
    {
        for (var k = before - 1; k >= 0; k--)
        {
            if (samples[k].T <= t)
            {
                return k;
            }
        }

        return -1;
    }
}

internal static class LoadArguments
{
    public const string Usage = "usage: IoTPilots.FirmwareSim load --mqtt-url mqtt://HOST:PORT --rate MSG_PER_S [--seconds S] [--gateways N] [--site ID] [--window N] [--devices-per-gateway N] [--stats-url URL] [--drain S] [--cpu-pids NAME=PID,...]";

    public static LoadOptions Parse(string[] args)
    {
        MqttEndpoint? broker = null;
        var values = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length || !args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new FormatException($"bad or incomplete argument '{args[i]}'");
            }

            values[args[i]] = args[i + 1];
        }

        double Number(string name, double min, double fallback)
        {
            if (!values.Remove(name, out var text))
            {
                return fallback;
            }

            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && double.IsFinite(v)
                ? v
                : throw new FormatException($"{name}: '{text}' is not a number >= {min.ToString(CultureInfo.InvariantCulture)}");
        }

        if (values.Remove("--mqtt-url", out var url))
        {
            broker = MqttEndpoint.Parse(url, "--mqtt-url");
        }

        var options = new LoadOptions(broker ?? throw new FormatException("--mqtt-url is required"))
        {
            Rate = Number("--rate", 1, 10_000),
            Duration = TimeSpan.FromSeconds(Number("--seconds", 0.1, 10)),
            Gateways = (int)Number("--gateways", 1, 20),
            Window = (int)Math.Min(Number("--window", 1, 1000), 65535),
            Drain = TimeSpan.FromSeconds(Number("--drain", 0, 0)),
            DevicesPerGateway = (int)Number("--devices-per-gateway", 1, 8),
        };
        if (values.Remove("--site", out var site))
        {
            options = Identifiers.IsValid(site) && site.Length <= 40 ? options with { Site = site } : throw new FormatException($"--site: '{site}' is not an id (a-z 0-9 - _, at most 40)");
        }

        if (values.Remove("--stats-url", out var stats))
        {
            options = Uri.TryCreate(stats, UriKind.Absolute, out var u) ? options with { StatsUrl = u } : throw new FormatException($"--stats-url: '{stats}' is not a URL");
        }

        if (values.Remove("--cpu-pids", out var pids))
        {
            var parsed = new Dictionary<string, int>();
            foreach (var item in pids.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = item.IndexOf('=', StringComparison.Ordinal);
                parsed[eq > 0 ? item[..eq] : item] = eq > 0 && int.TryParse(item.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
                    ? pid
                    : throw new FormatException($"--cpu-pids: '{item}' is not NAME=PID");
            }

            options = options with { CpuPids = parsed };
        }

        return values.Count == 0 ? options : throw new FormatException($"unknown argument '{values.Keys.First()}'");
    }
}
