namespace IoTPilots.Rules;

public enum DriftMethod
{
    /// <summary>Tabular CUSUM: sums of the standardised residual beyond a slack k; signals past h [docs/domain.md P2].</summary>
    Cusum,

    /// <summary>EWMA of the standardised residual; signals past ±L of its own standard deviation [docs/domain.md P1].</summary>
    Ewma,
}

public enum DriftDirection
{
    Up,
    Down,
    Both,
}

/// <summary>
/// A drift rule's detector (<see cref="RuleKind.Drift"/>): the signal's mean over each <paramref name="Every"/> is
/// judged against the baseline learned over <paramref name="Baseline"/>, in baseline standard deviations.
/// </summary>
/// <param name="Baseline">The learning window: the subgroups of the first such span of readings are the baseline, and monitoring starts then.</param>
/// <param name="Every">The subgroup: the detector judges the mean of each such span of readings, not each reading. Consecutive readings of a
/// machine are not independent (a crane lifts one container for several readings); their means over a minute nearly are, as CUSUM and
/// EWMA assume [docs/domain.md P1: the EWMA chart is run on subgroup means].</param>
/// <param name="K">CUSUM slack, in baseline σ (0.5 detects a shift of about 1σ fastest [docs/domain.md P2]).</param>
/// <param name="H">CUSUM decision interval, in baseline σ (4 to 5 [docs/domain.md P2]).</param>
/// <param name="Lambda">EWMA weight of the newest subgroup (0.2 to 0.3 [docs/domain.md P1]).</param>
/// <param name="L">EWMA control limit, in standard deviations of the EWMA (3 [docs/domain.md P1]).</param>
/// <param name="MinSigma">A floor under the learned σ, in the signal's unit: a signal that barely moves (a simulator, a quantised reading)
/// would otherwise make every last digit a drift.</param>
public sealed record Drift(DriftMethod Method, TimeSpan Baseline, TimeSpan Every, double K, double H, double Lambda, double L, DriftDirection Direction, double MinSigma)
{
    /// <summary>A baseline needs at least this many subgroups to give a standard deviation worth dividing by.</summary>
    public const int MinGroups = 10;

    /// <summary>The statistic's alarm level: h for CUSUM, L for EWMA.</summary>
    public double Threshold => Method == DriftMethod.Cusum ? H : L;
}

/// <summary>What a drift alert was judged on: the baseline (mean ± σ over its window), the latest subgroup mean and the statistic.</summary>
/// <param name="Since">The change point: the last subgroup at which the CUSUM sum (or the EWMA) was back on the baseline.</param>
/// <param name="At">When this was judged (the subgroup's last reading).</param>
public sealed record DriftEvidence(string Method, double Mean, double Sigma, TimeSpan Window, double Value, string Unit, DateTimeOffset Since, DateTimeOffset At, double Statistic, double Threshold)
{
    /// <summary>How far the value is from the baseline mean, in the signal's unit.</summary>
    public double Shift => Value - Mean;

    /// <summary>How far the value is from the baseline mean, in baseline standard deviations.</summary>
    public double Sigmas => Shift / Sigma;

    public string Baseline(bool vietnamese) =>
        $"{MessageTemplate.Number(Mean, vietnamese)} ± {MessageTemplate.Number(Sigma, vietnamese)} {Unit} {(vietnamese ? "trong" : "over")} {MessageTemplate.Duration(Window, vietnamese)}".Replace("  ", " ", StringComparison.Ordinal);

    public string ShiftText(bool vietnamese) => $"{Signed(Shift, vietnamese)} {Unit}".TrimEnd();

    public string SigmasText(bool vietnamese) => $"{Signed(Sigmas, vietnamese)} σ";

    /// <summary>How long ago the change point was, roughly: "about 4 min".</summary>
    public string SinceText(bool vietnamese) => MessageTemplate.Approximately(At - Since, vietnamese);

    public string Describe(bool vietnamese) => vietnamese
        ? $"{Method}: {MessageTemplate.Number(Value, vietnamese)} {Unit} lệch {ShiftText(true)} ({SigmasText(true)}) so với mức nền {Baseline(true)}, từ {Since.UtcDateTime:HH:mm:ss} UTC"
        : $"{Method}: {MessageTemplate.Number(Value, vietnamese)} {Unit} is {ShiftText(false)} ({SigmasText(false)}) from the baseline {Baseline(false)}, since {Since.UtcDateTime:HH:mm:ss} UTC";

    private static string Signed(double value, bool vietnamese) => (value > 0 ? "+" : "") + MessageTemplate.Number(value, vietnamese);
}

