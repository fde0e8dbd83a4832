namespace IoTPilots.Contract;

/// <summary>The three pilots of the roadmap; the <c>pilot</c> tag takes exactly these values.</summary>
public static class Pilots
{
    public const string Factory = "factory";
    public const string Port = "port";
    public const string Aquaculture = "aquaculture";

    public static readonly IReadOnlyList<string> All = [Factory, Port, Aquaculture];

    public static bool IsKnown(string? pilot) => pilot is Factory or Port or Aquaculture;
}
