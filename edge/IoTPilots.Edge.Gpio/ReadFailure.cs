namespace IoTPilots.Edge.Gpio;

/// <summary>
/// Why a driver's <c>TryRead</c> returned false: a per-device <see cref="Reason"/> for code to act on
/// (for example to pick a quality code) and a <see cref="Detail"/> sentence for the log.
/// On success it is <c>default</c>: the reason's <c>None</c> and an empty detail.
/// </summary>
public readonly record struct ReadFailure<TReason>
    where TReason : struct, Enum
{
    private readonly string? _detail;

    public ReadFailure(TReason reason, string detail)
    {
        Reason = reason;
        _detail = detail;
    }

    public TReason Reason { get; }

    public string Detail => _detail ?? string.Empty;

    public override string ToString() => $"{Reason}: {Detail}";
}
