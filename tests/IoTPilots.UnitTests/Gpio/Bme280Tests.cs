using IoTPilots.Edge.Gpio;
using IoTPilots.Testing;

namespace IoTPilots.UnitTests.Gpio;

public sealed class Bme280Tests
{
    // BMP280 datasheet (BST-BMP280-DS001), 3.12 "Calculating pressure and temperature": the worked example's
    // trimming values and ADC readings. The BME280's T and P formulas (BME280 datasheet 4.2.3) are the BMP280's.
    private const int ExampleAdcT = 519888;
    private const int ExampleAdcP = 415148;

    // No published humidity example exists. These humidity trimming bytes (0xA1, 0xE1..0xE7) are typical of real
    // parts and chosen so dig_H4 and dig_H5 both use their shared nibbles in 0xE5.
    private static readonly byte[] HumidityCalibration = [0x6A, 0x01, 0x00, 0x13, 0x2A, 0x03, 0x1E];
    private const byte ExampleH1 = 75;
    private const int ExampleAdcH = 30000;

    private readonly SimulatedI2cDevice _device = new();
    private readonly List<TimeSpan> _delays = [];

    public Bme280Tests()
    {
        _device.SetRegister(0xD0, 0x60);
        _device.SetWord(0x88, 27504);
        _device.SetWord(0x8A, 26435);
        _device.SetWord(0x8C, -1000);
        _device.SetWord(0x8E, 36477);
        _device.SetWord(0x90, -10685);
        _device.SetWord(0x92, 3024);
        _device.SetWord(0x94, 2855);
        _device.SetWord(0x96, 140);
        _device.SetWord(0x98, -7);
        _device.SetWord(0x9A, 15500);
        _device.SetWord(0x9C, -14600);
        _device.SetWord(0x9E, 6000);
        _device.SetRegister(0xA1, ExampleH1);
        _device.SetRegisters(0xE1, HumidityCalibration);

        // adc_P = 415148 = 0x655AC and adc_T = 519888 = 0x7EED0, 20 bits left-aligned in msb/lsb/xlsb[7:4];
        // adc_H = 30000 = 0x7530.
        _device.SetRegisters(0xF7, 0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x75, 0x30);
    }

    [Fact]
    public void Compensation_matches_the_bmp280_datasheet_worked_example()
    {
        var calibration = Calibration();

        // 3.12: t_fine = 128422, T = 25.08 °C.
        Assert.Equal(2508, calibration.CompensateTemperature(ExampleAdcT, out var tFine));
        Assert.Equal(128422, tFine);

        // 3.12 gives 100653.27 Pa from the floating-point formula. The 64-bit integer formula this driver uses
        // returns 25767233 in Q24.8 = 100653.254 Pa: the value of the datasheet's own C (BME280 4.2.3,
        // BME280_compensate_P_int64) compiled unchanged with gcc for this test.
        var pressure = calibration.CompensatePressure(ExampleAdcP, tFine);
        Assert.Equal(25767233u, pressure);
        Assert.Equal(100653.27, pressure / 256.0, 0.05);
    }

    [Fact]
    public void Humidity_compensation_matches_the_datasheet_formulas()
    {
        var calibration = Calibration();
        calibration.CompensateTemperature(ExampleAdcT, out var tFine);

        // Derived, not published: the datasheet's bme280_compensate_H_int32 (4.2.3), compiled unchanged with gcc,
        // gives 55953 (Q22.10) for adc_H 30000, t_fine 128422 and H1..H6 = 75, 362, 0, 314, 50, 30.
        // Cross-check: the double-precision formula (appendix 8.1) gives 54.6448 %RH for the same inputs.
        var humidity = calibration.CompensateHumidity(ExampleAdcH, tFine);
        Assert.Equal(55953u, humidity);
        Assert.Equal(54.6448, humidity / 1024.0, 0.01);
    }

    [Fact]
    public void Calibration_unpacks_the_shared_nibbles_of_dig_H4_and_dig_H5()
    {
        // Table 16: dig_H4 = 0xE4[7:0] << 4 | 0xE5[3:0]; dig_H5 = 0xE6[7:0] << 4 | 0xE5[7:4].
        var calibration = Calibration();
        Assert.Equal(362, calibration.H2);
        Assert.Equal(0, calibration.H3);
        Assert.Equal(0x13A, calibration.H4);
        Assert.Equal(0x032, calibration.H5);
        Assert.Equal(30, calibration.H6);

        // Signed: the sign comes from the whole high byte.
        var negative = Bme280Calibration.Parse(new byte[26], [0, 0, 0, 0xFF, 0x55, 0x80, 0xFF]);
        Assert.Equal(-11, negative.H4);   // 0xFF5 as 12-bit two's complement
        Assert.Equal(-2043, negative.H5); // 0x805
        Assert.Equal(-1, negative.H6);
    }

