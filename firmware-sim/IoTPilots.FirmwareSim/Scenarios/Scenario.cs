namespace IoTPilots.FirmwareSim.Scenarios;

/// <summary>
/// A named fault or condition applied to the fleet on a timeline measured from the simulator's start.
/// Scenarios compress degradation, never the clock: timestamps stay real time. They compose: each acts on
/// its own equipment, and <see cref="Apply"/> runs every step before the physics.
/// </summary>
public abstract class Scenario(string name, string description)
{
    public string Name { get; } = name;

    public string Description { get; } = description;

    /// <summary>Acts on the gateways' uplinks, so it needs them to run through the simulator's relays (<c>--mqtt-url</c>).</summary>
    public virtual bool NeedsUplinkRelays => false;

    public abstract void Apply(Fleet fleet, TimeSpan elapsed);
}

/// <summary>The catalogue of scenarios and the parser of <c>--scenario a,b</c>.</summary>
public static class ScenarioCatalog
{
    public static readonly IReadOnlyList<string> Names =
        ["baseline", "aerator-failure", "bearing-wear", "cooling-fault", "wind-storm", "sensor-fault", "link-outage", "slow-link"];

    /// <param name="name">A name from <see cref="Names"/>.</param>
    /// <param name="roundTrip">The slow-link scenario's round trip; <see cref="SlowLink.DefaultRoundTrip"/> when null.</param>
    public static Scenario Create(string name, TimeSpan? roundTrip = null) => name switch
    {
        "baseline" => new Baseline(),
        "aerator-failure" => new AeratorFailure(),
        "bearing-wear" => new BearingWear(),
        "cooling-fault" => new CoolingFault(),
        "wind-storm" => new WindStorm(),
        "sensor-fault" => new SensorFault(),
        "link-outage" => new LinkOutage(),
        "slow-link" => new SlowLink(roundTrip ?? SlowLink.DefaultRoundTrip),
        _ => throw new ArgumentException($"unknown scenario '{name}' (available: {string.Join(", ", Names)})", nameof(name)),
    };

    /// <summary>Parses a comma-separated list, e.g. <c>aerator-failure,wind-storm</c>.</summary>
    public static IReadOnlyList<Scenario> Parse(string text, TimeSpan? roundTrip = null)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0)
        {
            throw new ArgumentException($"no scenario named (available: {string.Join(", ", Names)})", nameof(text));
        }

        return names.Distinct().Select(name => Create(name, roundTrip)).ToList();
    }
}

public sealed class Baseline() : Scenario("baseline", "normal operation of all three pilots")
{
    public override void Apply(Fleet fleet, TimeSpan elapsed)
    {
    }
}

/// <summary>
/// The named tank's aerator stops 30 s after start. tank-03 holds 100 kg/m³, whose demand (≈37 mg/L·h at
/// 28.5 °C [docs/domain.md A17]) takes DO from ≈6.5 mg/L below 3 mg/L in under 6 minutes; the others keep aerating.
/// </summary>
public sealed class AeratorFailure(string tank = "tank-03") : Scenario("aerator-failure", $"{tank}'s aerator stops at t+30 s")
{
    public static readonly TimeSpan At = TimeSpan.FromSeconds(30);

    public string Tank { get; } = tank;

    public override void Apply(Fleet fleet, TimeSpan elapsed) => fleet.Tanks[Tank].AeratorOn = elapsed < At;
}

/// <summary>
/// A hoist gearbox bearing wears: vibration grows exponentially so that, at the reference load, it crosses
/// ISO 10816-3 group 2 flexible zone C/D (7.1 mm/s [docs/domain.md V1]) about 8 minutes after start, and keeps rising.
/// </summary>
public sealed class BearingWear(string crane = "sts-01") : Scenario("bearing-wear", $"{crane} hoist gearbox bearing wears through the ISO 10816 zones")
{
    public const double ZoneCD = 7.1;
    public static readonly TimeSpan CrossCD = TimeSpan.FromMinutes(8);

    public string Crane { get; } = crane;

