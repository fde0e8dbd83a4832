using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Report;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.IntegrationTests;

/// <summary>The pilot evaluation report's figures, from a real InfluxDB and alert store seeded with a known hour.</summary>
[Collection(ServersCollection.Name)]
public sealed class ReportTests(Servers servers) : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Sts1 = new("port", "port-1", "gw-port-01", "sts-01");
    private static readonly SeriesKey Sts2 = Sts1 with { Device = "sts-02" };
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static AlertEvent Event(AlertTransition transition, string rule, Severity severity, SeriesKey series, string field, double minutes, double? value = null) =>
        new(transition, rule, severity, series, field, T0.AddMinutes(minutes), T0.AddMinutes(minutes), value, value, new LocalizedText(rule, rule));

    [Fact]
    public async Task The_report_counts_availability_handling_times_and_failures_predicted_before_they_happened()
    {
        var influx = await servers.NewDatabaseAsync("report");
        var lines = new List<string>();
        for (var m = 0; m < 60; m++)
        {
            var ms = T0.AddMinutes(m).ToUnixTimeMilliseconds();
            lines.Add($"telemetry,device=sts-01,gateway=gw-port-01,pilot=port,site=port-1 vib_mm_s=2.1,lift_count={60_000 + m} {ms}");
            if (m < 30)
            {
                lines.Add($"telemetry,device=sts-02,gateway=gw-port-01,pilot=port,site=port-1 vib_mm_s=1.9,lift_count={70_000 + (2 * m)} {ms}");
            }
        }

        lines.Add($"telemetry_quality,device=sts-02,field=vib_mm_s,gateway=gw-port-01,pilot=port,site=port-1 quality=\"comm-failure\" {T0.AddMinutes(31).ToUnixTimeMilliseconds()}");
        lines.Add($"delivery,gateway=gw-port-01 received=990i,missing=10i,dropped=0i {T0.AddMinutes(59).ToUnixTimeMilliseconds()}");
        await influx.WriteAsync(lines, CancellationToken.None);

        var time = new FakeTimeProvider(T0.AddHours(2));
        using var store = AlertStore.Open(Path.Combine(_dir, "alerts.db"), time);
        var forecast = store.Apply(Event(AlertTransition.Raised, "crane-vibration-forecast", Severity.Warning, Sts1, "vib_mm_s", 10, 30))!;
        var failure = store.Apply(Event(AlertTransition.Raised, "crane-vibration-high", Severity.Critical, Sts1, "vib_mm_s", 30, 7.3))!;
        store.Apply(Event(AlertTransition.Raised, "crane-vibration-high", Severity.Critical, Sts2, "vib_mm_s", 20, 7.5));
        store.Acknowledge(forecast.Id, "Tran Van B", null, T0.AddMinutes(14));
        store.Acknowledge(failure.Id, "Tran Van B", null, T0.AddMinutes(32));
        store.Apply(Event(AlertTransition.Resolved, "crane-vibration-high", Severity.Critical, Sts1, "vib_mm_s", 45, 6.0));
        var silent = new AlertEvent(AlertTransition.Raised, "crane-silent", Severity.Critical, Sts2, "vib_mm_s", T0.AddMinutes(35), T0.AddMinutes(30), null, null, new LocalizedText("s", "s"));
        store.Apply(silent);
        var rules = RuleSet.Load(RuleSet.DefaultFile).Append(RuleSet.Parse("rules:\n  - { id: crane-silent, kind: missing, pilot: port, field: vib_mm_s, after: 5m, severity: critical, source: t }\n", "t.yaml")[0]).ToList();

        var report = await PilotReport.BuildAsync(influx, store, rules, "port", T0, T0.AddHours(1), CancellationToken.None);
        var markdown = ReportCommand.Markdown(report, time.GetUtcNow());

        Assert.Equal(["sts-01", "sts-02"], report.Devices.Select(d => d.Name));
        Assert.Equal(100, report.Devices[0].AvailablePercent, 1);
        Assert.Equal(50, report.Devices[1].AvailablePercent, 1);
        Assert.Equal((1L, TimeSpan.FromMinutes(30)), (report.Devices[1].NotGoodReadings, report.Devices[1].Silent));
        Assert.Equal(99.0, Assert.Single(report.Gateways).CompletePercent, 2);
        Assert.Equal((4, 2, 3), (report.Alerts.Raised, report.Alerts.Acknowledged, report.Alerts.StillOpen));
        Assert.Equal(TimeSpan.FromMinutes(2), report.Alerts.MedianToAcknowledge);
        Assert.Equal(TimeSpan.FromMinutes(4), report.Alerts.P90ToAcknowledge);
        var prediction = Assert.Single(report.Predictions);
        Assert.Equal(TimeSpan.FromMinutes(20), prediction.LeadTime);
        Assert.Equal(1, report.UnpredictedFailures);
        Assert.Contains(("lifts (moves) by sts-01", "59"), report.Output);
        Assert.Contains("Failures predicted before they happened: 1 of 2 on watched signals, median lead time 20 min", markdown, StringComparison.Ordinal);
        Assert.Contains("| sts-02 | 50 % | 60 | 1 | 30 min |", markdown, StringComparison.Ordinal);
        Assert.Contains("Roadmap item: Port: remote-controlled cranes", markdown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--from", "2026-11-01" }, "--pilot is required")]
    [InlineData(new[] { "--pilot", "farm" }, "unknown pilot 'farm'")]
    [InlineData(new[] { "--pilot", "port", "--from", "yesterday" }, "bad or incomplete option '--from yesterday'")]
    [InlineData(new[] { "--pilot", "port", "--from", "2026-11-10", "--to", "2026-11-01" }, "is before --from")]
    [InlineData(new[] { "--pilot", "port", "--out" }, "bad or incomplete option '--out'")]
    public async Task Bad_report_arguments_exit_2_naming_the_option(string[] args, string problem)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await ReportCommand.RunAsync(args, output, error, TimeProvider.System);

        Assert.Equal(2, code);
        Assert.Contains(problem, error.ToString(), StringComparison.Ordinal);
        Assert.Empty(output.ToString());
    }
}
