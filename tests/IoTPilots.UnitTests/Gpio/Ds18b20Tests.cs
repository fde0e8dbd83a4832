using IoTPilots.Edge.Gpio;

namespace IoTPilots.UnitTests.Gpio;

public sealed class Ds18b20Tests : IDisposable
{
    private const string SensorId = "28-0316a2796dff";

    private readonly string _devices = Directory.CreateTempSubdirectory("w1-devices-").FullName;

    public void Dispose() => Directory.Delete(_devices, recursive: true);

    [Fact]
    public void Crc8_matches_the_application_note_example()
    {
        // Maxim application note 27, example 2: ROM bytes 02 1C B8 01 00 00 00 (family code first) -> CRC A2.
        Assert.Equal(0xA2, W1Therm.Crc8([0x02, 0x1C, 0xB8, 0x01, 0x00, 0x00, 0x00]));
        Assert.Equal(0x00, W1Therm.Crc8([0x02, 0x1C, 0xB8, 0x01, 0x00, 0x00, 0x00, 0xA2]));
    }

    [Fact]
    public void Reads_a_kernel_w1_slave_file()
    {
        // The two lines w1_therm prints: 0x0172 = 370/16 = 23.125 °C, t=23125; the CRC 0x57 checks by AN27.
        WriteText("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n");

        Assert.True(Sensor().TryReadTemperature(out var celsius, out var failure), failure.ToString());
        Assert.Equal(23.125, celsius);
        Assert.Equal(Ds18b20Error.None, failure.Reason);
    }

    // DS18B20 datasheet, Table 1 "Temperature/Data Relationship" (12-bit resolution). +85 °C, the power-on
    // reset value, is a failed read and has its own test below.
    [Theory]
    [InlineData(+125.0, 0x07D0)]
    [InlineData(+25.0625, 0x0191)]
    [InlineData(+10.125, 0x00A2)]
    [InlineData(+0.5, 0x0008)]
    [InlineData(0.0, 0x0000)]
    [InlineData(-0.5, 0xFFF8)]
    [InlineData(-10.125, 0xFF5E)]
    [InlineData(-25.0625, 0xFE6F)]
    [InlineData(-55.0, 0xFC90)]
    public void Datasheet_table_1_values_are_written_and_read_back(double celsius, int register)
    {
        var scratchpad = W1Therm.Scratchpad(celsius);
        Assert.Equal(register, scratchpad[0] | (scratchpad[1] << 8));

        W1Therm.Write(_devices, SensorId, celsius);

        Assert.True(Sensor().TryReadTemperature(out var read, out var failure), failure.ToString());
        Assert.Equal(celsius, read);
    }

    [Fact]
    public void Written_file_is_in_the_kernel_format_with_a_valid_crc()
    {
        var path = W1Therm.Write(_devices, SensorId, 23.125);

        // Same bytes as the kernel sample above, whose CRC 0x57 matches AN27.
        Assert.Equal(
            "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n",
            File.ReadAllText(path));
    }

    [Fact]
    public void Power_on_reset_value_is_a_failed_read()
    {
        // Table 1: +85 °C is 0550h, also the register's power-on value (conversion never ran).
        var scratchpad = W1Therm.Scratchpad(85.0);
        Assert.Equal(0x0550, scratchpad[0] | (scratchpad[1] << 8));
        W1Therm.Write(_devices, SensorId, scratchpad);

        Assert.False(Sensor().TryReadTemperature(out _, out var failure));
        Assert.Equal(Ds18b20Error.PowerOnReset, failure.Reason);
    }

