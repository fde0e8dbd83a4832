using System.Device.I2c;

namespace IoTPilots.Edge.Gpio;

/// <summary>
/// A Bosch BME280 temperature, pressure and humidity sensor on I2C, read in forced mode: each
/// <see cref="TryRead"/> triggers one measurement, waits for it and compensates it with the datasheet's integer
/// formulas. The caller owns (and disposes) the <see cref="I2cDevice"/>.
/// </summary>
/// <remarks>
/// Settings follow the datasheet's "weather monitoring" recommendation (BST-BME280-DS001, 3.5.1): forced mode,
/// oversampling ×1 for all three, IIR filter off. Those are also what the registers hold after a reset, so a
/// sensor that browned out between reads still measures the same way once ctrl_meas is written again.
/// </remarks>
public sealed class Bme280
{
    /// <summary>I2C address with SDO tied to GND (datasheet 6.2).</summary>
    public const int DefaultAddress = 0x76;

    /// <summary>I2C address with SDO tied to VDDIO.</summary>
    public const int AlternateAddress = 0x77;

    /// <summary>Register 0xD0 of a BME280 (5.4.1); a BMP280 answers 0x56-0x58.</summary>
    public const byte ExpectedChipId = 0x60;

    // ctrl_hum: osrs_h = 001 (×1). It takes effect only after the next ctrl_meas write (5.4.3).
    private const byte CtrlHumOversamplingX1 = 0b001;

    // ctrl_meas: osrs_t = 001, osrs_p = 001 (×1), mode = 01 (forced) (Tables 22-25).
    private const byte CtrlMeasForcedX1 = 0b001_001_01;

    // config: filter = 000 (off), spi3w_en = 0; t_sb is unused in forced mode (Tables 26-28).
    private const byte ConfigFilterOff = 0x00;

    // status bit 3, "measuring": 1 while a conversion runs (Table 21).
    private const byte StatusMeasuring = 0b0000_1000;

    // Data registers still at their reset value (Table 18: 0x80 0x00 0x00, 0x80 0x00) mean no measurement landed.
    private const int NoTemperatureOrPressure = 0x80000;
    private const int NoHumidity = 0x8000;

    // Appendix 9.1: t_measure,max = 1.25 + 2.3·1 + (2.3·1 + 0.575) + (2.3·1 + 0.575) = 9.3 ms at ×1/×1/×1.
    internal static readonly TimeSpan MeasurementTime = TimeSpan.FromMilliseconds(10);

    internal static readonly TimeSpan StatusPollInterval = TimeSpan.FromMilliseconds(1);

    // After the full measurement time, allow this many more 1 ms polls before giving up (about twice t_measure).
    internal const int MaxStatusPolls = 10;

    private readonly I2cDevice _device;
    private readonly Action<TimeSpan> _delay;
    private Bme280Calibration? _calibration;

    public Bme280(I2cDevice device)
        : this(device, Thread.Sleep)
    {
    }

