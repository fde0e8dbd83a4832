using IoTPilots.FirmwareSim.Load;

namespace IoTPilots.UnitTests;

/// <summary>The load generator's command line (the ingest bench's input): a mistake names the option.</summary>
public sealed class LoadArgumentsTests
{
    private const string Broker = "mqtt://127.0.0.1:1883";

    [Fact]
    public void Given_values_are_used_and_the_rest_default()
    {
        var options = LoadArguments.Parse(["--mqtt-url", Broker, "--rate", "40000", "--gateways", "10", "--site", "ramp-40000"]);

        Assert.Equal(40_000, options.Rate);
        Assert.Equal(10, options.Gateways);
        Assert.Equal("ramp-40000", options.Site);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Duration);
    }

    [Theory]
    [InlineData(new[] { "--rate", "100" }, "--mqtt-url is required")]
    [InlineData(new[] { "--mqtt-url", Broker, "--rate", "fast" }, "--rate: 'fast'")]
    [InlineData(new[] { "--mqtt-url", Broker, "--rate", "0" }, "--rate: '0'")]
    [InlineData(new[] { "--mqtt-url", Broker, "--seconds", "NaN" }, "--seconds: 'NaN'")]
    [InlineData(new[] { "--mqtt-url", Broker, "--site", "Bad Site" }, "--site: 'Bad Site'")]
    [InlineData(new[] { "--mqtt-url", Broker, "--stats-url", "not a url" }, "--stats-url: 'not a url'")]
    [InlineData(new[] { "--mqtt-url", Broker, "--colour", "red" }, "unknown argument '--colour'")]
    [InlineData(new[] { "--mqtt-url", Broker, "--rate" }, "bad or incomplete argument '--rate'")]
    [InlineData(new[] { "--mqtt-url", "http://x" }, "--mqtt-url")]
    public void A_bad_argument_is_refused_naming_it(string[] args, string expected)
    {
        var error = Assert.Throws<FormatException>(() => LoadArguments.Parse(args));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
