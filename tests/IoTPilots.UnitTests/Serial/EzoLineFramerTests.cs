using System.Text;
using IoTPilots.Edge.Serial.Ezo;

namespace IoTPilots.UnitTests.Serial;

public class EzoLineFramerTests
{
    private readonly EzoLineFramer _framer = new();
    private readonly List<EzoFrame> _frames = [];

    private void Feed(string ascii) => _framer.Feed(Encoding.ASCII.GetBytes(ascii), _frames);

    [Fact]
    public void Lines_end_at_carriage_return_whatever_the_chunking()
    {
        Feed("9.5");
        Assert.Empty(_frames);
        Assert.True(_framer.HasPartialLine);
        Assert.Equal("9.5", _framer.PartialLine);

        Feed("60\r*O");
        Feed("K\r");

        Assert.Equal([new EzoFrame("9.560", null), new EzoFrame("*OK", null)], _frames);
        Assert.False(_framer.HasPartialLine);
    }

    [Fact]
    public void Line_feeds_and_empty_lines_are_ignored()
    {
        Feed("\r\r7.01\r\n\n7.02\r");

        Assert.Equal(["7.01", "7.02"], _frames.Select(f => f.Line));
        Assert.All(_frames, f => Assert.True(f.Ok));
    }

    [Fact]
    public void Garbage_byte_spoils_its_line_only()
    {
        _framer.Feed([(byte)'7', 0xFF, (byte)'.', (byte)'0', (byte)'\r', (byte)'7', (byte)'.', (byte)'1', (byte)'\r'], _frames);

        Assert.Equal(2, _frames.Count);
        Assert.False(_frames[0].Ok);
        Assert.Contains("byte 0xFF", _frames[0].Error, StringComparison.Ordinal);
        Assert.Contains(@"7\xFF.0", _frames[0].Error, StringComparison.Ordinal);
        Assert.Equal(new EzoFrame("7.1", null), _frames[1]);
    }

    [Fact]
    public void Nul_from_a_power_glitch_is_garbage()
    {
        _framer.Feed([0x00, (byte)'7', (byte)'\r'], _frames);

        Assert.Contains("byte 0x00", Assert.Single(_frames).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Over_long_line_is_one_error_and_framing_recovers()
    {
        Feed(new string('7', 100) + "\r9.560\r");

        Assert.Equal(2, _frames.Count);
        Assert.Contains("over-long line: 100 bytes", _frames[0].Error, StringComparison.Ordinal);
        Assert.Equal(new EzoFrame("9.560", null), _frames[1]);
    }

    [Fact]
    public void Line_of_exactly_the_maximum_length_is_accepted()
    {
        Feed(new string('1', EzoLineFramer.MaxLineLength) + "\r");

        Assert.True(Assert.Single(_frames).Ok);
    }

    [Fact]
    public void Reset_forgets_a_partial_line()
    {
        Feed("9.5");
        _framer.Reset();
        Feed("7.0\r");

        Assert.Equal("7.0", Assert.Single(_frames).Line);
    }
}
