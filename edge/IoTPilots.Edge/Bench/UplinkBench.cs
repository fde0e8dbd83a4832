using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Publishing;
using IoTPilots.Edge.Queue;
using IoTPilots.Mqtt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Bench;

/// <summary>
/// <c>IoTPilots.Edge bench uplink --broker URL [--via URL] [--rtt-ms N]</c>: the real edge agent (its queue and
/// publisher, wired as Program.cs does, with no devices) drains messages to a broker, through the delaying relay
/// at <c>--via</c> when given, while <c>mosquitto_sub</c> on the broker itself counts what arrives and when.
/// Phases: live at 500 messages/s; the largest burst the window carries; a 10,000-message backlog under 10
/// live messages/s; and the same burst on loopback, without the relay. The queue runs without fsync here, so
/// the figures are the uplink's; <c>bench edge-codec</c> measures the disk. Timings live here, never in tests.
/// </summary>
public static class UplinkBench
{
    private const string Site = "bench-site";
    private const string Device = "tank-01";

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        string? broker = null;
        string? via = null;
        var rttMs = 0;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--broker": broker = args[i + 1]; break;
                case "--via": via = args[i + 1]; break;
                case "--rtt-ms": rttMs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"bench uplink: unknown argument {args[i]}");
            }
        }

        if (broker is null)
        {
            output.WriteLine("usage: IoTPilots.Edge bench uplink --broker mqtt://HOST:PORT [--via mqtt://RELAY:PORT --rtt-ms N]");
            return 2;
        }

        var direct = MqttEndpoint.Parse(broker, "--broker");
        var slow = via is null ? null : MqttEndpoint.Parse(via, "--via");
        var rtt = $"{rttMs} ms";
        var results = new List<Result>();
        if (slow is not null)
        {
            results.Add(await RunPhaseAsync("live", rtt, direct, slow, backlog: 0, liveRate: 500, liveFor: TimeSpan.FromSeconds(10), burst: 0).ConfigureAwait(false));
            results.Add(await RunPhaseAsync("burst", rtt, direct, slow, backlog: 0, liveRate: 0, liveFor: TimeSpan.Zero, burst: 10_000).ConfigureAwait(false));
            results.Add(await RunPhaseAsync("backlog", rtt, direct, slow, backlog: 10_000, liveRate: 10, liveFor: TimeSpan.Zero, burst: 0).ConfigureAwait(false));
        }

        results.Add(await RunPhaseAsync("loopback", "0 (direct)", direct, direct, backlog: 0, liveRate: 0, liveFor: TimeSpan.Zero, burst: 20_000).ConfigureAwait(false));
        Print(output, results);
        return 0;
    }

    private sealed record Result(string Phase, string Rtt, int Sent, int Received, double Rate, double LagP50, double LagP99, double BacklogRate);

    private static async Task<Result> RunPhaseAsync(string phase, string rtt, MqttEndpoint broker, MqttEndpoint link, int backlog, double liveRate, TimeSpan liveFor, int burst)
    {
        var gateway = $"gw-bench-{phase}-{Guid.NewGuid().ToString("N")[..6]}";
        var dir = Directory.CreateTempSubdirectory("pilots-bench-uplink-").FullName;
        try
        {
            var inventory = new Inventory(gateway, Site, [], "bench") { Queue = new QueueSettings { Directory = dir, Fsync = false } };
            using var subscriber = await Subscriber.StartAsync(broker, Topics.Telemetry(Site, gateway, Device)).ConfigureAwait(false);
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddEdgeAgent(inventory, new Uplink(link, null));
            using var host = builder.Build();
            var queue = host.Services.GetRequiredService<EdgeQueue>();
            var device = new DeviceConfig { Id = Device, Pilot = Pilots.Aquaculture, Site = Site, Bus = Buses.ModbusTcp, Address = "127.0.0.1:1", Signals = [] };
            void Append(int count)
            {
                for (var i = 0; i < count; i++)
                {
                    queue.Enqueue(new DeviceBatch(device, [new Reading("do_mg_l", DateTimeOffset.UtcNow, 6.5, "mg/L", Quality.Good)]));
                }
            }

            Append(backlog);
            var start = Stopwatch.GetTimestamp();
            await host.StartAsync().ConfigureAwait(false);
            var sent = backlog;
            if (burst > 0 || liveFor > TimeSpan.Zero)
            {
                // One record first, to know the link is up: what is appended after that is live.
                Append(1);
                sent++;
                await subscriber.WaitForAsync(1, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
                start = Stopwatch.GetTimestamp();
                subscriber.Reset();
                sent = 0;
            }

            else if (backlog > 0)
            {
                // Live readings start once the link is up: those taken before belong to the outage, hence to the backlog.
                await subscriber.WaitForAsync(1, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            }

            Append(burst);
            sent += burst;
            var liveStart = Stopwatch.GetTimestamp();
            var produceUntil = liveFor > TimeSpan.Zero ? liveFor : TimeSpan.MaxValue;
            var liveSent = 0;
            while (liveRate > 0)
            {
                var elapsed = Stopwatch.GetElapsedTime(liveStart);
                var due = (int)(Math.Min(elapsed.TotalSeconds, produceUntil.TotalSeconds) * liveRate) - liveSent;
                if (due > 0)
                {
                    Append(due);
                    liveSent += due;
                    sent += due;
                }

                // Live data keeps coming until the phase's time is up, or until the backlog has drained.
                if (elapsed >= produceUntil || (backlog > 0 && subscriber.CountUpTo(backlog) >= backlog))
                {
                    break;
                }

                await Task.Delay(5).ConfigureAwait(false);
            }

            await subscriber.WaitForAsync(sent, TimeSpan.FromMinutes(3)).ConfigureAwait(false);
            var arrivals = subscriber.Arrivals;
            await host.StopAsync().ConfigureAwait(false);
            var live = backlog > 0 ? arrivals.Where(a => a.Seq > backlog).ToList() : arrivals;
            var lags = live.Select(a => a.LagMs).Order().ToList();
            // Arrival rate from the first arrival to the last, so a steady stream measures its own rate, not the link's delay.
            var spanS = arrivals.Count < 2 ? 0 : (arrivals.Max(a => a.At) - arrivals.Min(a => a.At)) / (double)Stopwatch.Frequency;
            var backlogRate = 0.0;
            if (backlog > 0)
            {
                var backlogDone = arrivals.Where(a => a.Seq <= backlog).Select(a => a.At).DefaultIfEmpty(start).Max();
                backlogRate = backlog / ((backlogDone - start) / (double)Stopwatch.Frequency);
            }

            var distinct = arrivals.Select(a => a.Seq).Distinct().Count();
            return new Result(phase, rtt, sent, distinct, spanS > 0 ? (distinct - 1) / spanS : 0, Percentile(lags, 0.50), Percentile(lags, 0.99), backlogRate);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static void Print(TextWriter output, List<Result> results)
    {
        output.WriteLine("| phase | round trip | sent | received | msg/s | lag p50 ms | lag p99 ms | backlog msg/s |");
        output.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Phase} | {r.Rtt} | {r.Sent} | {r.Received} | {r.Rate:0} | {r.LagP50:0} | {r.LagP99:0} | {(r.BacklogRate > 0 ? r.BacklogRate.ToString("0", CultureInfo.InvariantCulture) : "-")} |"));
        }

        // Written field by field rather than serialised by reflection, so the agent stays trimmable (native AOT build).
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteString("bench", "uplink");
            w.WriteStartArray("results");
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("phase", r.Phase);
                w.WriteString("rtt", r.Rtt);
                w.WriteNumber("sent", r.Sent);
                w.WriteNumber("received", r.Received);
                w.WriteNumber("lost", r.Sent - r.Received);
                w.WriteNumber("msg_per_s", Math.Round(r.Rate));
                w.WriteNumber("lag_p50_ms", Math.Round(r.LagP50));
                w.WriteNumber("lag_p99_ms", Math.Round(r.LagP99));
                w.WriteNumber("backlog_msg_per_s", Math.Round(r.BacklogRate));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(json.ToArray()));
    }

    /// <summary>
    /// <c>mosquitto_sub</c> on the broker itself (not through the relay), printing each payload on a line; this
    /// side notes when each arrives and the lag from its reading's timestamp (same machine, same clock).
    /// </summary>
    private sealed class Subscriber : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<Arrival> _arrivals = new();
        private readonly Task _reading;
        private volatile bool _probed;

        private Subscriber(Process process)
        {
            _process = process;
            _reading = Task.Run(ReadAsync);
        }

        public int Received => _arrivals.Count;

        public List<Arrival> Arrivals => [.. _arrivals];

        public static async Task<Subscriber> StartAsync(MqttEndpoint broker, string topic)
        {
            var start = new ProcessStartInfo("mosquitto_sub") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-h", broker.Host, "-p", broker.Port.ToString(CultureInfo.InvariantCulture), "-t", topic, "-q", "1", "-F", "%p" })
            {
                start.ArgumentList.Add(a);
            }

            var subscriber = new Subscriber(Process.Start(start) ?? throw new InvalidOperationException("mosquitto_sub did not start"));

            // Subscribed once a probe published after it comes back.
            var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
            while (!subscriber._probed)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException("mosquitto_sub did not receive its probe");
                }

                using var pub = Process.Start("mosquitto_pub", ["-h", broker.Host, "-p", broker.Port.ToString(CultureInfo.InvariantCulture), "-t", topic, "-m", "probe", "-q", "1"]);
                await pub.WaitForExitAsync().ConfigureAwait(false);
                await Task.Delay(100).ConfigureAwait(false);
            }

            return subscriber;
        }

        public void Reset() => _arrivals.Clear();

        public int CountUpTo(long seq) => _arrivals.Count(a => a.Seq <= seq);

        public async Task WaitForAsync(int distinct, TimeSpan timeout)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (_arrivals.Select(a => a.Seq).Distinct().Count() < distinct && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }

        private async Task ReadAsync()
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                var at = Stopwatch.GetTimestamp();
                if (line == "probe")
                {
                    _probed = true;
                    continue;
                }

                using var json = JsonDocument.Parse(line);
                var seq = json.RootElement.GetProperty("seq").GetInt64();
                var ts = json.RootElement.GetProperty("readings")[0].GetProperty("ts").GetInt64();
                _arrivals.Enqueue(new Arrival(seq, at, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - ts));
            }
        }

        public void Dispose()
        {
            _process.Kill();
            _process.WaitForExit();
            _reading.Wait(TimeSpan.FromSeconds(5));
            _process.Dispose();
        }
    }

    private readonly record struct Arrival(long Seq, long At, double LagMs);
}
