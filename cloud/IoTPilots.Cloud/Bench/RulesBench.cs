using System.Diagnostics;
using System.Globalization;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Bench;

/// <summary>
/// <c>IoTPilots.Cloud bench</c>: how many telemetry messages a second the rules engine judges with the shipped
/// rules, and how many alert events a second the alert store records. Timings live here, never in tests.
/// </summary>
public static class RulesBench
{
    public static int Run(TextWriter output)
    {
        var rules = RuleSet.Load(RuleSet.DefaultFile);
        var engine = new RulesEngine(rules);
        var t0 = DateTimeOffset.UtcNow;
        var devices = Enumerable.Range(1, 50).Select(i => $"tank-{i:D2}").ToArray();
        const int messages = 200_000;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < messages; i++)
        {
            var at = t0.AddSeconds(i / devices.Length * 5);
            var wave = Math.Sin(i / 500.0);
            engine.Observe(new TelemetryMessage(Pilots.Aquaculture, "bench", "gw-bench", devices[i % devices.Length], i,
            [
                new Reading("do_mg_l", at, 6 + wave, "mg/L", Quality.Good),
                new Reading("temp_c", at, 28.5 + wave, "degC", Quality.Good),
                new Reading("ph", at, 8 + (wave / 10), "pH", Quality.Good),
                new Reading("tan_mg_l", at, 0.5, "mg/L", Quality.Good),
                new Reading("no2_mg_l", at, 0.2, "mg/L", Quality.Good),
            ]));
        }

        Print(output, $"rules engine, {rules.Count} shipped rules, 5 readings per message, {devices.Length} devices", messages / clock.Elapsed.TotalSeconds, "messages/s");

        var dir = Directory.CreateTempSubdirectory("pilots-bench-").FullName;
        try
        {
            using var store = AlertStore.Open(Path.Combine(dir, "alerts.db"), TimeProvider.System);
            const int events = 5_000;
            clock.Restart();
            for (var i = 0; i < events; i++)
            {
                var series = new SeriesKey(Pilots.Aquaculture, "bench", "gw-bench", devices[i % devices.Length]);
                var transition = (i / devices.Length) % 2 == 0 ? AlertTransition.Raised : AlertTransition.Resolved;
                store.Apply(new AlertEvent(transition, "do-critical", Severity.Critical, series, "do_mg_l", t0.AddSeconds(i), t0.AddSeconds(i), 2.5, 2.5, new LocalizedText("en", "vi")));
            }

            Print(output, "alert store, raise/resolve events (SQLite, WAL)", events / clock.Elapsed.TotalSeconds, "events/s");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        return 0;
    }

    private static void Print(TextWriter output, string what, double rate, string unit) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench: {what}: {rate:N0} {unit}"));
}
