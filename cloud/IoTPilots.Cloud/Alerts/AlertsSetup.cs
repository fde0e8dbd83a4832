using IoTPilots.Rules;

namespace IoTPilots.Cloud.Alerts;

public static class AlertsSetup
{
    /// <summary>
    /// The alert store and, where <see cref="RulesOptions.Evaluate"/>, the rules engine on the live stream. Loading
    /// the rules throws <see cref="Config.ConfigException"/> naming file, line and field for any mistake.
    /// </summary>
    public static IServiceCollection AddAlerts(this IServiceCollection services, RulesOptions options)
    {
        var rules = RuleSet.Load(options.RulesPath);
        services.AddSingleton(options);
        services.AddSingleton(sp => AlertStore.Open(options.DatabasePath, sp.GetRequiredService<TimeProvider>()));
        if (options.Evaluate)
        {
            services.AddSingleton(new RulesEngine(rules));
            services.AddHostedService<RulesService>();
        }

        return services;
    }
}
