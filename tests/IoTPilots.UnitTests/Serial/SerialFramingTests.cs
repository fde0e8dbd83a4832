using IoTPilots.Edge.Serial;

namespace IoTPilots.UnitTests.Serial;

public class SerialFramingTests
{
    [Theory]
    [InlineData(8, Parity.None, StopBits.One, 10)] // 8N1, EZO UART default [docs/domain.md S1]
    [InlineData(8, Parity.Even, StopBits.One, 11)] // 8E1, Modbus RTU default (Modbus over serial line V1.02, 2.5.1)
    [InlineData(8, Parity.None, StopBits.Two, 11)] // 8N2, Modbus RTU without parity
    [InlineData(7, Parity.Even, StopBits.One, 10)]
    [InlineData(8, Parity.Odd, StopBits.OnePointFive, 12)]
    public void Bits_per_character_count_start_data_parity_and_stop(int dataBits, Parity parity, StopBits stopBits, int expected)
    {
        Assert.Equal(expected, SerialFraming.BitsPerCharacter(dataBits, parity, stopBits));
    }

    [Fact]
    public void Impossible_data_bits_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SerialFraming.BitsPerCharacter(9, Parity.None, StopBits.One));
    }

    [Fact]
    public void Settings_read_as_on_a_datasheet()
    {
        Assert.Equal("9600 8N1", SerialFraming.Describe(9600, 8, Parity.None, StopBits.One));
        Assert.Equal("19200 8E1", SerialFraming.Describe(19200, 8, Parity.Even, StopBits.One));
    }
}
