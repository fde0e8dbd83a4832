using IoTPilots.Cloud.Ingestion;

namespace IoTPilots.Cloud.Commands;

public static class CommandsSetup
{
    /// <summary>Commands to gateways, when <paramref name="options"/> is given (<c>PILOTS_COMMAND_KEYS</c> is set). A bad keys file throws <see cref="FormatException"/> naming file and line.</summary>
    public static IServiceCollection AddCommands(this IServiceCollection services, CommandsOptions? options, DeviceRegistry registry)
    {
        // Rules' actions are registered either way: without commands they say so and do nothing.
        services.AddSingleton<ActionPacer>();
        services.AddSingleton<RuleActions>();
        // The gateways' statuses and running inventories are shown either way; pushing them needs the keys.
        services.AddSingleton<GatewayDirectory>();
        services.AddHostedService<GatewayService>();
        if (options is null)
        {
            return services;
        }

        var keys = CommandKeys.Load(options.KeysFile);
        services.AddSingleton(sp => new InventoryPlanner(registry.Inventories, keys, sp.GetRequiredService<GatewayDirectory>(), ValidateAt(registry), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => CommandStore.Open(options.DatabasePath));
        services.AddSingleton(sp => new CommandPlanner(registry.Inventories, keys, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<CommandService>();
        services.AddHostedService(sp => sp.GetRequiredService<CommandService>());
        return services;
    }

    /// <summary>The command API, when commands are on.</summary>
    public static IEndpointRouteBuilder MapCommands(this IEndpointRouteBuilder app) =>
        app.MapGatewayApi().ServiceProvider.GetService<CommandPlanner>() is null ? app : app.MapCommandApi();

    /// <summary>
    /// Validates a pushed text as the registry's own file for that gateway would load: written as <c>{gateway}.yaml</c>
    /// in a folder of its own (so the loader's errors name that file and a line), relative paths taken from the
    /// registry file's folder.
    /// </summary>
    private static Func<string, string, Devices.Inventory> ValidateAt(DeviceRegistry registry) => (gateway, content) =>
    {
        var dir = Directory.CreateTempSubdirectory("pilots-push-");
        try
        {
            var file = Path.Combine(dir.FullName, $"{gateway}.yaml");
            File.WriteAllText(file, content);
            var home = registry.Inventories.FirstOrDefault(i => i.Gateway == gateway)?.SourceFile is { } source ? Path.GetDirectoryName(Path.GetFullPath(source))! : dir.FullName;
            try
            {
                return Devices.InventoryLoader.LoadRelativeTo(file, home);
            }
            catch (Config.ConfigException ex)
            {
                throw new FormatException(ex.Message.Replace(dir.FullName + Path.DirectorySeparatorChar, "", StringComparison.Ordinal), ex);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    };
}