    public override void Apply(Fleet fleet, TimeSpan elapsed)
    {
        var crane = fleet.Cranes[Crane];
        crane.BearingWearFactor = 1;
        var healthy = crane.ReferenceVibration;
        var tau = CrossCD.TotalSeconds / Math.Log(ZoneCD / healthy);
        crane.BearingWearFactor = Math.Exp(elapsed.TotalSeconds / tau);
    }
}

/// <summary>A furnace's cooling-water flow falls by half, over 30 s from t+30 s: the ΔT doubles [docs/domain.md F8].</summary>
public sealed class CoolingFault(string furnace = "furnace-1") : Scenario("cooling-fault", $"{furnace} cooling-water flow falls by half from t+30 s")
{
    public string Furnace { get; } = furnace;

    public override void Apply(Fleet fleet, TimeSpan elapsed)
    {
        var ramp = Math.Clamp((elapsed.TotalSeconds - 30) / 30, 0, 1);
        fleet.Furnaces[Furnace].CoolingFlowFactor = 1 - (0.5 * ramp);
    }
}

/// <summary>
/// A storm over the port: from t+30 s the 10-minute mean rises to 17 m/s, so 3-s gusts pass 20 m/s
/// (the default stop limit [docs/domain.md section 3, U]) and the cranes' 75 km/h automatic block engages [docs/domain.md C1].
/// </summary>
public sealed class WindStorm(double meanMs = 17) : Scenario("wind-storm", $"the port's mean wind rises to {meanMs} m/s from t+30 s")
{
    public override void Apply(Fleet fleet, TimeSpan elapsed) => fleet.QuayWind.TargetMean = elapsed >= TimeSpan.FromSeconds(30) ? meanMs : 6;
}

/// <summary>A zone thermocouple goes open circuit at t+60 s; its controller reports its sensor-break value.</summary>
public sealed class SensorFault(string furnace = "furnace-1", int zone = 1) : Scenario("sensor-fault", $"{furnace} zone {zone + 1} thermocouple opens at t+60 s")
{
    public static readonly TimeSpan At = TimeSpan.FromSeconds(60);

    public string Furnace { get; } = furnace;

    public int Zone { get; } = zone;

    public override void Apply(Fleet fleet, TimeSpan elapsed) => fleet.Furnaces[Furnace].SensorBroken[Zone] = elapsed >= At;
}

/// <summary>One gateway's network to the broker drops for 60 s from t+60 s; its uplink proxy cuts and refuses connections.</summary>
public sealed class LinkOutage(string gateway = "gw-port-01") : Scenario("link-outage", $"{gateway} loses its uplink from t+60 s to t+120 s")
{
    public static readonly TimeSpan From = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan Until = TimeSpan.FromSeconds(120);

    public string Gateway { get; } = gateway;

    public override bool NeedsUplinkRelays => true;

    public override void Apply(Fleet fleet, TimeSpan elapsed)
    {
        if (elapsed >= From && elapsed < Until)
        {
            fleet.LinksDown.Add(Gateway);
        }
        else
        {
            fleet.LinksDown.Remove(Gateway);
        }
    }
}

/// <summary>
/// Every gateway's uplink runs over a cellular link from the start: each relay holds the bytes half the round
/// trip in each direction. 3G/4G round trips are 100-300 ms [issue 9]; 200 ms is the default, the figure the
/// uplink's performance targets are set for. Composes with <see cref="LinkOutage"/>: a slow link that also drops.
/// </summary>
public sealed class SlowLink(TimeSpan roundTrip, IReadOnlyList<string>? gateways = null)
    : Scenario("slow-link", $"{(gateways is null ? "every gateway" : string.Join(", ", gateways))}: uplink round trip {roundTrip.TotalMilliseconds:0} ms, from the start")
{
    public static readonly TimeSpan DefaultRoundTrip = TimeSpan.FromMilliseconds(200);

    public TimeSpan RoundTrip { get; } = roundTrip;

    public IReadOnlyList<string> Gateways { get; } = gateways ?? [.. SimHost.Gateways.Keys];

    public override bool NeedsUplinkRelays => true;

    public override void Apply(Fleet fleet, TimeSpan elapsed)
    {
        foreach (var gateway in Gateways)
        {
            fleet.LinkRoundTrips[gateway] = RoundTrip;
        }
    }
}
