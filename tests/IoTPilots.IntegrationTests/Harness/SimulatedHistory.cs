using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;
using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Scenarios;
using IoTPilots.Rules;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>
/// Hours of the three pilots' data from the simulators' physics, in simulated time, as the cloud stores it: every
/// device of <see cref="FleetSignals.Devices"/> polled at its interval, a telemetry message per poll turned into
/// lines by <see cref="LineProtocol.FromMessage"/>, the shipped rules run over them (alert events as the rules
/// service writes them), plus the delivery summary, the ingestion counters, quarantine points and a gap report.
/// Deterministic for a seed and an end time.
/// </summary>
public sealed class SimulatedHistory
{
    /// <summary>
    /// Faults that cross the dashboards' thresholds, each in a window of the history (outside it the scenario stands at its
    /// start, before the fault): tank-03's DO falls below 3; furnace-1's cooling flow halves; a thermocouple is open for
    /// ten minutes; a storm blocks the cranes for twenty; sts-01's bearing wears through the ISO zones in the last
    /// fourteen minutes (it rises exponentially, so a longer run would leave any physical range).
    /// </summary>
    public static readonly (string Scenario, TimeSpan From, TimeSpan? Until)[] Faults =
    [
        ("aerator-failure", TimeSpan.FromMinutes(20), null),
        ("cooling-fault", TimeSpan.FromMinutes(30), null),
        ("sensor-fault", TimeSpan.FromMinutes(40), TimeSpan.FromMinutes(50)),
        ("wind-storm", TimeSpan.FromMinutes(50), TimeSpan.FromMinutes(70)),
        ("bearing-wear", TimeSpan.FromMinutes(-14), null),
    ];

    public const string Worker = "cloud-1";

    private SimulatedHistory(DateTimeOffset start, DateTimeOffset end) => (Start, End) = (start, end);

    public DateTimeOffset Start { get; }

    public DateTimeOffset End { get; }

    public List<string> Lines { get; } = [];

    /// <summary>Pilot → site → devices that sent telemetry.</summary>
    public Dictionary<string, Dictionary<string, SortedSet<string>>> Devices { get; } = [];

    /// <summary>Alert events raised, as (rule, device).</summary>
    public List<(string Rule, string Device)> Raised { get; } = [];

    public static SimulatedHistory Generate(DateTimeOffset end, TimeSpan length, int seed)
    {
        var start = DateTimeOffset.FromUnixTimeMilliseconds((end - length).ToUnixTimeMilliseconds() / 1000 * 1000);
        var history = new SimulatedHistory(start, end);
        var fleet = new Fleet(start, seed);
        var devices = FleetSignals.Devices(fleet);
        // A negative start counts from the end.
        var faults = Faults.Select(f => (Scenario: ScenarioCatalog.Create(f.Scenario), From: f.From < TimeSpan.Zero ? length + f.From : f.From, Until: f.Until ?? length)).ToList();
        var engine = new RulesEngine(RuleSet.Load(RuleSet.DefaultFile));
        var alertIds = new Dictionary<(string, SeriesKey, string), long>();
        var seqs = SimHost.Gateways.Keys.ToDictionary(g => g, _ => 0L);
        long readings = 0;
        var step = TimeSpan.FromSeconds(1);
        for (var t = step; start + t <= end; t += step)
        {
            var now = start + t;
            foreach (var (scenario, from, until) in faults)
            {
                scenario.Apply(fleet, t >= from && t < until ? t - from : TimeSpan.Zero);
            }

            fleet.Step(now, step);
            foreach (var device in devices.Where(d => (long)t.TotalSeconds % (long)d.PollInterval.TotalSeconds == 0))
            {
                var (site, pilot) = SimHost.Gateways[device.Gateway];
                site = device.Site ?? site;
                var message = new TelemetryMessage(pilot, site, device.Gateway, device.Device, ++seqs[device.Gateway],
                    device.Signals().Select(s => double.IsNaN(s.Value)
                        ? new Reading(s.Key, now, null, "", Quality.Bad)
                        : new Reading(s.Key, now, s.Value, "", Quality.Good)).ToList());
                readings += message.Readings.Count;
                history.Lines.AddRange(LineProtocol.FromMessage(message));
                history.Note(pilot, site, device.Device);
                history.Alerts(engine.Observe(message), alertIds);
                // As the rules service stores them: the ISO zone, NH3-N and cooling ΔT per MW for the panels that show them.
                history.Lines.AddRange(RulesService.DerivedLines(message, engine.LastDerived));
            }

            history.Alerts(engine.Tick(now), alertIds);
            if ((long)t.TotalSeconds % 10 == 0)
            {
                var ms = now.ToUnixTimeMilliseconds();
                foreach (var (gateway, seq) in seqs)
                {
                    history.Lines.Add(LineProtocol.Delivery(gateway, seq, 0, 0, ms));
                }

                var messages = seqs.Values.Sum();
                // One write error in the second hour, as when InfluxDB restarts; a few lines always in flight.
                history.Lines.Add(IngestStatsWriter.Line(Worker, messages, readings, readings, 2, t > TimeSpan.FromHours(1) ? 1 : 0, (long)t.TotalSeconds % 7, ms));
            }

            if ((long)t.TotalSeconds % 60 == 0)
            {
                foreach (var (gateway, (site, _)) in SimHost.Gateways)
                {
                    history.Lines.Add(Status(gateway, site, t, now));
                }
            }

            if ((long)t.TotalSeconds % 600 == 0)
            {
                history.Lines.Add(LineProtocol.Quarantine(RejectReason.MalformedJson, "pilots/v1/hp-port-1/gw-port-01/telemetry/sts-01", "bad json", 12, now.ToUnixTimeMilliseconds()));
                history.Lines.Add(LineProtocol.Quarantine("InfluxRefused", "telemetry,device=sts-01", "field type conflict", 80, now.ToUnixTimeMilliseconds()));
            }
        }

        history.Lines.Add(LineProtocol.Gap(new GapReport("hp-port-1", "gw-port-01", seqs["gw-port-01"] + 1, 5, 9, 5, 15, start, start + TimeSpan.FromMinutes(1), "byte budget full (drop-oldest)")));
        return history;
    }