    /// <summary>For tests: <paramref name="delay"/> replaces the real waits.</summary>
    internal Bme280(I2cDevice device, Action<TimeSpan> delay)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        _delay = delay;
    }

    /// <summary>
    /// Measures once: temperature in °C, pressure in Pa, relative humidity in %. Blocks about 10 ms.
    /// On the first read (and after any bus error) checks the chip id and reads the calibration.
    /// </summary>
    public bool TryRead(out Bme280Reading reading, out ReadFailure<Bme280Error> failure)
    {
        reading = default;
        try
        {
            var calibration = _calibration;
            if (calibration is null)
            {
                if (!TryInitialize(out calibration, out failure))
                {
                    return false;
                }

                _calibration = calibration;
            }

            WriteRegister(Bme280Register.CtrlHum, CtrlHumOversamplingX1);
            WriteRegister(Bme280Register.CtrlMeas, CtrlMeasForcedX1);
            if (!WaitWhileMeasuring())
            {
                return Fail(Bme280Error.MeasurementTimeout, $"status 'measuring' bit still set after {MeasurementTime.TotalMilliseconds + (MaxStatusPolls * StatusPollInterval.TotalMilliseconds)} ms", out failure);
            }

            // One burst 0xF7..0xFE so all three values come from the same measurement (datasheet 4, 4.1).
            Span<byte> data = stackalloc byte[8];
            ReadRegisters(Bme280Register.PressMsb, data);
            var adcP = (data[0] << 12) | (data[1] << 4) | (data[2] >> 4);
            var adcT = (data[3] << 12) | (data[4] << 4) | (data[5] >> 4);
            var adcH = (data[6] << 8) | data[7];
            if (adcT == NoTemperatureOrPressure || adcP == NoTemperatureOrPressure || adcH == NoHumidity)
            {
                return Fail(Bme280Error.NoData, $"data registers hold their reset value (adc_T 0x{adcT:X5}, adc_P 0x{adcP:X5}, adc_H 0x{adcH:X4}): no measurement completed", out failure);
            }

            var centiCelsius = calibration.CompensateTemperature(adcT, out var tFine);
            var pressureQ24_8 = calibration.CompensatePressure(adcP, tFine);
            var humidityQ22_10 = calibration.CompensateHumidity(adcH, tFine);
            reading = new Bme280Reading(centiCelsius / 100.0, pressureQ24_8 / 256.0, humidityQ22_10 / 1024.0);
            failure = default;
            return true;
        }
        catch (IOException ex)
        {
            // The sensor may have been replaced or reset: check the chip id and calibration again next time.
            _calibration = null;
            return Fail(Bme280Error.BusError, $"I2C transfer to 0x{_device.ConnectionSettings.DeviceAddress:X2} failed: {ex.Message}", out failure);
        }
    }

    private bool TryInitialize(out Bme280Calibration calibration, out ReadFailure<Bme280Error> failure)
    {
        calibration = null!;
        var chipId = ReadRegister(Bme280Register.ChipId);
        if (chipId != ExpectedChipId)
        {
            var hint = chipId is 0x56 or 0x57 or 0x58 ? " (a BMP280, which has no humidity sensor)" : string.Empty;
            return Fail(Bme280Error.WrongChipId, $"chip id 0x{chipId:X2} at 0xD0, expected 0x{ExpectedChipId:X2}{hint}", out failure);
        }

        Span<byte> low = stackalloc byte[Bme280Calibration.LowBlockLength];
        Span<byte> high = stackalloc byte[Bme280Calibration.HighBlockLength];
        ReadRegisters(Bme280Register.CalibrationLow, low);
        ReadRegisters(Bme280Register.CalibrationHigh, high);
        calibration = Bme280Calibration.Parse(low, high);
        if (calibration.T1 == 0 || calibration.P1 == 0)
        {
            // dig_P1 divides the pressure formula; zeros mean the trimming NVM did not read back.
            return Fail(Bme280Error.InvalidCalibration, $"calibration reads dig_T1 {calibration.T1}, dig_P1 {calibration.P1}: not a trimmed sensor", out failure);
        }

        // config is only written reliably in sleep mode (5.4.6); a forced-mode sensor is asleep between reads.
        WriteRegister(Bme280Register.Config, ConfigFilterOff);
        failure = default;
        return true;
    }

    private bool WaitWhileMeasuring()
    {
        _delay(MeasurementTime);
        for (var poll = 0; poll < MaxStatusPolls; poll++)
        {
            if ((ReadRegister(Bme280Register.Status) & StatusMeasuring) == 0)
            {
                return true;
            }

            _delay(StatusPollInterval);
        }

        return false;
    }

    private byte ReadRegister(Bme280Register register)
    {
        Span<byte> value = stackalloc byte[1];
        ReadRegisters(register, value);
        return value[0];
    }

    // Write the register address, then read with auto-increment (6.2.2: multiple byte read).
    private void ReadRegisters(Bme280Register first, Span<byte> buffer) =>
        _device.WriteRead([(byte)first], buffer);

    private void WriteRegister(Bme280Register register, byte value) =>
        _device.Write([(byte)register, value]);

    private static bool Fail(Bme280Error reason, string detail, out ReadFailure<Bme280Error> failure)
    {
        failure = new ReadFailure<Bme280Error>(reason, detail);
        return false;
    }
}

/// <summary>One BME280 measurement: °C, Pa, %RH.</summary>
public readonly record struct Bme280Reading(double TemperatureCelsius, double PressurePascals, double HumidityPercent);

/// <summary>Why a BME280 read failed.</summary>
public enum Bme280Error
{
    None,

    /// <summary>An I2C transfer failed (no device at the address, wiring, bus lockup).</summary>
    BusError,

    /// <summary>Register 0xD0 is not 0x60: another device, or a BMP280.</summary>
    WrongChipId,

    /// <summary>The calibration read back as zeros.</summary>
    InvalidCalibration,

    /// <summary>The status register's measuring bit did not clear in time.</summary>
    MeasurementTimeout,

    /// <summary>The data registers still hold their reset value.</summary>
    NoData,
}

/// <summary>BME280 registers used here (datasheet Table 18, memory map).</summary>
internal enum Bme280Register : byte
{
    /// <summary>calib00..calib25, 0x88..0xA1: dig_T1..dig_P9, dig_H1.</summary>
    CalibrationLow = 0x88,
    ChipId = 0xD0,

    /// <summary>calib26..calib32, 0xE1..0xE7: dig_H2..dig_H6.</summary>
    CalibrationHigh = 0xE1,
    CtrlHum = 0xF2,
    Status = 0xF3,
    CtrlMeas = 0xF4,
    Config = 0xF5,

    /// <summary>0xF7..0xFE: press_msb, press_lsb, press_xlsb, temp_msb, temp_lsb, temp_xlsb, hum_msb, hum_lsb.</summary>
    PressMsb = 0xF7,
}