    [Fact]
    public void Missing_sensor_is_not_found()
    {
        Assert.False(Sensor().TryReadTemperature(out _, out var failure));
        Assert.Equal(Ds18b20Error.NotFound, failure.Reason);
        Assert.Contains(SensorId, failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Crc_is_checked_even_when_the_kernel_says_yes()
    {
        // Byte 0 changed from 72 to 73 with the kernel's verdict left at YES.
        WriteText("73 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n73 01 4b 46 7f ff 0e 10 57 t=23187\n");

        Assert.False(Sensor().TryReadTemperature(out _, out var failure));
        Assert.Equal(Ds18b20Error.CrcMismatch, failure.Reason);
    }

    [Fact]
    public void Kernel_crc_no_is_a_failed_read()
    {
        WriteText("72 01 4b 46 7f ff 0e 10 57 : crc=57 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n");

        Assert.False(Sensor().TryReadTemperature(out _, out var failure));
        Assert.Equal(Ds18b20Error.KernelCrcFailed, failure.Reason);
    }

    [Fact]
    public void All_ones_scratchpad_means_the_sensor_is_disconnected()
    {
        var path = W1Therm.Write(_devices, SensorId, Enumerable.Repeat((byte)0xFF, 9).ToArray());
        Assert.StartsWith("ff ff ff ff ff ff ff ff ff : crc=c9 NO", File.ReadAllText(path), StringComparison.Ordinal);

        Assert.False(Sensor().TryReadTemperature(out _, out var failure));
        Assert.Equal(Ds18b20Error.Disconnected, failure.Reason);
    }

    [Fact]
    public void All_zero_scratchpad_is_rejected_although_its_crc_is_valid()
    {
        var path = W1Therm.Write(_devices, SensorId, new byte[9]);
        Assert.StartsWith("00 00 00 00 00 00 00 00 00 : crc=00 YES", File.ReadAllText(path), StringComparison.Ordinal);

        Assert.False(Sensor().TryReadTemperature(out _, out var failure));
        Assert.Equal(Ds18b20Error.DataLineStuckLow, failure.Reason);
    }

    [Fact]
    public void Kernel_temperature_that_disagrees_with_the_bytes_is_a_failed_read()
    {
        WriteText("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=25000\n");

        Assert.False(Sensor().TryReadTemperature(out _, out var failure));
        Assert.Equal(Ds18b20Error.TemperatureMismatch, failure.Reason);
    }

    [Theory]
    [InlineData("")]
    [InlineData("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n")]
    [InlineData("not a w1_slave file\nt=1\n")]
    public void Malformed_or_empty_file_is_a_failed_read(string text)
    {
        WriteText(text);

        Assert.False(Sensor().TryReadTemperature(out _, out var failure));
        Assert.Contains(failure.Reason, new[] { Ds18b20Error.Malformed, Ds18b20Error.IoError });
    }

    [Fact]
    public void Undefined_low_bits_are_ignored_at_9_bit_resolution()
    {
        // Datasheet, configuration register: R1 R0 = 00 selects 9 bits, and bits 2-0 of the temperature
        // register are then undefined. 0x0191 (+25.0625 at 12 bits) therefore reads +25.0 °C.
        var scratchpad = W1Therm.Scratchpad(25.0625);
        scratchpad[4] = 0x1F;
        scratchpad[8] = W1Therm.Crc8(scratchpad.AsSpan(0, 8));
        var path = W1Therm.Write(_devices, SensorId, scratchpad);
        Assert.EndsWith("t=25000\n", File.ReadAllText(path), StringComparison.Ordinal);

        Assert.True(Sensor().TryReadTemperature(out var celsius, out var failure), failure.ToString());
        Assert.Equal(25.0, celsius);
    }

    [Fact]
    public void Discover_lists_only_ds18b20_devices()
    {
        Directory.CreateDirectory(Path.Combine(_devices, "w1_bus_master1"));
        Directory.CreateDirectory(Path.Combine(_devices, "10-000802b5a1c3"));
        W1Therm.Write(_devices, "28-0316a2796dff", 20.0);
        W1Therm.Write(_devices, "28-00000550758e", 21.0);

        Assert.Equal(["28-00000550758e", "28-0316a2796dff"], Ds18b20.Discover(_devices));
        Assert.Empty(Ds18b20.Discover(Path.Combine(_devices, "missing")));
    }

    [Theory]
    [InlineData("10-000802b5a1c3")]
    [InlineData("28-0316a2796d")]
    [InlineData("../28-0316a2796dff")]
    public void Constructor_rejects_ids_that_are_not_ds18b20(string id)
    {
        Assert.Throws<ArgumentException>(() => new Ds18b20(_devices, id));
    }

    [Fact]
    public void Writer_rejects_temperatures_the_sensor_cannot_report()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => W1Therm.Scratchpad(125.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => W1Therm.Scratchpad(double.NaN));
    }

    private Ds18b20 Sensor() => new(_devices, SensorId);

    private void WriteText(string text)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_devices, SensorId));
        File.WriteAllText(Path.Combine(directory.FullName, W1Therm.SlaveFileName), text);
    }
}
