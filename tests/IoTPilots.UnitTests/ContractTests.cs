using System.Text;
using IoTPilots.Contract;

namespace IoTPilots.UnitTests;

public class ContractTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);
    private const string Topic = "pilots/v1/haiphong-ras-1/gw-aqua-01/tank-01/telemetry";

    private static TelemetryMessage Sample() => new(
        Pilots.Aquaculture, "haiphong-ras-1", "gw-aqua-01", "tank-01", 42,
        [
            new Reading("do_mg_l", Now.AddSeconds(-2), 6.52, "mg/L", Quality.Good),
            new Reading("temp_c", Now.AddSeconds(-2), null, "degC", Quality.CommFailure),
        ]);

    private static DecodeResult Decode(string json, string topic = Topic) => TelemetryCodec.Decode(Encoding.UTF8.GetBytes(json), topic, Now);

    [Fact]
    public void Encoded_message_decodes_to_the_same_readings()
    {
        var message = Sample();
        var result = TelemetryCodec.Decode(TelemetryCodec.Encode(message), message.Topic, Now);

        Assert.True(result.Ok, result.Error);
        Assert.Equal(message.Seq, result.Message!.Seq);
        Assert.Equal(message.Readings, result.Message.Readings);
        Assert.Equal(Topic, message.Topic);
    }

    [Fact]
    public void Epoch_round_trips_and_an_absent_epoch_decodes_as_empty()
    {
        var withEpoch = Sample() with { Epoch = "20261123T185000Z-3f9a" };

        var decoded = TelemetryCodec.Decode(TelemetryCodec.Encode(withEpoch), Topic, Now);
        var legacy = TelemetryCodec.Decode(TelemetryCodec.Encode(Sample()), Topic, Now);

        Assert.Equal("20261123T185000Z-3f9a", decoded.Message!.Epoch);
        Assert.Equal("", legacy.Message!.Epoch);
        Assert.DoesNotContain("epoch", Encoding.UTF8.GetString(TelemetryCodec.Encode(Sample())), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"has space\"")]
    [InlineData("\"a,b=c\"")]
    [InlineData("42")]
    [InlineData("\"0123456789012345678901234567890123456789x\"")]
    public void A_bad_epoch_is_refused_naming_the_field(string epoch)
    {
        var result = Decode($$"""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","seq":1,"epoch":{{epoch}},"readings":[{"field":"do_mg_l","ts":1795420798000,"value":1,"unit":"mg/L","q":"good"}]}""");

        Assert.Equal(RejectReason.InvalidField, result.Reason);
        Assert.Contains("$.epoch", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_example_message_is_valid()
    {
        // The example in edge/IoTPilots.Contract/README.md, verbatim.
        const string example = """
            {"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","seq":42,
             "epoch":"20261123T080000Z-3f9a",
             "readings":[{"field":"do_mg_l","ts":1795420798000,"value":6.52,"unit":"mg/L","q":"good"},
                         {"field":"temp_c","ts":1795420798000,"value":null,"unit":"degC","q":"comm-failure"}]}
            """;
        var result = Decode(example);
        Assert.True(result.Ok, result.Error);
        Assert.Equal(2, result.Message!.Readings.Count);
    }

    [Theory]
    [InlineData("{not json", RejectReason.MalformedJson, "malformed JSON")]
    [InlineData("[1,2]", RejectReason.MalformedJson, "JSON object")]
    [InlineData("""{"v":2,"pilot":"aquaculture"}""", RejectReason.UnknownVersion, "$.v")]
    [InlineData("""{"v":1,"pilot":"farm"}""", RejectReason.InvalidField, "$.pilot")]
    [InlineData("""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-02","seq":1,"readings":[]}""", RejectReason.TopicMismatch, "tank-02")]
    [InlineData("""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","readings":[]}""", RejectReason.MissingField, "$.seq")]
    [InlineData("""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","seq":1,"readings":[]}""", RejectReason.InvalidField, "$.readings")]
    [InlineData("""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","seq":1,"readings":[{"field":"do_mg_l","ts":1795420798000,"value":"NaN","q":"good"}]}""", RejectReason.NonFiniteValue, "$.readings[0].value")]
    [InlineData("""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","seq":1,"readings":[{"field":"do_mg_l","ts":1795420798000,"value":NaN,"q":"good"}]}""", RejectReason.MalformedJson, "malformed")]
    [InlineData("""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","seq":1,"readings":[{"field":"do_mg_l","ts":1500000000000,"value":1,"q":"good"}]}""", RejectReason.TimestampOutOfRange, "before 2020")]
    [InlineData("""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","seq":1,"readings":[{"field":"do_mg_l","ts":1795600000000,"value":1,"q":"good"}]}""", RejectReason.TimestampOutOfRange, "ahead")]
    [InlineData("""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","seq":1,"readings":[{"field":"DO mg/L","ts":1795420798000,"value":1,"q":"good"}]}""", RejectReason.InvalidField, "$.readings[0].field")]
    [InlineData("""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","seq":1,"readings":[{"field":"do_mg_l","ts":1795420798000,"q":"good"}]}""", RejectReason.InvalidField, "must carry a value")]
    [InlineData("""{"v":1,"pilot":"aquaculture","site":"haiphong-ras-1","gateway":"gw-aqua-01","device":"tank-01","seq":1,"readings":[{"field":"do_mg_l","ts":1795420798000,"value":1,"q":"ok"}]}""", RejectReason.InvalidField, "$.readings[0].q")]
    public void Bad_payload_is_rejected_with_a_reason_naming_the_field(string json, RejectReason reason, string mention)
    {
        var result = Decode(json);

        Assert.False(result.Ok);
        Assert.Equal(reason, result.Reason);
        Assert.Contains(mention, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_payload_is_rejected_before_parsing()
    {
        var result = TelemetryCodec.Decode(new byte[TelemetryMessage.MaxBytes + 1], Topic, Now);
        Assert.Equal(RejectReason.Oversized, result.Reason);
    }

    [Theory]
    [InlineData("pilots/v1/site/gw/dev")]
    [InlineData("pilots/v2/site/gw/dev/telemetry")]
    [InlineData("pilots/v1/Site/gw/dev/telemetry")]
    public void Foreign_topic_is_rejected(string topic)
    {
        var result = TelemetryCodec.Decode(TelemetryCodec.Encode(Sample()), topic, Now);
        Assert.Equal(RejectReason.TopicMismatch, result.Reason);
    }

    [Fact]
    public void Topics_refuse_ids_that_would_break_the_topic_tree()
    {
        Assert.Throws<ArgumentException>(() => Topics.Telemetry("site/x", "gw", "dev"));
        Assert.Throws<ArgumentException>(() => Topics.Telemetry("site", "gw+", "dev"));
        Assert.Equal("pilots/v1/s/g/status", Topics.Status("s", "g"));
    }

    [Fact]
    public void Gateway_status_names_its_state_and_queue()
    {
        var json = Encoding.UTF8.GetString(new GatewayStatus("s", "g", GatewayStatus.Offline, Now, 7, null).Encode());
        Assert.Contains("\"state\":\"offline\"", json, StringComparison.Ordinal);
        Assert.Contains("\"queue\":7", json, StringComparison.Ordinal);
    }
}
