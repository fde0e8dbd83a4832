using IoTPilots.Config;
using IoTPilots.Rules;

namespace IoTPilots.UnitTests.Rules;

public sealed class RuleSetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-rules-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_shipped_rules_load_cite_their_source_and_speak_both_languages()
    {
        var rules = RuleSet.Load(RuleSet.DefaultFile);

        Assert.True(rules.Count >= 15, $"{rules.Count} rules");
        Assert.All(rules, r => Assert.False(string.IsNullOrWhiteSpace(r.Source), r.Id));
        Assert.All(rules, r => Assert.NotEqual(r.Message.En, r.Message.Vi));
        Assert.Contains(rules, r => r is { Id: "do-critical", Below: 3.0, Severity: Severity.Critical });
        Assert.Contains(rules, r => r is { Id: "wind-stop", Above: 20.0 });
        // Issue 15: the aerator failure starts the tank's backup aerator by itself.
        Assert.Equal(new RuleAction("backup_aerator_on", 1, null, TimeSpan.FromMinutes(10)), rules.Single(r => r.Id == "aerator-failure").Action);
    }

    [Theory]
    [InlineData("{ id: a, kind: threshold, field: x, belo: 3, severity: warning, source: s }", "rules[0].belo", "unknown field")]
    [InlineData("{ id: a, kind: threshold, field: x, below: 3, severity: warning, source: s, action: { value: 1 } }", "rules[0].action", "point")]
    [InlineData("{ id: a, kind: threshold, field: x, below: 3, severity: warning, source: s, action: { point: Pump, value: 1 } }", "rules[0].action.point", "not a field name")]
    [InlineData("{ id: a, kind: threshold, field: x, below: 3, severity: warning, source: s, action: { point: pump_on } }", "rules[0].action", "value")]
    [InlineData("{ id: a, kind: threshold, field: x, below: 3, severity: warning, source: s, action: { point: pump_on, value: 1, mode: ask } }", "rules[0].action.mode", "unknown mode 'ask' (expected one of: auto, confirm)")]
    [InlineData("{ id: a, kind: threshold, field: x, below: 3, severity: warning, source: s, action: { point: pump_on, value: 1, every: 10s } }", "rules[0].action.every", "at least 1m")]
    [InlineData("{ id: a, kind: missing, field: x, after: 1m, severity: warning, source: s, action: { point: pump_on, value: 1 } }", "rules[0].action", "silent")]
    [InlineData("{ id: a, kind: threshold, field: x, below: 3, above: 5, severity: warning, source: s }", "rules[0]", "exactly one of 'below' or 'above'")]
    [InlineData("{ id: a, kind: threshold, field: x, below: 3, clear: 2.5, severity: warning, source: s }", "rules[0].clear", "wrong side")]
    [InlineData("{ id: a, kind: missing, field: x, below: 3, after: 1m, severity: warning, source: s }", "rules[0].below", "missing-data rule")]
    [InlineData("{ id: a, kind: missing, field: x, severity: warning, source: s }", "rules[0]", "after")]
    [InlineData("{ id: a, kind: rate, field: x, below: -1, window: 10s, severity: warning, source: s }", "rules[0].window", "under 30 s")]
    [InlineData("{ id: a, kind: trend, field: x, severity: warning, source: s }", "rules[0].kind", "unknown rule kind 'trend'")]
    [InlineData("{ id: a, kind: forecast, field: x, above: 7.1, window: 1h, severity: warning, source: s }", "rules[0]", "within")]
    [InlineData("{ id: a, kind: forecast, field: x, above: 7.1, window: 1h, within: 1d, clear: 6, severity: warning, source: s }", "rules[0].clear", "clears by itself")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 7.1, within: 1d, severity: warning, source: s }", "rules[0].within", "for forecast rules")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 7.1, when: { field: load }, severity: warning, source: s }", "rules[0].when", "'below', 'above' or both")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 7.1, when: { field: load_*, above: 5 }, severity: warning, source: s }", "rules[0].when.field", "no pattern")]
    [InlineData("{ id: a, kind: missing, field: x, after: 1m, when: { field: load, above: 5 }, severity: warning, source: s }", "rules[0].when", "takes no 'when'")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 1, severity: urgent, source: s }", "rules[0].severity", "unknown severity")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 1, pilot: farm, severity: info, source: s }", "rules[0].pilot", "unknown pilot")]
    [InlineData("{ id: A B, kind: threshold, field: x, above: 1, severity: info, source: s }", "rules[0].id", "not a rule id")]
    [InlineData("{ id: a, kind: threshold, field: DO mg/L, above: 1, severity: info, source: s }", "rules[0].field", "not a field name")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 1, severity: info }", "rules[0]", "source")]
    [InlineData("{ id: a, kind: threshold, field: x, above: one, severity: info, source: s }", "rules[0].above", "one")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 1, severity: info, source: s, message: { en: 'too {high}', vi: 'cao' } }", "rules[0].message.en", "unknown placeholder {high}")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 1, severity: info, source: s, message: { en: 'high' } }", "rules[0].message", "vi")]
    [InlineData("{ id: a, kind: composite, severity: info, source: s }", "rules[0]", "exactly one of 'all' or 'any'")]
    [InlineData("{ id: a, kind: composite, all: [{ field: x, below: 1 }], any: [{ field: y, below: 1 }], severity: info, source: s }", "rules[0]", "exactly one of 'all' or 'any'")]
    [InlineData("{ id: a, kind: composite, all: [{ field: x, below: 1 }], severity: info, source: s }", "rules[0].all", "at least two conditions")]
    [InlineData("{ id: a, kind: composite, all: [{ field: x, below: 1 }, { field: y }], severity: info, source: s }", "rules[0].all[1]", "exactly one of 'below' or 'above'")]
    [InlineData("{ id: a, kind: composite, all: [{ field: x, below: 1 }, { field: y, above: 1, hold: soon }], severity: info, source: s }", "rules[0].all[1].hold", "expected a duration")]
    [InlineData("{ id: a, kind: composite, all: [{ field: x, below: 1 }, { field: y, above: 1, window: 10s }], severity: info, source: s }", "rules[0].all[1].window", "under 30 s")]
    [InlineData("{ id: a, kind: composite, all: [{ field: x, below: 1 }, { field: y_*, above: 1 }], severity: info, source: s }", "rules[0].all[1].field", "no pattern")]
    [InlineData("{ id: a, kind: composite, all: [{ field: x, below: 1 }, { field: y, above: 1, devices: all }], severity: info, source: s }", "rules[0].all[1].devices", "per site")]
    [InlineData("{ id: a, kind: composite, per: pond, all: [{ field: x, below: 1 }, { field: y, above: 1 }], severity: info, source: s }", "rules[0].per", "unknown scope 'pond'")]
    [InlineData("{ id: a, kind: composite, field: x, all: [{ field: x, below: 1 }, { field: y, above: 1 }], severity: info, source: s }", "rules[0].field", "takes no 'field'")]
    [InlineData("{ id: a, kind: composite, hold: 1m, all: [{ field: x, below: 1 }, { field: y, above: 1 }], severity: info, source: s }", "rules[0].hold", "put it on each condition")]
    [InlineData("{ id: a, kind: composite, all: [{ field: x, below: 1, clear: 0.5 }, { field: y, above: 1 }], severity: info, source: s }", "rules[0].all[0].clear", "wrong side")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 1, all: [], severity: info, source: s }", "rules[0].all", "for composite rules")]
    [InlineData("{ id: a, kind: threshold, field: x, above: 1, clear_hold: -1m, severity: info, source: s }", "rules[0].clear_hold", "expected a duration")]
    [InlineData("{ id: a, kind: missing, field: x, after: 1m, clear_hold: 1m, severity: info, source: s }", "rules[0].clear_hold", "takes no 'clear_hold'")]
    public void A_mistake_in_a_rules_file_names_the_file_line_and_field(string rule, string field, string problem)
    {
        var ex = Assert.Throws<ConfigException>(() => RuleSet.Parse($"rules:\n  - {rule}\n", "site-rules.yaml"));

        Assert.StartsWith("site-rules.yaml:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_action_is_automatic_unless_its_mode_asks_for_confirmation()
    {
        var rules = RuleSet.Parse("""
            rules:
              - { id: a, kind: threshold, field: x, below: 3, severity: warning, source: s, action: { point: pump_on, value: 1 } }
              - { id: b, kind: threshold, field: x, below: 3, severity: warning, source: s, action: { point: pump_on, value: 1, mode: auto } }
              - { id: c, kind: threshold, field: x, below: 3, severity: warning, source: s, action: { point: backup_aerator_on, value: 1, device: tank-04, mode: confirm, every: 5m } }
            """, "site-rules.yaml");

        Assert.Equal(ActionMode.Auto, rules[0].Action!.Mode);
        Assert.Equal(ActionMode.Auto, rules[1].Action!.Mode);
        Assert.Equal(new RuleAction("backup_aerator_on", 1, "tank-04", TimeSpan.FromMinutes(5), ActionMode.Confirm), rules[2].Action);
    }

    [Fact]
    public void A_folder_of_rule_files_loads_in_name_order_and_a_repeated_id_is_refused()
    {
        File.WriteAllText(Path.Combine(_dir, "10-farm.yaml"), "rules:\n  - { id: do-low, kind: threshold, field: do_mg_l, below: 4, severity: warning, source: site }\n");
        File.WriteAllText(Path.Combine(_dir, "20-port.yaml"), "rules:\n  - { id: wind, kind: threshold, field: wind_m_s, above: 14, severity: warning, source: site }\n");
        var rules = RuleSet.Load(_dir);
        File.WriteAllText(Path.Combine(_dir, "30-again.yaml"), "rules:\n  - { id: do-low, kind: threshold, field: do_mg_l, below: 3, severity: warning, source: site }\n");

        var ex = Assert.Throws<ConfigException>(() => RuleSet.Load(_dir));

        Assert.Equal(["do-low", "wind"], rules.Select(r => r.Id));
        Assert.Contains("30-again.yaml", ex.Message, StringComparison.Ordinal);
        Assert.Contains("already used at", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_demo_speed_rules_load_beside_the_shipped_ones()
    {
        var repo = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(repo!.FullName, "IoTPilots.sln")))
        {
            repo = repo.Parent;
        }

        File.Copy(RuleSet.DefaultFile, Path.Combine(_dir, "10-default.yaml"));
        File.Copy(Path.Combine(repo.FullName, "deploy", "local", "demo-rules.yaml"), Path.Combine(_dir, "20-demo.yaml"));

        var rules = RuleSet.Load(_dir);

        Assert.Contains(rules, r => r is { Id: "crane-vibration-forecast-demo", Kind: RuleKind.Forecast });
        Assert.Contains(rules, r => r is { Id: "crane-vibration-forecast", Kind: RuleKind.Forecast });
    }

    [Fact]
    public void A_missing_rules_file_is_an_error_naming_it()
    {
        var ex = Assert.Throws<ConfigException>(() => RuleSet.Load(Path.Combine(_dir, "nope.yaml")));

        Assert.Contains("nope.yaml", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ name: nh3, unit: mg/L, expr: 'tan * (1 +', source: s }", "derived[0].expr", "ends too early")]
    [InlineData("{ name: nh3, unit: mg/L, expr: 'tan * frac(ph)', source: s }", "derived[0].expr", "unknown function 'frac'")]
    [InlineData("{ name: nh3, unit: mg/L, expr: '2 * 3', source: s }", "derived[0].expr", "reads no field")]
    [InlineData("{ name: nh3, unit: mg/L, expr: 'nh3 * 2', source: s }", "derived[0].expr", "from itself")]
    [InlineData("{ name: NH3, unit: mg/L, expr: 'tan', source: s }", "derived[0].name", "not a field name")]
    [InlineData("{ name: nh3, expr: 'tan', source: s }", "derived[0]", "unit")]
    [InlineData("{ name: nh3, unit: mg/L, expr: 'tan', max_age: 0s, source: s }", "derived[0].max_age", "longer than 0")]
    [InlineData("{ name: nh3, unit: mg/L, expr: 'tan', formula: x, source: s }", "derived[0].formula", "unknown field")]
    [InlineData("{ name: r, unit: K/MW, expr: 'power_kw@meter / 2', source: s }", "derived[0].expr", "needs one of its own")]
    [InlineData("{ name: r, unit: K/MW, expr: 'dt / power_kw@', source: s }", "derived[0].expr", "suffix after '@'")]
    public void A_mistake_in_a_derived_signal_names_the_file_line_and_field(string derived, string field, string problem)
    {
        var ex = Assert.Throws<ConfigException>(() => RuleSet.Parse($"derived:\n  - {derived}\nrules: []\n", "site-rules.yaml"));

        Assert.StartsWith("site-rules.yaml:2:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Derived_signals_have_unique_names_and_are_computed_from_measured_fields_only()
    {
        var twice = Assert.Throws<ConfigException>(() => RuleSet.Parse("derived:\n  - { name: a, unit: x, expr: 'b', source: s }\n  - { name: a, unit: x, expr: 'c', source: s }\nrules: []\n", "f.yaml"));
        var chained = Assert.Throws<ConfigException>(() => RuleSet.Parse("derived:\n  - { name: a, unit: x, expr: 'b', source: s }\n  - { name: c, unit: x, expr: 'a * 2', source: s }\nrules: []\n", "f.yaml"));

        Assert.Contains("f.yaml:3:", twice.Message, StringComparison.Ordinal);
        Assert.Contains("already declared", twice.Message, StringComparison.Ordinal);
        Assert.Contains("'a' is itself derived", chained.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_rules_watch_aerators_with_a_composite_and_ammonia_through_its_derived_toxic_share()
    {
        var book = RuleSet.Load(RuleSet.DefaultFile);

        var aerator = Assert.Single(book, r => r.Id == "aerator-failure");
        Assert.Equal(["do_mg_l", "aerator_current_a"], aerator.Composite!.Parts.Select(p => p.Field));
        Assert.True(aerator.Composite.All);
        var nh3 = Assert.Single(book.Derived, d => d.Name == "nh3_n_mg_l");
        Assert.Equal(["tan_mg_l", "temp_c", "ph", "salinity_ppt"], nh3.Expression.Fields);
        Assert.Contains(book, r => r is { Id: "nh3-high", Field: "nh3_n_mg_l" });
    }
}
