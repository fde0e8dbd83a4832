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
        if (options is null)
        {
            return services;
        }

        var keys = CommandKeys.Load(options.KeysFile);
        services.AddSingleton(sp => CommandStore.Open(options.DatabasePath));
        services.AddSingleton(sp => new CommandPlanner(registry.Inventories, keys, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<CommandService>();
        services.AddHostedService(sp => sp.GetRequiredService<CommandService>());
        return services;
    }

    /// <summary>The command API, when commands are on.</summary>
    public static IEndpointRouteBuilder MapCommands(this IEndpointRouteBuilder app) =>
        app.ServiceProvider.GetService<CommandPlanner>() is null ? app : app.MapCommandApi();
}
