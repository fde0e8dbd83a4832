using System.Buffers.Binary;

namespace IoTPilots.Edge.Gpio;

/// <summary>
/// A BME280's factory trimming parameters (datasheet BST-BME280-DS001, 4.2.2, Table 16) and the datasheet's
/// integer compensation formulas (4.2.3, code revision 1.1), transcribed operation for operation. C# int and long
/// arithmetic wraps and shifts right arithmetically like the reference C on two's-complement targets.
/// </summary>
internal sealed record Bme280Calibration(
    ushort T1, short T2, short T3,
    ushort P1, short P2, short P3, short P4, short P5, short P6, short P7, short P8, short P9,
    byte H1, short H2, byte H3, short H4, short H5, sbyte H6)
{
    /// <summary>calib00..calib25, registers 0x88..0xA1 (0xA0 is unused).</summary>
    public const int LowBlockLength = 26;

    /// <summary>calib26..calib32, registers 0xE1..0xE7.</summary>
    public const int HighBlockLength = 7;

    public static Bme280Calibration Parse(ReadOnlySpan<byte> low, ReadOnlySpan<byte> high)
    {
        if (low.Length < LowBlockLength || high.Length < HighBlockLength)
        {
            throw new ArgumentException($"calibration is {LowBlockLength} bytes from 0x88 and {HighBlockLength} from 0xE1");
        }

        return new Bme280Calibration(
            T1: BinaryPrimitives.ReadUInt16LittleEndian(low[0..]),
            T2: BinaryPrimitives.ReadInt16LittleEndian(low[2..]),
            T3: BinaryPrimitives.ReadInt16LittleEndian(low[4..]),
            P1: BinaryPrimitives.ReadUInt16LittleEndian(low[6..]),
            P2: BinaryPrimitives.ReadInt16LittleEndian(low[8..]),
            P3: BinaryPrimitives.ReadInt16LittleEndian(low[10..]),
            P4: BinaryPrimitives.ReadInt16LittleEndian(low[12..]),
            P5: BinaryPrimitives.ReadInt16LittleEndian(low[14..]),
            P6: BinaryPrimitives.ReadInt16LittleEndian(low[16..]),
            P7: BinaryPrimitives.ReadInt16LittleEndian(low[18..]),
            P8: BinaryPrimitives.ReadInt16LittleEndian(low[20..]),
            P9: BinaryPrimitives.ReadInt16LittleEndian(low[22..]),
            H1: low[25],
            H2: BinaryPrimitives.ReadInt16LittleEndian(high[0..]),
            H3: high[2],
            // dig_H4 and dig_H5 are 12-bit values sharing 0xE5: H4 = 0xE4[7:0] << 4 | 0xE5[3:0] and
            // H5 = 0xE6[7:0] << 4 | 0xE5[7:4] (Table 16). The sign comes from the whole byte, as in Bosch's
            // BME280 API (parse_humidity_calib_data).
            H4: (short)(((sbyte)high[3] << 4) | (high[4] & 0x0F)),
            H5: (short)(((sbyte)high[5] << 4) | (high[4] >> 4)),
            H6: (sbyte)high[6]);
    }

    /// <summary>BME280_compensate_T_int32: temperature in 0.01 °C; <paramref name="tFine"/> feeds P and H.</summary>
    public int CompensateTemperature(int adcT, out int tFine)
    {
        var var1 = (((adcT >> 3) - (T1 << 1)) * T2) >> 11;
        var var2 = (((((adcT >> 4) - T1) * ((adcT >> 4) - T1)) >> 12) * T3) >> 14;
        tFine = var1 + var2;
        return ((tFine * 5) + 128) >> 8;
    }

    /// <summary>BME280_compensate_P_int64: pressure in Pa as Q24.8 (divide by 256). 0 when dig_P1 would divide by zero.</summary>
    public uint CompensatePressure(int adcP, int tFine)
    {
        long var1 = tFine - 128000L;
        var var2 = var1 * var1 * P6;
        var2 += (var1 * P5) << 17;
        var2 += (long)P4 << 35;
        var1 = ((var1 * var1 * P3) >> 8) + ((var1 * P2) << 12);
        var1 = (((1L << 47) + var1) * P1) >> 33;
        if (var1 == 0)
        {
            return 0;
        }

        long p = 1048576 - adcP;
        p = (((p << 31) - var2) * 3125) / var1;
        var1 = (P9 * (p >> 13) * (p >> 13)) >> 25;
        var2 = (P8 * p) >> 19;
        p = ((p + var1 + var2) >> 8) + ((long)P7 << 4);
        return (uint)p;
    }

    /// <summary>bme280_compensate_H_int32: relative humidity in % as Q22.10 (divide by 1024), clamped to 0-100 %.</summary>
    public uint CompensateHumidity(int adcH, int tFine)
    {
        var v = tFine - 76800;
        v = (((((adcH << 14) - (H4 << 20)) - (H5 * v)) + 16384) >> 15)
            * ((((((((v * H6) >> 10) * (((v * H3) >> 11) + 32768)) >> 10) + 2097152) * H2) + 8192) >> 14);
        v -= (((((v >> 15) * (v >> 15)) >> 7) * H1) >> 4);
        v = Math.Clamp(v, 0, 419430400);
        return (uint)(v >> 12);
    }
}
