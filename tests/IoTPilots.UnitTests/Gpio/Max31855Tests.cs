using IoTPilots.Edge.Gpio;
using IoTPilots.Testing;

namespace IoTPilots.UnitTests.Gpio;

public sealed class Max31855Tests
{
    // +25.00 °C on the thermocouple (Table 4) and +25.0000 °C inside (Table 5): the other half of each frame.
    private const string Thermocouple25 = "0000 0001 1001 00";
    private const string Internal25 = "0001 1001 0000";

    private readonly SimulatedSpiDevice _device = new();

    // MAX31855 datasheet, Table 4 "Thermocouple Temperature Data Format": D[31:18] as printed there.
    // (Tables 2 and 3 of the datasheet are the memory map; these examples are Tables 4 and 5.)
    [Theory]
    [InlineData(+1600.00, "0110 0100 0000 00")]
    [InlineData(+1000.00, "0011 1110 1000 00")]
    [InlineData(+100.75, "0000 0110 0100 11")]
    [InlineData(+25.00, "0000 0001 1001 00")]
    [InlineData(0.00, "0000 0000 0000 00")]
    [InlineData(-0.25, "1111 1111 1111 11")]
    [InlineData(-1.00, "1111 1111 1111 00")]
    [InlineData(-250.00, "1111 0000 0110 00")]
    public void Thermocouple_temperature_matches_datasheet_table_4(double celsius, string bits)
    {
        _device.Response = Frame(bits, Internal25);

        Assert.True(new Max31855(_device).TryRead(out var reading, out var failure), failure.ToString());

        Assert.Equal(celsius, reading.ThermocoupleCelsius);
        Assert.Equal(25.0, reading.InternalCelsius);
    }

    // MAX31855 datasheet, Table 5 "Reference Junction Temperature Data Format": D[15:4] as printed there.
    [Theory]
    [InlineData(+127.0000, "0111 1111 0000")]
    [InlineData(+100.5625, "0110 0100 1001")]
    [InlineData(+25.0000, "0001 1001 0000")]
    [InlineData(0.0000, "0000 0000 0000")]
    [InlineData(-0.0625, "1111 1111 1111")]
    [InlineData(-1.0000, "1111 1111 0000")]
    [InlineData(-20.0000, "1110 1100 0000")]
    [InlineData(-55.0000, "1100 1001 0000")]
    public void Internal_temperature_matches_datasheet_table_5(double celsius, string bits)
    {
        _device.Response = Frame(Thermocouple25, bits);

        Assert.True(new Max31855(_device).TryRead(out var reading, out var failure), failure.ToString());

        Assert.Equal(celsius, reading.InternalCelsius);
        Assert.Equal(25.0, reading.ThermocoupleCelsius);
    }

    // Table 3: D16 reads 1 when any fault is active; D2 SCV, D1 SCG, D0 OC.
    [Theory]
    [InlineData(0b001, Max31855Error.OpenCircuit, "open circuit")]
    [InlineData(0b010, Max31855Error.ShortToGround, "short to GND")]
    [InlineData(0b100, Max31855Error.ShortToVcc, "short to VCC")]
    public void Each_fault_bit_is_reported(int faultBits, Max31855Error expected, string description)
    {
        _device.Response = Frame(Thermocouple25, Internal25, fault: true, faultBits: faultBits);

        Assert.False(new Max31855(_device).TryRead(out _, out var failure));

        Assert.Equal(expected, failure.Reason);
        Assert.Contains(description, failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_thermocouple_is_reported_as_fault()
    {
        // With the probe unplugged the chip sets D16 and D0.
        _device.Response = Frame(Thermocouple25, Internal25, fault: true, faultBits: 0b001);

        Assert.False(new Max31855(_device).TryRead(out var reading, out var failure));

        Assert.Equal(Max31855Error.OpenCircuit, failure.Reason);
        Assert.Equal(default, reading);
    }

    [Fact]
    public void Simultaneous_faults_are_all_reported()
    {
        _device.Response = Frame(Thermocouple25, Internal25, fault: true, faultBits: 0b110);

        Assert.False(new Max31855(_device).TryRead(out _, out var failure));

        Assert.Equal(Max31855Error.ShortToGround | Max31855Error.ShortToVcc, failure.Reason);
    }

    [Theory]
    [InlineData(0xFFFF_FFFFu)] // MISO floating high: reserved D17 and D3 read 1
    [InlineData(0x0000_0000u)] // MISO held low
    [InlineData(0x0191_1900u)] // fault flag D16 without a fault bit (thermocouple 25.00, internal 25.0000)
    [InlineData(0x0190_1901u)] // fault bit D0 without the fault flag
    public void Frame_breaking_the_fixed_bits_is_invalid(uint frame)
    {
        _device.Response = [(byte)(frame >> 24), (byte)(frame >> 16), (byte)(frame >> 8), (byte)frame];

        Assert.False(new Max31855(_device).TryRead(out _, out var failure));

        Assert.Equal(Max31855Error.InvalidFrame, failure.Reason);
    }

    [Fact]
    public void Bus_error_is_reported_not_thrown()
    {
        _device.Failure = new IOException("SPI transfer failed");

        Assert.False(new Max31855(_device).TryRead(out _, out var failure));

        Assert.Equal(Max31855Error.BusError, failure.Reason);
    }

    /// <summary>A big-endian frame from the datasheet's bit strings: D31-D18, D17 = 0, D16, D15-D4, D3 = 0, D2-D0.</summary>
    private static byte[] Frame(string thermocouple, string internalTemperature, bool fault = false, int faultBits = 0)
    {
        var frame = (Bits(thermocouple, 14) << 18) | (fault ? 1u << 16 : 0) | (Bits(internalTemperature, 12) << 4) | (uint)faultBits;
        return [(byte)(frame >> 24), (byte)(frame >> 16), (byte)(frame >> 8), (byte)frame];
    }

    private static uint Bits(string bits, int width)
    {
        var digits = bits.Replace(" ", string.Empty, StringComparison.Ordinal);
        Assert.Equal(width, digits.Length);
        return Convert.ToUInt32(digits, 2);
    }
}