/// <summary>
/// One series' drift detector, pure: feed it subgroup means in time order; it learns the baseline, then keeps the
/// CUSUM sums (or the EWMA) of the standardised residual z = (mean − μ) / σ.
/// <para>
/// The baseline is learned once and then kept (SPC's phase I, then phase II). A baseline that kept sliding would
/// learn the drift it is there to catch; and one that slid only over the subgroups judged in control would cut off
/// its own tails, shrink σ and alarm more and more (tried: an EWMA with L = 3.5 alarmed every few hours on pure
/// noise). It is learned again when the engine restarts.
/// </para>
/// <para>
/// The baseline is robust in two steps: the median and the MAD (× 1.4826, σ for normal data) find the bulk of the
/// subgroups, so that a spike during learning (a dropped load, a gust) cannot inflate σ and blunt the detector
/// (Welford's running mean and variance would take it in whole, and rejecting outliers against its own running σ
/// needs a σ before it has one). Then μ and σ are the plain mean and standard deviation of the subgroups within 4
/// robust σ of the median: a CUSUM sums residuals, so its centre must be the mean, not the median, or a skewed but
/// healthy signal (a crane's mix of empty and loaded lifts) would walk the sum up by itself.
/// </para>
/// </summary>
internal sealed class DriftDetector(Drift drift)
{
    private readonly Queue<(DateTimeOffset At, double Mean)> _baseline = new();
    private DateTimeOffset? _learningFrom;
    private double _slack;
    private double _up;
    private double _down;
    private int _ewmaCount;
    private DateTimeOffset _upZeroAt;
    private DateTimeOffset _downZeroAt;

    public bool Learned { get; private set; }

    public double Mean { get; private set; }

    public double Sigma { get; private set; }

    /// <summary>The EWMA of z (EWMA method).</summary>
    public double Ewma { get; private set; }

    /// <summary>Adds a subgroup mean; false while the baseline is still being learned (nothing to judge yet).</summary>
    public bool Add(DateTimeOffset at, double mean)
    {
        if (!Learned)
        {
            _learningFrom ??= at;
            _baseline.Enqueue((at, mean));
            if (at - _learningFrom.Value < drift.Baseline || _baseline.Count < Drift.MinGroups)
            {
                return false;
            }

            Learned = true;
            Estimate();
            // The baseline mean is itself an estimate, off by about σ/√n; an unlucky one (n = 60 and 2.3 standard
            // errors off, in a test) walks a CUSUM over the line on pure noise within hours. So the slack grows by
            // two standard errors: the sums ignore what the baseline cannot tell from its own uncertainty.
            _slack = drift.K + (2 / Math.Sqrt(_baseline.Count));
            _baseline.Clear();
            (_upZeroAt, _downZeroAt) = (at, at);
            return false;
        }

        var z = (mean - Mean) / Sigma;
        if (drift.Method == DriftMethod.Cusum)
        {
            // Capped at 2h: after a long excursion the sum comes back below h/2 within 1.5h/k subgroups of the
            // signal being back on its baseline, instead of taking as long to drain as it took to fill.
            _up = Math.Min(Math.Max(0, _up + z - _slack), 2 * drift.H);
            _down = Math.Min(Math.Max(0, _down - z - _slack), 2 * drift.H);
            _upZeroAt = _up == 0 ? at : _upZeroAt;
            _downZeroAt = _down == 0 ? at : _downZeroAt;
        }
        else
        {
            Ewma = (drift.Lambda * z) + ((1 - drift.Lambda) * Ewma);
            _ewmaCount++;
            _upZeroAt = Ewma <= 0 ? at : _upZeroAt;
            _downZeroAt = Ewma >= 0 ? at : _downZeroAt;
        }

        return true;
    }

    /// <summary>The statistic towards higher values (CUSUM sum, or EWMA in its own σ), in the same unit as <see cref="Drift.Threshold"/>.</summary>
    public double Up => drift.Method == DriftMethod.Cusum ? _up : Ewma / EwmaSigma();

    public double Down => drift.Method == DriftMethod.Cusum ? _down : -Ewma / EwmaSigma();

    /// <summary>The statistic in a direction, and the last time it was on the baseline (the change point).</summary>
    public (double Score, DateTimeOffset Since) Toward(DriftDirection direction) => direction == DriftDirection.Down ? (Down, _downZeroAt) : (Up, _upZeroAt);

    /// <summary>The direction the rule watches that is furthest out now.</summary>
    public DriftDirection Worst => drift.Direction switch
    {
        DriftDirection.Both => Up >= Down ? DriftDirection.Up : DriftDirection.Down,
        var d => d,
    };

    /// <summary>σ of the EWMA after n subgroups: σ_z · sqrt(λ / (2 − λ) · (1 − (1 − λ)^2n)) [docs/domain.md P1], with σ_z = 1.</summary>
    private double EwmaSigma()
    {
        var lambda = drift.Lambda;
        return Math.Sqrt(lambda / (2 - lambda) * (1 - Math.Pow(1 - lambda, 2 * Math.Max(1, _ewmaCount))));
    }

    private void Estimate()
    {
        var values = _baseline.Select(b => b.Mean).Order().ToList();
        var median = MedianOfSorted(values);
        var mad = MedianOfSorted(values.Select(v => Math.Abs(v - median)).Order().ToList());
        // Never zero: a signal that has not moved at all still gets a band of a millionth of its size.
        var floor = Math.Max(drift.MinSigma, 1e-6 * Math.Max(1, Math.Abs(median)));
        var band = 4 * Math.Max(1.4826 * mad, floor);
        var inliers = values.Where(v => Math.Abs(v - median) <= band).ToList();
        Mean = inliers.Average();
        var variance = inliers.Count > 1 ? inliers.Sum(v => (v - Mean) * (v - Mean)) / (inliers.Count - 1) : 0;
        Sigma = Math.Max(Math.Sqrt(variance), floor);
    }

    private static double MedianOfSorted(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}
