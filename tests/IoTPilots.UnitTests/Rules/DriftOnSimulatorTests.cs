using IoTPilots.Rules;
using Xunit.Abstractions;

namespace IoTPilots.UnitTests.Rules;

/// <summary>
/// The shipped drift rules against the simulators' physics, in simulated time: an hour of normal operation to learn
/// the baseline, then the fault. The drift alert must come before the shipped threshold alert on the same machine (an
/// order of events in simulated time, not a wall-clock timing), and normal operation after learning raises nothing.
/// </summary>
public sealed class DriftOnSimulatorTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Learning = TimeSpan.FromHours(1);

    // The fault starts a few minutes after the hour the shipped drift rules learn over.
    private static readonly TimeSpan Lead = Learning + TimeSpan.FromMinutes(5);

    private static bool IsDrift(AlertEvent e) => e.RuleId.EndsWith("-drift", StringComparison.Ordinal);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void An_hour_of_normal_operation_after_learning_raises_no_drift_alert(int seed)
    {
        var events = RulesOnSimulatorTests.Run("baseline", Learning * 2, seed).Where(IsDrift).ToList();

        Assert.True(events.Count == 0, "false drift alarms: " + string.Join("; ", events.Select(e => $"{e.RuleId} {e.Series.Device} {e.Transition} at {e.At - RulesOnSimulatorTests.Start}: {e.Message.En}")));
    }

    /// <summary>Runs a fault after the learning hour; the first drift alert and the first of the threshold alerts, timed from the fault.</summary>
    private (AlertEvent Drift, AlertEvent Threshold, DateTimeOffset FaultAt) Detect(string scenario, TimeSpan after, string driftRule, params string[] thresholdRules)
    {
        var events = RulesOnSimulatorTests.Run(scenario, Lead + after, lead: Lead).Where(e => e.Transition == AlertTransition.Raised).ToList();
        var faultAt = RulesOnSimulatorTests.Start + Lead;
        output.WriteLine(string.Join("\n", events.Select(e => $"{e.RuleId} {e.Series.Device} +{e.At - faultAt}")));
        var drift = Assert.Single(events, e => e.RuleId == driftRule);
        var threshold = events.Where(e => thresholdRules.Contains(e.RuleId)).MinBy(e => e.At);
        Assert.NotNull(threshold);
        output.WriteLine($"{scenario}: {driftRule} at +{drift.At - faultAt} (change point +{drift.Since - faultAt}); {threshold.RuleId} at +{threshold.At - faultAt}");
        output.WriteLine(drift.Message.En);
        output.WriteLine(drift.Message.Vi);
        Assert.Equal(drift.Series, threshold.Series);
        Assert.True(drift.At < threshold.At, $"drift at +{drift.At - faultAt}, threshold at +{threshold.At - faultAt}");
        return (drift, threshold, faultAt);
    }

    [Fact]
    public void A_wearing_bearing_drifts_before_the_vibration_thresholds_fire_and_only_on_its_crane()
    {
        var (drift, _, faultAt) = Detect("bearing-wear", TimeSpan.FromMinutes(14), "crane-vibration-drift", "crane-vibration-rising", "crane-vibration-high");

        Assert.Equal("sts-01", drift.Series.Device);
        // The change point is the wear's start, give or take a lift cycle or two.
        Assert.InRange(drift.Since, faultAt - TimeSpan.FromMinutes(3), drift.At);
        var evidence = drift.Evidence!.Drift!;
        Assert.True(evidence.Sigmas > 1, $"{evidence.Sigmas} σ");
        Assert.InRange(evidence.Mean, 1.2, 1.8);
        Assert.Contains("above its baseline", drift.Message.En, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failing_cooling_flow_drifts_before_the_delta_t_per_mw_threshold_fires_and_only_on_its_furnace()
    {
        var (drift, _, faultAt) = Detect("cooling-fault", TimeSpan.FromMinutes(10), "furnace-cooling-drift", "furnace-cooling-low");

        Assert.Equal("furnace-1-aux", drift.Series.Device);
        Assert.InRange(drift.Since, faultAt - TimeSpan.FromMinutes(2), drift.At);
        Assert.Equal((33.5, 0.5), (drift.Evidence!.Drift!.Mean, drift.Evidence.Drift.Sigma));
        Assert.True(drift.Evidence.Drift.Shift < 0);
    }
}
