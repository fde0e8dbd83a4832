using System.Globalization;

namespace IoTPilots.Edge.Serial.Ezo;

/// <summary>What an EZO UART line is, by its first characters.</summary>
public enum EzoLineKind
{
    /// <summary>Numbers: a reading.</summary>
    Data,

    /// <summary>A reply to a query, starting with <c>?</c>: <c>?I,pH,2.10</c>, <c>?Status,P,5.038</c>, <c>?C,1</c>.</summary>
    Query,

    /// <summary><c>*OK</c>: command accepted (sent after every command unless disabled with <c>*OK,0</c>).</summary>
    Ok,

    /// <summary><c>*ER</c>: unknown command or bad argument.</summary>
    Error,

    /// <summary><c>*OV</c>: over volt, VCC at or above 5.5 V.</summary>
    OverVoltage,

    /// <summary><c>*UV</c>: under volt, VCC at or below 3.1 V.</summary>
    UnderVoltage,

    /// <summary><c>*RS</c>: the circuit is resetting.</summary>
    Reset,

    /// <summary><c>*RE</c>: boot-up complete, ready.</summary>
    Ready,

    /// <summary><c>*SL</c>: entering sleep mode.</summary>
    Sleep,

    /// <summary><c>*WA</c>: woken up.</summary>
    Wake,

    /// <summary><c>*DONE</c>: end of a multi-line transfer (calibration export).</summary>
    Done,

    /// <summary>Any other <c>*</c> code.</summary>
    UnknownCode,
}

/// <summary>
/// The pure half of the EZO UART driver: classifies lines and turns them into values or a clear error. No I/O,
/// no clock (the caller passes the time a line arrived).
/// </summary>
/// <remarks>
/// Response codes per the EZO datasheets' UART "Response codes" page (EZO-DO V4.1 p.32, the same on every EZO
/// circuit): *OK, *ER, *OV (VCC ≥ 5.5 V), *UV (VCC ≤ 3.1 V), *RS, *RE, *SL, *WA; only *OK can be disabled.
/// *DONE ends a calibration export. Readings are comma-separated decimals in a fixed order (see
/// <see cref="EzoFields.Outputs"/>).
/// </remarks>
public static class EzoParser
{
    public static EzoLineKind Classify(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.StartsWith('?'))
        {
            return EzoLineKind.Query;
        }

        if (!line.StartsWith('*'))
        {
            return EzoLineKind.Data;
        }

