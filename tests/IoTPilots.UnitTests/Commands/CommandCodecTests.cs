using System.Text;
using IoTPilots.Contract;

namespace IoTPilots.UnitTests.Commands;

public sealed class CommandCodecTests
{
    private static readonly CommandMessage Sample = new("c-42", "ras-1", "gw-aqua-01", "tank-03-relay", "backup_aerator_on", 1, "rule:aerator-failure",
        DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_000_000), DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_120_000));

    [Fact]
    public void A_signed_command_survives_encoding_and_still_verifies()
    {
        var key = new byte[32];
        key[0] = 7;
        var signed = CommandSignature.Sign(Sample, key);

        var decoded = CommandCodec.TryDecode(CommandCodec.Encode(signed), out var error);

        Assert.Equal("", error);
        Assert.Equal(signed, decoded);
        Assert.True(CommandSignature.Verify(decoded!, key));
        Assert.False(CommandSignature.Verify(decoded! with { IssuedBy = "someone-else" }, key));
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("[1]", "a command must be a JSON object")]
    [InlineData("""{"v":2}""", "v: only version 1")]
    [InlineData("""{"v":1,"site":"ras-1","gateway":"gw","device":"d","point":"p_on","value":1,"issued_by":"u","issued_at":1,"expires_at":2}""", "id: a text of 1-200 characters is required")]
    [InlineData("""{"v":1,"id":"c","site":"RAS 1","gateway":"gw","device":"d","point":"p_on","value":1,"issued_by":"u","issued_at":1,"expires_at":2}""", "site: 1-64 characters")]
    [InlineData("""{"v":1,"id":"c","site":"ras-1","gateway":"gw","device":"d","point":"Bad-Point","value":1,"issued_by":"u","issued_at":1,"expires_at":2}""", "point: 1-64 characters")]
    [InlineData("""{"v":1,"id":"c","site":"ras-1","gateway":"gw","device":"d","point":"p_on","value":"1","issued_by":"u","issued_at":1,"expires_at":2}""", "value: a finite number is required")]
    [InlineData("""{"v":1,"id":"c","site":"ras-1","gateway":"gw","device":"d","point":"p_on","value":1,"issued_by":"u","issued_at":1e300,"expires_at":2}""", "issued_at or expires_at")]
    public void A_bad_command_payload_is_refused_naming_the_field(string payload, string expected)
    {
        Assert.Null(CommandCodec.TryDecode(Encoding.UTF8.GetBytes(payload), out var error));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_result_round_trips_and_a_bad_outcome_is_refused()
    {
        var result = new CommandResult("c-42", "ras-1", "gw-aqua-01", CommandOutcome.Refused, CommandReasons.Replayed, "command c-42 was already received", null, DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_001_000));

        Assert.Equal(result, CommandCodec.TryDecodeResult(CommandCodec.Encode(result), out _));
        var bad = Encoding.UTF8.GetString(CommandCodec.Encode(result)).Replace("\"refused\"", "\"maybe\"", StringComparison.Ordinal);
        Assert.Null(CommandCodec.TryDecodeResult(Encoding.UTF8.GetBytes(bad), out var error));
        Assert.Equal("outcome: 'maybe' is not done, refused or failed", error);
    }
}