    /// <summary>
    /// The gateway's status as the edge publishes it and the cloud stores it (<see cref="GatewayStatusWriter.Line"/>):
    /// online with an empty queue, except gw-port-01, whose link is down from 75 to 85 min (the broker's last will:
    /// offline, a queue growing by its 1.5 messages a second) and which then drains it in two minutes.
    /// </summary>
    private static string Status(string gateway, string site, TimeSpan t, DateTimeOffset now)
    {
        var (down, up) = (TimeSpan.FromMinutes(75), TimeSpan.FromMinutes(85));
        var outage = gateway == "gw-port-01" && t >= down && t < up + TimeSpan.FromMinutes(2);
        var queue = !outage ? 0 : t < up ? (int)((t - down).TotalSeconds * 1.5) : (int)(900 * (1 - ((t - up).TotalSeconds / 120)));
        var status = new GatewayStatus(site, gateway, outage && t < up ? GatewayStatus.Offline : GatewayStatus.Online, now, queue, queue > 0 ? now - (t - down) : null);
        return GatewayStatusWriter.Line(Topics.Status(site, gateway), status.Encode(), now.ToUnixTimeMilliseconds(), out var error) ?? throw new InvalidOperationException(error);
    }

    private void Note(string pilot, string site, string device)
    {
        var sites = Devices.TryGetValue(pilot, out var s) ? s : Devices[pilot] = [];
        (sites.TryGetValue(site, out var d) ? d : sites[site] = []).Add(device);
    }

    /// <summary>Each event as the rules service writes it (<c>RulesService.Apply</c>): one id per alert, from raised to resolved.</summary>
    private void Alerts(IReadOnlyList<AlertEvent> events, Dictionary<(string, SeriesKey, string), long> ids)
    {
        foreach (var e in events)
        {
            var key = (e.RuleId, e.Series, e.Field);
            if (e.Transition == AlertTransition.Raised)
            {
                ids[key] = ids.Count + 1;
                Raised.Add((e.RuleId, e.Series.Device));
            }

            Lines.Add(LineProtocol.AlertEvent(ids.GetValueOrDefault(key), e.Transition.ToString().ToLowerInvariant(), e.RuleId, e.Severity, e.Series, e.Field, e.Value, e.Message.En, e.At));
        }
    }

    /// <summary>
    /// Writes every line, in requests of a few thousand as the ingestion's group commits are; the gap report to the
    /// accounting state's retention policy, as the ingestion does.
    /// </summary>
    public async Task WriteAsync(InfluxWriter influx)
    {
        foreach (var chunk in Lines.Chunk(5000))
        {
            var (data, state) = DeliveryState.Split([.. chunk]);
            await influx.WriteAsync(data, CancellationToken.None);
            await influx.WriteAsync(state, DeliveryState.PolicyFor(influx.Endpoint), CancellationToken.None);
        }
    }
}
