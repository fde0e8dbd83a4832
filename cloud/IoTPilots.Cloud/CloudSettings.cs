using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Config;

namespace IoTPilots.Cloud;

/// <summary>
/// Everything the cloud service is configured by, read and checked once, at start, from the command line
/// (<c>--registry</c>, <c>--rules</c>, <c>--summary</c>) and the environment (root README, "variables"). A wrong value
/// stops the start (exit 2) with a message naming the option or variable, instead of a silent default or a failure
/// later in a background service. As in eShop, one options record per feature, handed to its <c>AddX</c>; the
/// records are built here rather than bound from IConfiguration because the variables' names are the public contract.
/// </summary>
/// <param name="Summary">How often to print the one-line ingestion summary (<c>--summary N</c> seconds); null: never.</param>
public sealed record CloudSettings(IngestionOptions Ingestion, DeviceRegistry Registry, RulesOptions Rules, TimeSpan? Summary)
{
    /// <summary>How long raw readings and rollups are kept (<c>PILOTS_RAW_RETENTION</c>, <c>PILOTS_ROLLUP_1M_RETENTION</c>, <c>PILOTS_ROLLUP_1H_RETENTION</c>).</summary>
    public Influx.RetentionOptions Retention { get; init; } = Influx.RetentionOptions.Default;

    /// <param name="option">A command-line option by its name without dashes (<c>registry</c>), or null.</param>
    /// <param name="env">The environment.</param>
    /// <exception cref="FormatException">A variable or option is wrong; the message starts with its name.</exception>
    /// <exception cref="ConfigException">The device registry's inventory is wrong; the message names file, line and field.</exception>
    public static CloudSettings Read(Func<string, string?> option, Func<string, string?> env)
    {
        // Options by their command-line spelling, variables by theirs: an error names what the operator typed.
        string? Source(string name) => name.StartsWith("--", StringComparison.Ordinal) ? option(name[2..]) : env(name);
        var settings = new SettingsReader(Source);
        var ingestion = IngestionOptions.FromEnvironment(env);
        var registryName = settings.Optional("--registry") is null ? "PILOTS_DEVICE_REGISTRY" : "--registry";
        var registry = settings.ExistingPath(registryName) is { } path ? LoadRegistry(registryName, path) : DeviceRegistry.Open;
        var rules = RulesOptions.FromEnvironment(Source, ingestion.Worker);
        var summary = settings.Seconds("--summary", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromHours(1));
        return new CloudSettings(ingestion, registry, rules, summary > TimeSpan.Zero ? summary : null) { Retention = Influx.RetentionOptions.FromEnvironment(env) };
    }

    private static DeviceRegistry LoadRegistry(string name, string path)
    {
        // An empty folder would quarantine every message as coming from an unknown device.
        if (Directory.Exists(path) && Directory.GetFiles(path, "*.yaml").Length + Directory.GetFiles(path, "*.yml").Length == 0)
        {
            throw SettingsReader.Error(name, path, "is a folder without edge inventories (*.yaml)");
        }

        return DeviceRegistry.Load(path);
    }
}
