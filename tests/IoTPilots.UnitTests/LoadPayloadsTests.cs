using IoTPilots.Contract;
using IoTPilots.FirmwareSim.Load;

namespace IoTPilots.UnitTests;

/// <summary>The load generator's pre-encoded messages are real contract messages: the cloud's decoder reads back what they say.</summary>
public sealed class LoadPayloadsTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("gw-001", 1L)]
    [InlineData("gw-020", 7L)]
    [InlineData("gw-003", 999L)]
    [InlineData("gw-003", 1_234_567L)]
    public void Each_payload_decodes_to_the_message_it_stands_for(string gateway, long seq)
    {
        var payloads = new LoadPayloads("ramp-40000", Start, devices: 8);
        var buffer = new byte[payloads.MaxBytes];

        var length = payloads.Write(gateway, seq, buffer);
        var topic = System.Text.Encoding.UTF8.GetString(payloads.Topic(gateway, seq));
        var result = TelemetryCodec.Decode(buffer.AsSpan(0, length), topic, Start);

        Assert.True(result.Ok, result.Error);
        var expected = payloads.Message(gateway, seq);
        var actual = result.Message!;
        Assert.Equal(expected.Topic, topic);
        Assert.Equal((expected.Pilot, expected.Site, expected.Gateway, expected.Device, expected.Seq, expected.Epoch), (actual.Pilot, actual.Site, actual.Gateway, actual.Device, actual.Seq, actual.Epoch));
        Assert.Equal(expected.Readings, actual.Readings);
        // The same bytes the contract's own encoder writes for that message.
        Assert.Equal(TelemetryCodec.Encode(expected), buffer.AsSpan(0, length).ToArray());
    }

    [Fact]
    public void A_buffer_shorter_than_MaxBytes_is_refused_not_overrun()
    {
        var payloads = new LoadPayloads("load-1", Start, devices: 8);

        Assert.ThrowsAny<ArgumentException>(() => payloads.Write("gw-001", 1, new byte[40]));
    }
}
