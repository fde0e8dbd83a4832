using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;

namespace IoTPilots.UnitTests;

public class LineProtocolTests
{
    private static readonly DateTimeOffset T = DateTimeOffset.FromUnixTimeMilliseconds(1795420798123);

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a b", "a\\ b")]
    [InlineData("a,b", "a\\,b")]
    [InlineData("a=b", "a\\=b")]
    [InlineData("line\nbreak", "line\\ break")]
    public void Keys_escape_comma_equals_and_space(string raw, string escaped) =>
        Assert.Equal(escaped, LineProtocol.EscapeKey(raw));

    [Fact]
    public void Measurement_escapes_comma_and_space_but_not_equals() =>
        Assert.Equal("m\\,x\\ y=z", LineProtocol.EscapeMeasurement("m,x y=z"));

    [Fact]
    public void String_fields_escape_quotes_and_backslashes() =>
        Assert.Equal("\"say \\\"hi\\\" C:\\\\dir\"", LineProtocol.EscapeStringField("say \"hi\" C:\\dir"));

    [Theory]
    [InlineData(6.0, "6")]
    [InlineData(6.52, "6.52")]
    [InlineData(-0.1, "-0.1")]
    [InlineData(1e-7, "1E-07")]
    public void Floats_use_invariant_round_trip_format(double value, string text) =>
        Assert.Equal(text, LineProtocol.FormatFloat(value));

    [Fact]
    public void Good_readings_of_one_instant_share_a_point_and_others_go_to_the_quality_measurement()
    {
        var message = new TelemetryMessage(Pilots.Aquaculture, "site-1", "gw-1", "tank-01", 5,
        [
            new Reading("do_mg_l", T, 6.52, "mg/L", Quality.Good),
            new Reading("temp_c", T, 28.3, "degC", Quality.Good),
            new Reading("ph", T, null, "pH", Quality.CommFailure),
            new Reading("orp_mv", T, 999, "mV", Quality.Bad),
        ]);

        var lines = LineProtocol.FromMessage(message);

        Assert.Equal(
        [
            "telemetry,device=tank-01,gateway=gw-1,pilot=aquaculture,site=site-1 do_mg_l=6.52,temp_c=28.3 1795420798123",
            "telemetry_quality,device=tank-01,gateway=gw-1,pilot=aquaculture,site=site-1,field=ph quality=\"comm-failure\" 1795420798123",
            "telemetry_quality,device=tank-01,gateway=gw-1,pilot=aquaculture,site=site-1,field=orp_mv quality=\"bad\",value=999 1795420798123",
        ], lines);
    }
}
