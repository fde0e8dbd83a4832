using System.Globalization;
using System.Net;
using IoTPilots.FirmwareSim.Scenarios;
using IoTPilots.Mqtt;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// The simulator's command line, read and checked once, at start: any mistake is a <see cref="FormatException"/>
/// whose message starts with the option it is about, and the process exits 2 on it. A value that was given but
/// cannot take effect (a round trip without the slow-link scenario, a link scenario without relays) is a mistake
/// too, never silently ignored.
/// </summary>
public sealed record SimArguments
{
    public const string Usage = "usage: IoTPilots.FirmwareSim [--scenario NAME[,NAME...]] [--rtt-ms N] [--seed N] [--inventory-dir DIR] [--mqtt-url mqtt://HOST:PORT] [--bind ADDRESS]";

    /// <summary>The slow-link round trip's bounds, in ms: a link slower than a minute is a cut link.</summary>
    public const int MaxRoundTripMs = 60_000;

    public IReadOnlyList<Scenario> Scenarios { get; init; } = [new Baseline()];

    public int Seed { get; init; } = 1;

    public string? InventoryDir { get; init; }

    public MqttEndpoint? Broker { get; init; }

    public IPAddress Bind { get; init; } = IPAddress.Loopback;

    public static SimArguments Parse(IReadOnlyList<string> args)
    {
        var scenarioText = "baseline";
        TimeSpan? roundTrip = null;
        var parsed = new SimArguments();
        for (var i = 0; i < args.Count; i += 2)
        {
            var option = args[i];
            if (i + 1 >= args.Count || !option.StartsWith("--", StringComparison.Ordinal))
            {
                throw new FormatException(option.StartsWith("--", StringComparison.Ordinal) ? $"{option}: needs a value" : $"unexpected argument '{option}'");
            }

            var value = args[i + 1];
            switch (option)
            {
                case "--scenario":
                    scenarioText = value;
                    break;
                case "--rtt-ms":
                    roundTrip = TimeSpan.FromMilliseconds(Integer(option, value, 1, MaxRoundTripMs));
                    break;
                case "--seed":
                    parsed = parsed with { Seed = Integer(option, value, int.MinValue, int.MaxValue) };
                    break;
                case "--inventory-dir":
                    parsed = parsed with { InventoryDir = value.Length > 0 ? value : throw new FormatException($"{option}: needs a folder") };
                    break;
                case "--mqtt-url":
                    parsed = parsed with { Broker = MqttEndpoint.Parse(value, option) };
                    break;
                case "--bind":
                    parsed = parsed with { Bind = IPAddress.TryParse(value, out var address) ? address : throw new FormatException($"{option}: '{value}' is not an IP address") };
                    break;
                default:
                    throw new FormatException($"unknown option '{option}'");
            }
        }

        IReadOnlyList<Scenario> scenarios;
        try
        {
            scenarios = ScenarioCatalog.Parse(scenarioText, roundTrip);
        }
        catch (ArgumentException ex)
        {
            throw new FormatException($"--scenario: {ex.Message}", ex);
        }

        if (roundTrip is not null && !scenarios.OfType<SlowLink>().Any())
        {
            throw new FormatException("--rtt-ms: sets the slow-link scenario's round trip; add slow-link to --scenario");
        }

        if (scenarios.FirstOrDefault(s => s.NeedsUplinkRelays) is { } needsRelays && parsed.Broker is not { Tls: false })
        {
            throw new FormatException($"--scenario: {needsRelays.Name} acts on the gateways' uplinks, which run through the simulator's relays only with --mqtt-url naming a plain mqtt:// broker");
        }

        return parsed with { Scenarios = scenarios };
    }

    private static int Integer(string option, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new FormatException($"{option}: '{value}' is not a whole number from {min} to {max}");
}
