using IoTPilots.Config;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Alerts;

/// <summary>Settings of the rules engine and the alert store, from the environment (see the README, "Alerts").</summary>
/// <param name="RulesPath">A rules file or a folder of them: PILOTS_RULES, else the shipped default.yaml.</param>
/// <param name="DatabasePath">The alert store: PILOTS_ALERT_DB, else state/alerts.db under the working directory.</param>
/// <param name="Evaluate">Whether this process evaluates rules: PILOTS_RULES_ENABLED (1/0), else only worker 1 does,
/// because the engine must see every message of a device and the ingestion workers share the stream.</param>
public sealed record RulesOptions(string RulesPath, string DatabasePath, bool Evaluate)
{
    /// <summary>How often missing-data rules are checked.</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// In the NATS mode, how far back the rules engine judges what arrived while no engine ran (a restart, a standby
    /// taking over): its telemetry comes through a durable consumer of its own, which keeps its place for this long
    /// (<c>PILOTS_RULES_CATCHUP_S</c>, 600 s by default; 0 reads the live stream only, as the Mosquitto mode does).
    /// Older messages are stored but not judged, so a long outage does not raise and resolve yesterday's alerts today.
    /// </summary>
    public TimeSpan CatchUp { get; init; } = DefaultCatchUp;

    public static TimeSpan DefaultCatchUp { get; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the rules files' content is compared with what was last read, besides the file watcher (rules README, "Live reload").</summary>
    public TimeSpan ReloadPoll { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Reads and checks the variables once, at start; a wrong one is a <see cref="FormatException"/> naming it. The
    /// rules themselves are loaded by <see cref="AlertsSetup.AddAlerts"/>, whose errors name file, line and field.
    /// </summary>
    /// <param name="source">The environment, and the <c>--rules</c> command-line option (which overrides PILOTS_RULES) by that name.</param>
    /// <param name="worker">This process's ingestion worker id: worker 1 evaluates rules unless told otherwise.</param>
    public static RulesOptions FromEnvironment(Func<string, string?> source, string worker)
    {
        var settings = new SettingsReader(source);
        var rulesName = settings.Optional("--rules") is null ? "PILOTS_RULES" : "--rules";
        var rules = settings.ExistingPath(rulesName);
        // A folder without rule files would start an engine that never alerts; PILOTS_RULES_ENABLED=0 says that.
        if (rules is not null && Directory.Exists(rules) && Directory.GetFiles(rules, "*.yaml").Length == 0)
        {
            throw SettingsReader.Error(rulesName, rules, "is a folder without *.yaml rule files (to run no rules, set PILOTS_RULES_ENABLED=0)");
        }

        var db = settings.String("PILOTS_ALERT_DB", Path.Combine("state", "alerts.db"));
        if (Directory.Exists(db))
        {
            throw SettingsReader.Error("PILOTS_ALERT_DB", db, "is a folder; name the alert store's SQLite file");
        }

        return new(rules ?? RuleSet.DefaultFile, db, settings.Switch("PILOTS_RULES_ENABLED", worker == "1"))
        {
            CatchUp = settings.Seconds("PILOTS_RULES_CATCHUP_S", DefaultCatchUp, TimeSpan.Zero, TimeSpan.FromDays(1)),
        };
    }
}
