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

    public static RulesOptions FromEnvironment(Func<string, string?> env, string worker) => new(
        env("PILOTS_RULES") is { Length: > 0 } rules ? rules : RuleSet.DefaultFile,
        env("PILOTS_ALERT_DB") is { Length: > 0 } db ? db : Path.Combine("state", "alerts.db"),
        env("PILOTS_RULES_ENABLED") switch
        {
            "1" or "true" => true,
            "0" or "false" => false,
            null or "" => worker == "1",
            var other => throw new FormatException($"PILOTS_RULES_ENABLED: '{other}' is not 1 or 0"),
        });
}
