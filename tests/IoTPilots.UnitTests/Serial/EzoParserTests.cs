using IoTPilots.Edge.Serial.Ezo;

namespace IoTPilots.UnitTests.Serial;

public class EzoParserTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Ph_reading_from_the_datasheet_example()
    {
        // EZO-pH datasheet V5.x, "R" (single reading): example response 9.560.
        var r = EzoParser.ParseReading(EzoKind.Ph, "9.560", At);

        Assert.True(r.Ok);
        Assert.Equal(EzoOutcome.Good, r.Outcome);
        Assert.Null(r.Error);
        Assert.Equal(At, r.SampledAt);
        Assert.Equal([new EzoValue("ph", 9.560, "pH")], r.Values);
    }

    [Fact]
    public void Do_reading_from_the_datasheet_example_is_mg_per_litre()
    {
        // EZO-DO datasheet V4.1 p.32, "Response codes": R answers 7.82 then *OK.
        var r = EzoParser.ParseReading(EzoKind.Do, "7.82", At);

        Assert.Equal([new EzoValue("do_mg_l", 7.82, "mg/L")], r.Values);
    }

    [Fact]
    public void Do_with_saturation_enabled_gives_mg_per_litre_then_percent()
    {
        // Both outputs enabled (O,%,1): mg/L first, then % saturation, as EnviroDIY's AtlasScientificDO reads them.
        // Values ours: 7.82 mg/L is about 95 % saturation in fresh water at 25 °C.
        var r = EzoParser.ParseReading(EzoKind.Do, "7.82,95.1", At);

        Assert.Equal([new EzoValue("do_mg_l", 7.82, "mg/L"), new EzoValue("do_sat_pct", 95.1, "%")], r.Values);
    }

    [Fact]
    public void Orp_reading_is_millivolts()
    {
        // Value ours; EZO-ORP sends one signed number in mV.
        var r = EzoParser.ParseReading(EzoKind.Orp, "-125.4", At);

        Assert.Equal([new EzoValue("orp_mv", -125.4, "mV")], r.Values);
    }

    [Fact]
    public void Ec_line_with_all_outputs_is_ec_tds_salinity_sg()
    {
        // EZO-EC datasheet V6.2 cover: output order EC,TDS,SAL,SG. Values ours, for the 1413 µS/cm calibration
        // solution (TDS at the default 0.54 factor is 763 ppm).
        var r = EzoParser.ParseReading(EzoKind.Ec, "1413,763,0.70,1.000", At);

        Assert.Equal(
            [
                new EzoValue("ec_us_cm", 1413, "uS/cm"),
                new EzoValue("tds_ppm", 763, "ppm"),
                new EzoValue("salinity_ppt", 0.70, "ppt"),
                new EzoValue("sg", 1.000, ""),
            ],
            r.Values);
    }

    [Fact]
    public void Ec_from_firmware_2_10_default_sends_ec_only()
    {
        // EZO-EC datasheet V6.2 cover: "firmware version 2.10 and above will only output EC" by default.
        var r = EzoParser.ParseReading(EzoKind.Ec, "1413", At);

        Assert.Equal([new EzoValue("ec_us_cm", 1413, "uS/cm")], r.Values);
    }

    [Fact]
    public void Ec_with_declared_outputs_maps_a_partial_line()
    {
        var outputs = new[] { EzoFields.EcUsCm, EzoFields.SalinityPpt };

        var r = EzoParser.ParseReading(EzoKind.Ec, "53000,35.01", At, outputs);

        Assert.Equal([new EzoValue("ec_us_cm", 53000, "uS/cm"), new EzoValue("salinity_ppt", 35.01, "ppt")], r.Values);
    }

    [Fact]
    public void Ec_partial_line_without_declared_outputs_is_bad_with_a_hint()
    {
        var r = EzoParser.ParseReading(EzoKind.Ec, "53000,35.01", At);

        Assert.Equal(EzoOutcome.Bad, r.Outcome);
        Assert.Contains("expected 1 or 4 numbers for EC", r.Error, StringComparison.Ordinal);
        Assert.Contains("O,?", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Rtd_reading_is_celsius()
    {
        var r = EzoParser.ParseReading(EzoKind.Rtd, "25.104", At);

        Assert.Equal([new EzoValue("temp_c", 25.104, "degC")], r.Values);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("7.0x")]
    [InlineData("")]
    [InlineData("7,0")]
    [InlineData("1e3")]
    [InlineData(" 7.0")]
    [InlineData("no output")]
    public void Anything_but_one_plain_number_is_bad_for_ph(string line)
    {
        var r = EzoParser.ParseReading(EzoKind.Ph, line, At);

        Assert.Equal(EzoOutcome.Bad, r.Outcome);
        Assert.False(r.Ok);
        Assert.StartsWith("expected 1 number for pH", r.Error, StringComparison.Ordinal);
        Assert.Equal([new EzoValue("ph", null, "pH")], r.Values);
    }

    [Fact]
    public void Non_numeric_error_quotes_the_line()
    {
        Assert.Equal("expected 1 number for pH, got 'abc'", EzoParser.ParseReading(EzoKind.Ph, "abc", At).Error);
    }

    [Theory]
    [InlineData("*ER", "*ER: circuit rejected the command")]
    [InlineData("*OV", "*OV: supply over-voltage (VCC >= 5.5 V)")]
    [InlineData("*UV", "*UV: supply under-voltage (VCC <= 3.1 V)")]
    public void Error_codes_are_bad_readings_with_their_meaning(string line, string error)
    {
        // Response codes per EZO-DO datasheet V4.1 p.32 (the same on every EZO circuit).
        var r = EzoParser.ParseReading(EzoKind.Ph, line, At);

        Assert.Equal(EzoOutcome.Bad, r.Outcome);
        Assert.Equal(error, r.Error);
    }

    [Theory]
    [InlineData("*OK", EzoLineKind.Ok)]
    [InlineData("*ok", EzoLineKind.Ok)]
    [InlineData("*ER", EzoLineKind.Error)]
    [InlineData("*OV", EzoLineKind.OverVoltage)]
    [InlineData("*UV", EzoLineKind.UnderVoltage)]
    [InlineData("*RS", EzoLineKind.Reset)]
    [InlineData("*RE", EzoLineKind.Ready)]
    [InlineData("*SL", EzoLineKind.Sleep)]
    [InlineData("*WA", EzoLineKind.Wake)]
    [InlineData("*DONE", EzoLineKind.Done)]
    [InlineData("*XX", EzoLineKind.UnknownCode)]
    [InlineData("?I,pH,2.10", EzoLineKind.Query)]
    [InlineData("9.560", EzoLineKind.Data)]
    public void Lines_are_classified_by_their_response_code(string line, EzoLineKind kind)
    {
        Assert.Equal(kind, EzoParser.Classify(line));
    }

    [Fact]
    public void Device_information_reply()
    {
        // EZO-pH datasheet, "Device information": i → ?I,pH,<firmware>.
        Assert.Equal(new EzoDeviceInfo("pH", "2.10"), EzoParser.ParseDeviceInfo("?I,pH,2.10"));
        Assert.Equal(new EzoDeviceInfo("pH", "1.98"), EzoParser.ParseDeviceInfo("?i,pH,1.98"));
    }

    [Fact]
    public void Status_reply_from_the_datasheet_example()
    {
        // EZO datasheets, "Reading device status": Status → ?Status,P,5.038 (powered off, 5.038 V at VCC).
        Assert.Equal(new EzoDeviceStatus(EzoRestartReason.PoweredOff, 5.038), EzoParser.ParseStatus("?Status,P,5.038"));
        Assert.Equal(EzoRestartReason.BrownOut, EzoParser.ParseStatus("?STATUS,B,3.30").RestartReason);
    }

    [Fact]
    public void Continuous_mode_reply()
    {
        Assert.Equal(1, EzoParser.ParseContinuous("?C,1"));
        Assert.Equal(0, EzoParser.ParseContinuous("?C,0"));
    }

    [Theory]
    [InlineData("?I,pH")]
    [InlineData("?Status,P,5.038")]
    [InlineData("9.560")]
    public void Malformed_device_information_says_what_was_expected(string line)
    {
        var ex = Assert.Throws<FormatException>(() => EzoParser.ParseDeviceInfo(line));
        Assert.Contains("?I,<type>,<firmware>", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Outputs_of_another_kind_are_refused()
    {
        Assert.Throws<ArgumentException>(() => EzoParser.ValidateOutputs(EzoKind.Ec, [EzoFields.Ph]));
        Assert.Throws<ArgumentException>(() => EzoParser.ValidateOutputs(EzoKind.Ec, []));
    }

    [Fact]
    public void Every_field_name_follows_the_storage_rule()
    {
        foreach (var kind in Enum.GetValues<EzoKind>())
        {
            Assert.All(kind.Outputs(), f => Assert.True(IoTPilots.Contract.Identifiers.IsValidField(f.Name), f.Name));
        }
    }
}
