using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;

namespace IoTPilots.UnitTests;

public class DeliveryLineTests
{
    [Fact]
    public void Ledger_point_is_keyed_by_gateway_epoch_and_sequence_so_replays_overwrite()
    {
        Assert.Equal("delivery_ledger,gateway=gw-1,kind=telemetry seq=42i 42", LineProtocol.Ledger("gw-1", "", 42, "telemetry"));
        Assert.Equal("delivery_ledger,epoch=20261123T185000Z-3f9a,gateway=gw-1,kind=gap seq=7i 7", LineProtocol.Ledger("gw-1", "20261123T185000Z-3f9a", 7, "gap"));
    }

    [Fact]
    public void Gap_report_carries_its_epoch_to_the_gap_point()
    {
        var gap = new GapReport("s", "gw-1", 99, 10, 20, 11, 33, DateTimeOffset.FromUnixTimeMilliseconds(1795420798000), DateTimeOffset.FromUnixTimeMilliseconds(1795420799000), "age limit") { Epoch = "e-2" };

        var decoded = GapReport.TryDecode(gap.Encode(), out _);

        Assert.Equal("e-2", decoded!.Epoch);
        Assert.StartsWith("delivery_gap,epoch=e-2,gateway=gw-1,site=s first_seq=10i,", LineProtocol.Gap(gap), StringComparison.Ordinal);
    }

    [Fact]
    public void Gap_report_round_trips_and_becomes_a_gap_point()
    {
        var gap = new GapReport("s", "gw-1", 99, 10, 20, 11, 33, DateTimeOffset.FromUnixTimeMilliseconds(1795420798000), DateTimeOffset.FromUnixTimeMilliseconds(1795420799000), "byte budget full (drop-oldest)");
        var decoded = GapReport.TryDecode(gap.Encode(), out var error);
        Assert.Equal(gap, decoded);
        Assert.Equal("", error);
        Assert.Equal("pilots/v1/s/gw-1/gap", GapReport.Topic("s", "gw-1"));
        Assert.StartsWith("delivery_gap,gateway=gw-1,site=s first_seq=10i,last_seq=20i,messages=11i,unnumbered=0i,readings=33i,", LineProtocol.Gap(gap), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"v\":2}")]
    [InlineData("{\"v\":1,\"site\":\"s\"}")]
    [InlineData("{\"v\":1,\"site\":\"s\",\"gateway\":\"g\",\"seq\":3,\"epoch\":\"a b\",\"first_seq\":1,\"last_seq\":2,\"messages\":2,\"readings\":2,\"from\":1,\"to\":2,\"reason\":\"r\"}")]
    public void Malformed_gap_report_is_refused_with_a_reason(string json)
    {
        Assert.Null(GapReport.TryDecode(System.Text.Encoding.UTF8.GetBytes(json), out var error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Quarantine_point_keeps_reason_topic_and_error_but_never_the_payload()
    {
        var line = LineProtocol.Quarantine(RejectReason.MalformedJson, "pilots/v1/s/g/d/telemetry", "malformed JSON: 'x' is invalid", 17, 1795420798000);
        Assert.Equal("quarantine,reason=MalformedJson topic=\"pilots/v1/s/g/d/telemetry\",error=\"malformed JSON: 'x' is invalid\",bytes=17i 1795420798000", line);
    }
}