        return line.ToUpperInvariant() switch
        {
            "*OK" => EzoLineKind.Ok,
            "*ER" => EzoLineKind.Error,
            "*OV" => EzoLineKind.OverVoltage,
            "*UV" => EzoLineKind.UnderVoltage,
            "*RS" => EzoLineKind.Reset,
            "*RE" => EzoLineKind.Ready,
            "*SL" => EzoLineKind.Sleep,
            "*WA" => EzoLineKind.Wake,
            "*DONE" => EzoLineKind.Done,
            _ => EzoLineKind.UnknownCode,
        };
    }

    /// <summary>A sentence for a response code, for errors and logs.</summary>
    public static string Describe(EzoLineKind kind) => kind switch
    {
        EzoLineKind.Ok => "*OK: command accepted",
        EzoLineKind.Error => "*ER: circuit rejected the command",
        EzoLineKind.OverVoltage => "*OV: supply over-voltage (VCC >= 5.5 V)",
        EzoLineKind.UnderVoltage => "*UV: supply under-voltage (VCC <= 3.1 V)",
        EzoLineKind.Reset => "*RS: circuit resetting",
        EzoLineKind.Ready => "*RE: circuit booted and ready",
        EzoLineKind.Sleep => "*SL: circuit going to sleep",
        EzoLineKind.Wake => "*WA: circuit woke up",
        EzoLineKind.Done => "*DONE: transfer complete",
        EzoLineKind.UnknownCode => "unknown response code",
        EzoLineKind.Query => "a reply to a query",
        _ => "a reading",
    };

    /// <summary>
    /// Parses a reading line of a <paramref name="kind"/> circuit, e.g. <c>9.560</c> for pH or
    /// <c>1413,763,0.70,1.000</c> for EC. Never throws on bad input: the error is in the result.
    /// </summary>
    /// <param name="outputs">
    /// The values the circuit has enabled, in its order. Null means infer from the count: one number is the
    /// kind's first output, a full line is all of them; any other count needs the outputs declared.
    /// </param>
    public static EzoResult ParseReading(EzoKind kind, string line, DateTimeOffset at, IReadOnlyList<EzoField>? outputs = null)
    {
        ArgumentNullException.ThrowIfNull(line);
        var all = kind.Outputs();
        if (outputs is not null)
        {
            ValidateOutputs(kind, outputs);
        }

        IReadOnlyList<EzoField> failureFields = outputs ?? [all[0]];
        var lineKind = Classify(line);
        if (lineKind != EzoLineKind.Data)
        {
            var what = lineKind == EzoLineKind.UnknownCode ? $"unknown response code '{line}'" : Describe(lineKind);
            return EzoResult.Bad(failureFields, lineKind is EzoLineKind.Error or EzoLineKind.OverVoltage or EzoLineKind.UnderVoltage or EzoLineKind.UnknownCode
                ? what
                : $"{what}; expected a reading, got '{line}'", at);
        }

        var parts = line.Split(',');
        var numbers = new double[parts.Length];
        var expected = outputs?.Count.ToString(CultureInfo.InvariantCulture)
            ?? (all.Count == 1 ? "1" : $"1 or {all.Count}");
        var noun = expected == "1" ? "number" : "numbers";
        for (var i = 0; i < parts.Length; i++)
        {
            if (!TryParseNumber(parts[i], out numbers[i]))
            {
                return EzoResult.Bad(failureFields, $"expected {expected} {noun} for {kind.DeviceType()}, got '{line}'", at);
            }
        }

        var fields = outputs ?? (numbers.Length == 1 ? [all[0]] : numbers.Length == all.Count ? all : null);

        if (fields is null || fields.Count != numbers.Length)
        {
            var hint = outputs is null && all.Count > 1 ? "; declare the circuit's enabled outputs (O,?) when only some are on" : "";
            return EzoResult.Bad(failureFields, $"expected {expected} {noun} for {kind.DeviceType()} ({string.Join(",", (outputs ?? all).Select(f => f.Name))}), got {numbers.Length} in '{line}'{hint}", at);
        }

        var values = new EzoValue[numbers.Length];
        for (var i = 0; i < numbers.Length; i++)
        {
            values[i] = new EzoValue(fields[i].Name, numbers[i], fields[i].Unit);
        }

        return EzoResult.Good(values, at);
    }

    /// <summary>Checks that declared outputs are a non-empty subset of what a <paramref name="kind"/> circuit can send.</summary>
    /// <exception cref="ArgumentException">They are not.</exception>
    public static void ValidateOutputs(EzoKind kind, IReadOnlyList<EzoField> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var all = kind.Outputs();
        if (outputs.Count == 0 || outputs.Any(f => !all.Contains(f)) || outputs.Distinct().Count() != outputs.Count)
        {
            throw new ArgumentException($"outputs must be distinct fields of EZO {kind.DeviceType()}: {string.Join(", ", all.Select(f => f.Name))}; got {string.Join(", ", outputs.Select(f => f.Name))}", nameof(outputs));
        }
    }

    /// <summary>Parses the reply to <c>i</c>: <c>?I,pH,2.10</c> → (pH, 2.10).</summary>
    /// <exception cref="FormatException">The line is not a device-information reply.</exception>
    public static EzoDeviceInfo ParseDeviceInfo(string line)
    {
        var parts = QueryParts(line, "?I", 3, "?I,<type>,<firmware>");
        return new EzoDeviceInfo(parts[1], parts[2]);
    }

    /// <summary>Parses the reply to <c>Status</c>: <c>?Status,P,5.038</c> → (powered off, 5.038 V).</summary>
    /// <exception cref="FormatException">The line is not a status reply.</exception>
    public static EzoDeviceStatus ParseStatus(string line)
    {
        var parts = QueryParts(line, "?STATUS", 3, "?Status,<P|S|B|W|U>,<volts>");
        var reason = parts[1].ToUpperInvariant() switch
        {
            "P" => EzoRestartReason.PoweredOff,
            "S" => EzoRestartReason.SoftwareReset,
            "B" => EzoRestartReason.BrownOut,
            "W" => EzoRestartReason.Watchdog,
            "U" => EzoRestartReason.Unknown,
            _ => throw new FormatException($"restart reason '{parts[1]}' in '{line}' is not one of P, S, B, W, U"),
        };
        if (!TryParseNumber(parts[2], out var volts))
        {
            throw new FormatException($"supply voltage '{parts[2]}' in '{line}' is not a number");
        }

        return new EzoDeviceStatus(reason, volts);
    }

    /// <summary>Parses the reply to <c>C,?</c>: <c>?C,1</c> → 1 (seconds between readings; 0 when off).</summary>
    /// <exception cref="FormatException">The line is not a continuous-mode reply.</exception>
    public static int ParseContinuous(string line)
    {
        var parts = QueryParts(line, "?C", 2, "?C,<seconds>");
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            throw new FormatException($"continuous interval '{parts[1]}' in '{line}' is not a whole number");
        }

        return seconds;
    }

    private static string[] QueryParts(string line, string prefix, int count, string shape)
    {
        ArgumentNullException.ThrowIfNull(line);
        var parts = line.Split(',');
        if (parts.Length != count || !parts[0].Equals(prefix, StringComparison.OrdinalIgnoreCase) || parts.Any(p => p.Length == 0))
        {
            throw new FormatException($"expected '{shape}', got '{line}'");
        }

        return parts;
    }

    // Plain decimals as the circuits print them: optional sign, digits, optional fraction. No exponent, no
    // spaces, no thousands separators: anything else on the line is damage, not a number.
    private static bool TryParseNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value)
        && double.IsFinite(value);
}

/// <summary>The circuit's reply to <c>i</c>.</summary>
public sealed record EzoDeviceInfo(string DeviceType, string Firmware);

/// <summary>Why the circuit last restarted, from its reply to <c>Status</c>.</summary>
public enum EzoRestartReason
{
    PoweredOff,
    SoftwareReset,
    BrownOut,
    Watchdog,
    Unknown,
}

/// <summary>The circuit's reply to <c>Status</c>: last restart reason and supply voltage at VCC.</summary>
public sealed record EzoDeviceStatus(EzoRestartReason RestartReason, double SupplyVolts);

/// <summary>The circuit answered a command with something other than what it asks for (*ER, garbage).</summary>
public sealed class EzoException(string message) : Exception(message);

/// <summary>The circuit did not answer a command in time.</summary>
public sealed class EzoTimeoutException(string message) : TimeoutException(message);
