using IoTPilots.FirmwareSim.Aquaculture;
using IoTPilots.FirmwareSim.Factory;
using IoTPilots.FirmwareSim.Port;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// The three pilots' simulated equipment, as physics only (no protocols): four RAS tanks and a coastal buoy,
/// two furnaces and a rolling mill, three cranes under one quay wind. Deterministic for a seed. Scenarios act
/// on it by name; <see cref="SimHost"/> serves it over the hardware's protocols.
/// </summary>
public sealed class Fleet
{
    public Fleet(DateTimeOffset start, int seed)
    {
        Start = start;
        Random = new Random(seed);
        Tanks = new Dictionary<string, RasTank>
        {
            ["tank-01"] = new(new RasTankParameters { StockingKgPerM3 = 20 }, start),
            ["tank-02"] = new(new RasTankParameters { StockingKgPerM3 = 30, MeanTempC = 28.8 }, start),
            // A high-density RAS module: 100 kg/m³ is within the 50-120 range where a subsystem failure
            // causes losses within minutes [docs/domain.md A16]; the aerator-failure scenario's default victim.
            ["tank-03"] = new(new RasTankParameters { StockingKgPerM3 = 100 }, start),
            ["tank-04"] = new(new RasTankParameters { StockingKgPerM3 = 40, SalinityPpt = 18 }, start),
        };
        Buoy = new CoastalBuoy(start);
        Furnaces = new Dictionary<string, Furnace>
        {
            // Billet reheat furnace: discharge up to 1150 °C [docs/domain.md F6]; K for the preheat zone, S above its range.
            ["furnace-1"] = new(new FurnaceParameters
            {
                Id = "furnace-1",
                RatedPowerKw = 3000,
                Zones =
                [
                    new ZoneSpec("zone-1", 900, ThermocoupleType.K, TimeSpan.FromMinutes(8)),
                    new ZoneSpec("zone-2", 1150, ThermocoupleType.S, TimeSpan.FromMinutes(10)),
                    new ZoneSpec("zone-3", 1180, ThermocoupleType.S, TimeSpan.FromMinutes(10)),
                ],
            }, start),
            // Induction melting furnace: liquid steel ≈1620 °C [docs/domain.md F3], type B thermocouple.
            ["furnace-2"] = new(new FurnaceParameters
            {
                Id = "furnace-2",
                RatedPowerKw = 3000,
                Zones = [new ZoneSpec("bath", 1620, ThermocoupleType.B, TimeSpan.FromMinutes(6))],
                MeltCycle = (TimeSpan.FromMinutes(12), TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(2)),
            }, start),
        };
        Mill = new RollingMill(start);
        QuayWind = new Wind(new Random(seed + 1));
        Cranes = new Dictionary<string, Crane>
        {
            ["sts-01"] = new(new CraneParameters { Id = "sts-01", Kind = CraneKind.Sts }, new Random(seed + 2), QuayWind),
            ["sts-02"] = new(new CraneParameters { Id = "sts-02", Kind = CraneKind.Sts }, new Random(seed + 3), QuayWind),
            ["rtg-01"] = new(new CraneParameters { Id = "rtg-01", Kind = CraneKind.Rtg }, new Random(seed + 4), QuayWind),
        };
    }

    public DateTimeOffset Start { get; }

    /// <summary>Sensor noise and any other randomness of the protocol layer; seeded.</summary>
    public Random Random { get; }

    public IReadOnlyDictionary<string, RasTank> Tanks { get; }

    public CoastalBuoy Buoy { get; }

    public IReadOnlyDictionary<string, Furnace> Furnaces { get; }

    public RollingMill Mill { get; }

    public Wind QuayWind { get; }

    public IReadOnlyDictionary<string, Crane> Cranes { get; }

    /// <summary>Gateways whose uplink is cut now (the link-outage scenario); the uplink proxies obey it.</summary>
    public HashSet<string> LinksDown { get; } = [];

    /// <summary>The round trip each gateway's uplink adds now (the slow-link scenario); the uplink proxies obey it.</summary>
    public Dictionary<string, TimeSpan> LinkRoundTrips { get; } = [];

    public void Step(DateTimeOffset now, TimeSpan dt)
    {
        foreach (var tank in Tanks.Values)
        {
            tank.Step(now, dt);
        }

        Buoy.Step(now);
        foreach (var furnace in Furnaces.Values)
        {
            furnace.Step(now, dt);
        }

        Mill.Step(now, dt);
        // The wind belongs to the quay: step it once, and let the cranes read it.
        var first = true;
        foreach (var crane in Cranes.Values)
        {
            if (first)
            {
                crane.Step(dt);
                first = false;
            }
            else
            {
                crane.StepWithoutWind(dt);
            }
        }
    }
}
