namespace IoTPilots.Contract;

/// <summary>How far a reading can be trusted. Serialized in lower-kebab-case on the wire.</summary>
public enum Quality
{
    /// <summary>The device answered and the value is within the sensor's range.</summary>
    Good,

    /// <summary>The device answered but flagged the value (sensor break, out of range, parse error).</summary>
    Bad,

    /// <summary>The device reports a value it has not refreshed (for example a frozen probe).</summary>
    Stale,

    /// <summary>The device did not answer; there is no value.</summary>
    CommFailure,
}

public static class QualityNames
{
    public static string ToWire(this Quality quality) => quality switch
    {
        Quality.Good => "good",
        Quality.Bad => "bad",
        Quality.Stale => "stale",
        Quality.CommFailure => "comm-failure",
        _ => throw new ArgumentOutOfRangeException(nameof(quality), quality, null),
    };

    public static bool TryParse(string? text, out Quality quality)
    {
        switch (text)
        {
            case "good": quality = Quality.Good; return true;
            case "bad": quality = Quality.Bad; return true;
            case "stale": quality = Quality.Stale; return true;
            case "comm-failure": quality = Quality.CommFailure; return true;
            default: quality = default; return false;
        }
    }
}
