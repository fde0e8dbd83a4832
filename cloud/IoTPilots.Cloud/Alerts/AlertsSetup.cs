using IoTPilots.Cloud.Notifications;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Alerts;

public static class AlertsSetup
{
    /// <summary>
    /// The alert store and, where <see cref="RulesOptions.Evaluate"/>, the rules engine on the live stream. Loading
    /// the rules throws <see cref="Config.ConfigException"/> naming file, line and field for any mistake. With the rules
    /// engine come notifications (<paramref name="notifications"/>, else from the environment: PILOTS_NOTIFY,
    /// PILOTS_WEBHOOK_URL...), whose bad settings throw <see cref="FormatException"/> naming the variable.
    /// </summary>
    public static IServiceCollection AddAlerts(this IServiceCollection services, RulesOptions options, NotificationOptions? notifications = null)
    {
        var rules = RuleSet.Load(options.RulesPath);
        services.AddSingleton(options);
        services.AddSingleton(sp => AlertStore.Open(options.DatabasePath, sp.GetRequiredService<TimeProvider>()));
        if (options.Evaluate)
        {
            services.AddSingleton(new RulesInForce(new RulesEngine(rules)));
            services.AddSingleton<RulesSeed>();
            services.AddNotifications(notifications ?? NotificationOptions.FromEnvironment(Environment.GetEnvironmentVariable), Environment.GetEnvironmentVariable);
            services.AddSingleton<IRulesLeadership>(sp => AlertStore.Leadership(sp.GetRequiredService<AlertStore>(), sp.GetRequiredService<Ingestion.IngestionOptions>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RulesLeadership>>()));
            services.AddHostedService<RulesService>();
        }

        return services;
    }
}
