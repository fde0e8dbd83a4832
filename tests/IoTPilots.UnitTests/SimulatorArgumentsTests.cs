using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Scenarios;

namespace IoTPilots.UnitTests;

/// <summary>The simulator's command line (checked once, at start) and the slow-link scenario.</summary>
public sealed class SimulatorArgumentsTests
{
    private const string Broker = "mqtt://127.0.0.1:1883";

    [Fact]
    public void No_arguments_mean_the_baseline_with_seed_1_on_loopback()
    {
        var options = SimArguments.Parse([]);

        Assert.Equal(["baseline"], options.Scenarios.Select(s => s.Name));
        Assert.Equal(1, options.Seed);
        Assert.Equal(System.Net.IPAddress.Loopback, options.Bind);
        Assert.Null(options.Broker);
    }

    [Fact]
    public void Slow_link_composes_with_link_outage_and_takes_its_round_trip_from_rtt_ms()
    {
        var options = SimArguments.Parse(["--scenario", "slow-link,link-outage", "--rtt-ms", "300", "--mqtt-url", Broker]);

        Assert.Equal(["slow-link", "link-outage"], options.Scenarios.Select(s => s.Name));
        Assert.Equal(TimeSpan.FromMilliseconds(300), options.Scenarios.OfType<SlowLink>().Single().RoundTrip);
    }

    [Fact]
    public void Slow_link_defaults_to_a_200_ms_round_trip()
    {
        // 3G/4G round trips are 100-300 ms [issue 9]; the uplink's targets are set at 200 ms.
        var options = SimArguments.Parse(["--scenario", "slow-link", "--mqtt-url", Broker]);

        Assert.Equal(TimeSpan.FromMilliseconds(200), options.Scenarios.OfType<SlowLink>().Single().RoundTrip);
    }

    [Theory]
    [InlineData("--seed: 'abc' is not a whole number", "--seed", "abc")]
    [InlineData("--seed: needs a value", "--seed")]
    [InlineData("--rtt-ms: '0' is not a whole number from 1 to 60000", "--scenario", "slow-link", "--mqtt-url", Broker, "--rtt-ms", "0")]
    [InlineData("--rtt-ms: '200ms' is not a whole number", "--scenario", "slow-link", "--mqtt-url", Broker, "--rtt-ms", "200ms")]
    [InlineData("--rtt-ms: sets the slow-link scenario's round trip", "--scenario", "link-outage", "--mqtt-url", Broker, "--rtt-ms", "300")]
    [InlineData("--scenario: slow-link acts on the gateways' uplinks", "--scenario", "slow-link")]
    [InlineData("--scenario: link-outage acts on the gateways' uplinks", "--scenario", "baseline,link-outage", "--mqtt-url", "mqtts://broker.example:8883")]
    [InlineData("--scenario: unknown scenario 'meteor'", "--scenario", "meteor")]
    [InlineData("--mqtt-url: 'http://127.0.0.1:1883' is not an MQTT URL", "--mqtt-url", "http://127.0.0.1:1883")]
    [InlineData("--bind: 'localhost' is not an IP address", "--bind", "localhost")]
    [InlineData("--inventory-dir: needs a folder", "--inventory-dir", "")]
    [InlineData("unknown option '--speed'", "--speed", "2")]
    [InlineData("unexpected argument 'slow-link'", "slow-link", "--seed", "1")]
    public void A_bad_argument_is_refused_naming_the_option(string expected, params string[] args)
    {
        var ex = Assert.Throws<FormatException>(() => SimArguments.Parse(args));

        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Slow_link_slows_every_gateway_from_the_start_and_link_outage_still_cuts_one()
    {
        var fleet = new Fleet(DateTimeOffset.Parse("2026-12-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), 1);
        Scenario[] scenarios = [new SlowLink(TimeSpan.FromMilliseconds(250)), new LinkOutage("gw-port-01")];

        for (var t = TimeSpan.Zero; t < TimeSpan.FromMinutes(3); t += TimeSpan.FromSeconds(1))
        {
            foreach (var scenario in scenarios)
            {
                scenario.Apply(fleet, t);
            }

            Assert.Equal(SimHost.Gateways.Keys.Order(), fleet.LinkRoundTrips.Keys.Order());
            Assert.All(fleet.LinkRoundTrips.Values, rtt => Assert.Equal(TimeSpan.FromMilliseconds(250), rtt));
            Assert.Equal(t >= LinkOutage.From && t < LinkOutage.Until, fleet.LinksDown.Contains("gw-port-01"));
        }
    }
}
