using IoTPilots.Cloud.Report;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Report;

/// <summary>The key signal's chart draws the pilot's limits: ISO zones for vibration, the setpoint band for furnace zones.</summary>
public sealed class SignalChartTests
{
    private static readonly DateTimeOffset From = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);

    private static IReadOnlyList<(DateTimeOffset At, double Value, double? Setpoint)> Line(params (double Value, double? Setpoint)[] points) =>
        points.Select((p, i) => (From.AddMinutes(10 * i), p.Value, p.Setpoint)).ToList();

    /// <summary>ISO 10816-3 group 2, flexible mounting: A/B 2.3, B/C 4.5, C/D 7.1 mm/s [docs/domain.md V1], as pilots.yaml's port signal.</summary>
    [Fact]
    public void Vibration_is_drawn_over_the_four_iso_zones_from_zero()
    {
        var vibration = new SignalDefinition("vib_mm_s", "vibration", "độ rung", null, null, null, null, [2.3, 4.5, 7.1]);

        var svg = Svg.Signal(Line((1.8, null), (3.0, null), (7.5, null)), From, From.AddMinutes(30), vibration, [], new HashSet<string>(), [], new ReportText("en"));

        foreach (var (zone, colour) in new[] { ('A', "#d8f0d8"), ('B', "#eef6cc"), ('C', "#fde8c4"), ('D', "#f8d0cc") })
        {
            Assert.Contains($"fill=\"{colour}\"/>", svg, StringComparison.Ordinal);
            Assert.Contains($">{zone}</text>", svg, StringComparison.Ordinal);
        }

        Assert.Contains(">0</text>", svg, StringComparison.Ordinal); // zones start at 0 mm/s
    }

    /// <summary>A furnace zone against its setpoint ± 20 °C [docs/domain.md F7]: the band follows the setpoint, dashed on both sides.</summary>
    [Fact]
    public void A_zone_temperature_is_drawn_against_its_setpoint_band()
    {
        var zone = new SignalDefinition("zone_temp_c", "zone temperature", "nhiệt độ vùng", null, null, "zone_sp_c", 20, []);

        var svg = Svg.Signal(Line((1180, 1200), (1230, 1200), (1250, 1250)), From, From.AddMinutes(30), zone, [], new HashSet<string>(), [], new ReportText("vi"));

        Assert.Equal(2, svg.Split("stroke=\"#b3261e\" stroke-dasharray=\"3 2\"").Length - 1);
        Assert.DoesNotContain("forecast-projection", svg, StringComparison.Ordinal);
        Assert.Contains(">1.277,2</text>", svg, StringComparison.Ordinal); // the top of the scale, 1270 + 8 % of the span, with a decimal comma
    }
}
