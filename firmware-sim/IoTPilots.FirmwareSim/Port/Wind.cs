namespace IoTPilots.FirmwareSim.Port;

/// <summary>
/// Wind at the quay: a 10-minute mean that wanders slowly, plus turbulence as a first-order autoregressive
/// process (10 s correlation time, intensity 20 %), sampled at 1 Hz. The gust is the 3-second average, as
/// EN 13001 defines it, which over a 10-minute window peaks near 1.5× the mean [docs/domain.md C2]. Seeded.
/// </summary>
public sealed class Wind(Random random, double meanMs = 6)
{
    private const double TurbulenceIntensity = 0.2;
    private static readonly TimeSpan Correlation = TimeSpan.FromSeconds(10);
    private readonly Queue<double> _last3s = new();
    private double _turbulence;

    /// <summary>The 10-minute mean the weather sets, m/s; scenarios raise it for a storm.</summary>
    public double TargetMean { get; set; } = meanMs;

    public double Mean { get; private set; } = meanMs;

    public double Instant { get; private set; } = meanMs;

    /// <summary>Average of the last three 1-s samples, m/s.</summary>
    public double Gust3s { get; private set; } = meanMs;

    public void Step(TimeSpan dt)
    {
        var seconds = dt.TotalSeconds;
        // The mean follows the weather over minutes, not seconds.
        Mean += (TargetMean - Mean) * (1 - Math.Exp(-seconds / 120));
        var a = Math.Exp(-seconds / Correlation.TotalSeconds);
        var sigma = TurbulenceIntensity * Mean;
        _turbulence = (a * _turbulence) + (Math.Sqrt(1 - (a * a)) * sigma * Gaussian());
        Instant = Math.Max(0, Mean + _turbulence);
        _last3s.Enqueue(Instant);
        while (_last3s.Count > 3)
        {
            _last3s.Dequeue();
        }

        Gust3s = _last3s.Average();
    }

    private double Gaussian()
    {
        var u1 = 1 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
