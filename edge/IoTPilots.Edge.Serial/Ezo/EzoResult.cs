namespace IoTPilots.Edge.Serial.Ezo;

/// <summary>How far a result can be trusted; maps one to one onto the wire contract's quality codes.</summary>
public enum EzoOutcome
{
    /// <summary>A complete line of numbers: quality <c>good</c>.</summary>
    Good,

    /// <summary>The circuit answered but the answer is unusable (framing, parse, *ER, *OV/*UV): quality <c>bad</c>.</summary>
    Bad,

    /// <summary>Nothing came back in time, or the line itself failed: quality <c>comm-failure</c>.</summary>
    CommFailure,
}

/// <summary>One value of a result. <see cref="Value"/> is null unless the result is good.</summary>
public readonly record struct EzoValue(string Field, double? Value, string Unit);

/// <summary>
/// One reading of one circuit, ready to become one reading per value: every field is listed whatever the
/// outcome, with a null value when there is none, so a poller emits the same fields every time.
/// </summary>
/// <param name="SampledAt">When the reading's line ended (its <c>\r</c> arrived), or when the failure was seen.</param>
public sealed record EzoResult(IReadOnlyList<EzoValue> Values, EzoOutcome Outcome, string? Error, DateTimeOffset SampledAt)
{
    public bool Ok => Outcome == EzoOutcome.Good;

    /// <summary>The value of one field, or null.</summary>
    public double? this[string field] => Values.FirstOrDefault(v => v.Field == field).Value;

    public static EzoResult Good(IReadOnlyList<EzoValue> values, DateTimeOffset at) => new(values, EzoOutcome.Good, null, at);

    public static EzoResult Bad(IEnumerable<EzoField> fields, string error, DateTimeOffset at) =>
        new(Empty(fields), EzoOutcome.Bad, error, at);

    public static EzoResult CommFailure(IEnumerable<EzoField> fields, string error, DateTimeOffset at) =>
        new(Empty(fields), EzoOutcome.CommFailure, error, at);

    private static EzoValue[] Empty(IEnumerable<EzoField> fields) => [.. fields.Select(f => new EzoValue(f.Name, null, f.Unit))];
}