    [Fact]
    public void Forced_measurement_reads_temperature_pressure_and_humidity()
    {
        var sensor = new Bme280(_device, _delays.Add);

        Assert.True(sensor.TryRead(out var reading, out var failure), failure.ToString());

        Assert.Equal(25.08, reading.TemperatureCelsius);
        Assert.Equal(25767233 / 256.0, reading.PressurePascals);
        Assert.Equal(55953 / 1024.0, reading.HumidityPercent);

        // ctrl_hum only takes effect on the next ctrl_meas write (datasheet 5.4.3), so it is written first;
        // ctrl_meas 0x25 = osrs_t ×1, osrs_p ×1, forced mode.
        var hum = _device.Writes.IndexOf(((byte)0xF2, (byte)0x01));
        var meas = _device.Writes.IndexOf(((byte)0xF4, (byte)0x25));
        Assert.True(hum >= 0 && meas > hum, string.Join(", ", _device.Writes));
        Assert.Contains(((byte)0xF5, (byte)0x00), _device.Writes);
    }

    [Fact]
    public void Calibration_is_read_once()
    {
        var sensor = new Bme280(_device, _delays.Add);

        Assert.True(sensor.TryRead(out _, out _));
        Assert.True(sensor.TryRead(out _, out _));

        Assert.Equal(1, _device.Reads[0xD0]);
        Assert.Equal(1, _device.Reads[0x88]);
        Assert.Equal(2, _device.Reads[0xF7]);
    }

    [Fact]
    public void Wrong_chip_id_is_a_failed_read_with_the_reason()
    {
        _device.SetRegister(0xD0, 0x58);
        var sensor = new Bme280(_device, _delays.Add);

        Assert.False(sensor.TryRead(out _, out var failure));

        Assert.Equal(Bme280Error.WrongChipId, failure.Reason);
        Assert.Contains("0x58", failure.Detail, StringComparison.Ordinal);
        Assert.Contains("BMP280", failure.Detail, StringComparison.Ordinal);
        Assert.Empty(_device.Writes);
    }

    [Fact]
    public void Measuring_bit_that_never_clears_fails_instead_of_hanging()
    {
        _device.SetRegister(0xF3, 0x08);
        var sensor = new Bme280(_device, _delays.Add);

        Assert.False(sensor.TryRead(out _, out var failure));

        Assert.Equal(Bme280Error.MeasurementTimeout, failure.Reason);
        Assert.Equal(Bme280.MaxStatusPolls, _device.Reads[0xF3]);
        Assert.Equal(1 + Bme280.MaxStatusPolls, _delays.Count);
        Assert.False(_device.Reads.ContainsKey(0xF7));
    }

    [Fact]
    public void Reset_value_in_the_data_registers_is_a_failed_read()
    {
        // Table 18 reset states: press/temp msb 0x80, humidity msb 0x80 (the "skipped" markers 0x80000 and 0x8000).
        _device.SetRegisters(0xF7, 0x80, 0x00, 0x00, 0x80, 0x00, 0x00, 0x80, 0x00);
        var sensor = new Bme280(_device, _delays.Add);

        Assert.False(sensor.TryRead(out _, out var failure));
        Assert.Equal(Bme280Error.NoData, failure.Reason);
    }

    [Fact]
    public void Zero_calibration_is_rejected()
    {
        _device.SetRegisters(0x88, new byte[26]);
        var sensor = new Bme280(_device, _delays.Add);

        Assert.False(sensor.TryRead(out _, out var failure));
        Assert.Equal(Bme280Error.InvalidCalibration, failure.Reason);
    }

    [Fact]
    public void Bus_error_is_reported_and_the_next_read_starts_over()
    {
        var sensor = new Bme280(_device, _delays.Add);
        Assert.True(sensor.TryRead(out _, out _));

        _device.Failure = new IOException("Remote I/O error");
        Assert.False(sensor.TryRead(out _, out var failure));
        Assert.Equal(Bme280Error.BusError, failure.Reason);
        Assert.Contains("Remote I/O error", failure.Detail, StringComparison.Ordinal);

        _device.Failure = null;
        Assert.True(sensor.TryRead(out var reading, out _));
        Assert.Equal(25.08, reading.TemperatureCelsius);
        Assert.Equal(2, _device.Reads[0xD0]);
    }

    private Bme280Calibration Calibration()
    {
        var low = new byte[26];
        var high = new byte[7];
        for (var i = 0; i < low.Length; i++)
        {
            low[i] = _device.GetRegister((byte)(0x88 + i));
        }

        for (var i = 0; i < high.Length; i++)
        {
            high[i] = _device.GetRegister((byte)(0xE1 + i));
        }

        return Bme280Calibration.Parse(low, high);
    }
}
