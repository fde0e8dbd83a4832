using IoTPilots.Cloud.Report;
using IoTPilots.Config;

namespace IoTPilots.UnitTests.Report;

public sealed class PilotDefinitionsTests
{
    private const string Minimal = """
        pilots:
          - id: aquaculture
            roadmap: { en: "RAS", vi: "RAS" }
            source: "shared/CONTEXT.md"
            sites: [cat-hai-ras-1]
            signal: { field: do_mg_l, en: "DO", vi: "DO", low: 3 }
            kpis:
              - { id: availability, kind: availability, target: 99, direction: higher, unit: "%" }
        """;

    [Fact]
    public void The_shipped_definitions_load_with_every_pilot_its_roadmap_item_sites_kpis_and_uncertain_values()
    {
        var pilots = PilotDefinitions.Load(PilotDefinitions.DefaultFile);

        Assert.Equal(["aquaculture", "factory", "port"], pilots.Select(p => p.Id));
        Assert.All(pilots, p =>
        {
            Assert.NotEmpty(p.Sites);
            Assert.NotEmpty(p.RoadmapVi);
            Assert.Contains(p.Kpis, k => k.Kind == "availability" && k.Target == 99 && k.Direction == Direction.Higher);
            Assert.Contains(p.Kpis, k => k.Kind == "ack-median" && k.Target == 10 && k.Direction == Direction.Lower);
            Assert.All(p.Values, v => Assert.True(v.Uncertain));
        });
        var aqua = pilots[0];
        var below = Assert.Single(aqua.Kpis, k => k.Kind == "time-below");
        Assert.Equal(("do_mg_l", 3.0), (below.Field, below.Limit!.Value));
        Assert.Equal("stock-at-risk", Assert.Single(aqua.Values).Kind);
        Assert.Contains(pilots[1].Kpis, k => k.Kind == "outside-band" && k.SetpointField == "zone_sp_c");
        Assert.Contains(pilots[2].Kpis, k => k.Kind == "time-above" && k.Field == "wind_m_s");
        Assert.Contains(pilots[2].Kpis, k => k.Kind == "counter-increase" && k.Field == "lift_count");
    }

    [Theory]
    [InlineData("direction: higher", "direction: sideways", 8, "pilots[0].kpis[0].direction", "unknown direction 'sideways'")]
    [InlineData("target: 99", "target: lots", 8, "pilots[0].kpis[0].target", "expected a number")]
    [InlineData("kind: availability", "kind: happiness", 8, "pilots[0].kpis[0].kind", "unknown KPI kind 'happiness'")]
    [InlineData("sites: [cat-hai-ras-1]", "sites: []", 5, "pilots[0].sites", "at least one site")]
    [InlineData("source: \"shared/CONTEXT.md\"", "sourse: x", 4, "pilots[0].sourse", "unknown field")]
    [InlineData("kind: availability, ", "kind: time-below, ", 8, "pilots[0].kpis[0].field", "missing")]
    public void A_bad_definition_names_file_line_and_field(string from, string to, long line, string field, string problem)
    {
        var ex = Assert.Throws<ConfigException>(() => PilotDefinitions.Parse(Minimal.Replace(from, to, StringComparison.Ordinal), "pilots.yaml"));

        Assert.Equal(("pilots.yaml", line, field), (ex.File, ex.Line, ex.Field));
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pilot_defined_twice_is_an_error()
    {
        var twice = Minimal + "\n" + string.Join('\n', Minimal.Split('\n').Skip(1));

        var ex = Assert.Throws<ConfigException>(() => PilotDefinitions.Parse(twice, "pilots.yaml"));

        Assert.Contains("pilot 'aquaculture' is defined twice", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Direction.Higher, 99.0, true)]
    [InlineData(Direction.Higher, 98.999, false)]
    [InlineData(Direction.Lower, 99.0, true)]
    [InlineData(Direction.Lower, 99.001, false)]
    public void A_kpi_is_met_at_its_target_itself(Direction direction, double value, bool met)
    {
        var kpi = new KpiDefinition("k", "availability", 99, direction, "%", false, null);

        Assert.Equal(met, kpi.Met(value));
        Assert.Null(kpi.Met(null));
    }
}
