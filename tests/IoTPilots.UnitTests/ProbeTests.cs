using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Probe;

namespace IoTPilots.UnitTests;

public class ProbeTests
{
    [Theory]
    // The docs/domain.md section 4 test vector, 123456.0 = 0x47F12000, as each order stores it.
    [InlineData(0x47F1, 0x2000, "ABCD")]
    [InlineData(0x2000, 0x47F1, "CDAB")]
    [InlineData(0xF147, 0x0020, "BADC")]
    [InlineData(0x0020, 0xF147, "DCBA")]
    public void Every_order_is_printed_and_the_right_one_reads_123456(int reg1, int reg2, string order)
    {
        var lines = ProbeDecoder.Describe([(ushort)reg1, (ushort)reg2], 100).ToList();

        Assert.Contains($"float32 {order} 123456 @100", lines);
        Assert.Equal(4, lines.Count(l => l.StartsWith("float32 ", StringComparison.Ordinal)));
        Assert.Equal(4, lines.Count(l => l.StartsWith("int32 ", StringComparison.Ordinal)));
        Assert.Contains($"uint16 {reg1} @100", lines);
        Assert.Contains($"raw 0x{reg2:X4} @101", lines);
    }

    [Fact]
    public void Signed_and_unsigned_16_bit_views_are_both_shown()
    {
        var lines = ProbeDecoder.Describe([0xFFFE], 0).ToList();
        Assert.Contains("int16 -2 @0", lines);
        Assert.Contains("uint16 65534 @0", lines);
    }

    [Theory]
    [InlineData(new string[0], "missing the device URL")]
    [InlineData(new[] { "http://x:1", "--unit", "1", "--address", "0", "--count", "2" }, "not a modbus-tcp:// or modbus-rtu:// URL")]
    [InlineData(new[] { "modbus-tcp://x", "--unit", "1", "--address", "0", "--count", "2" }, "expected modbus-tcp://HOST:PORT")]
    [InlineData(new[] { "modbus-rtu://ttyUSB0", "--unit", "1", "--address", "0", "--count", "2" }, "device path")]
    [InlineData(new[] { "modbus-tcp://x:502", "--unit", "1", "--address", "0" }, "required")]
    [InlineData(new[] { "modbus-tcp://x:502", "--unit", "300", "--address", "0", "--count", "2" }, "--unit 300")]
    [InlineData(new[] { "modbus-tcp://x:502", "--unit", "1", "--address", "0", "--count", "126" }, "--count 126")]
    [InlineData(new[] { "modbus-tcp://x:502", "--unit", "1", "--address", "65535", "--count", "2" }, "runs past")]
    [InlineData(new[] { "modbus-tcp://x:502", "--unit", "1", "--address", "0", "--count", "2", "--table", "eeprom" }, "--table eeprom")]
    public void Bad_arguments_are_explained(string[] args, string problem)
    {
        Assert.False(ProbeCommand.TryParse(args, out _, out var message));
        Assert.Contains(problem, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rtu_url_and_hex_address_parse()
    {
        Assert.True(ProbeCommand.TryParse(["modbus-rtu:///dev/ttyUSB0?baud=4800&parity=N", "--unit", "1", "--address", "0x2600", "--count", "4", "--table", "input"], out var o, out _));
        Assert.Equal(("/dev/ttyUSB0", 4800, (ushort)0x2600, Table.InputRegister), (o.Serial!.Path, o.Serial.Baud, o.Address, o.Table));
    }
}
