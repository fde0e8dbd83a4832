using System.Text;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Commands;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Notifications;

/// <summary>Notification settings from the environment, validated at start (bad values name the variable).</summary>
/// <param name="ConfigPath">The contacts and routes file: PILOTS_NOTIFY; none: only the integrator webhook.</param>
/// <param name="WebhookUrl">PILOTS_WEBHOOK_URL: every alert event is POSTed there (the zero-configuration route).</param>
/// <param name="WebhookSecret">PILOTS_WEBHOOK_SECRET: signs every webhook (see <see cref="WebhookSignature"/>).</param>
/// <param name="PublicUrl">PILOTS_PUBLIC_URL: the cloud's address as people's phones reach it, for acknowledgement links.</param>
/// <param name="LinkSecret">PILOTS_LINK_SECRET: signs acknowledgement links; without it (or PILOTS_PUBLIC_URL) messages carry no link.</param>
public sealed record NotificationOptions(string? ConfigPath, Uri? WebhookUrl, string? WebhookSecret, Uri? PublicUrl, string? LinkSecret)
{
    public static readonly TimeSpan LinkLifetime = TimeSpan.FromHours(24);

    public static NotificationOptions FromEnvironment(Func<string, string?> env) => new(
        env("PILOTS_NOTIFY") is { Length: > 0 } path ? path : null,
        HttpUrl(env, "PILOTS_WEBHOOK_URL"),
        env("PILOTS_WEBHOOK_SECRET") is { Length: > 0 } secret ? secret : null,
        HttpUrl(env, "PILOTS_PUBLIC_URL") is { } publicUrl ? new Uri(publicUrl.ToString().TrimEnd('/') + "/") : null,
        env("PILOTS_LINK_SECRET") is { Length: > 0 } link ? (link.Length >= 16 ? link : throw new FormatException("PILOTS_LINK_SECRET: at least 16 characters")) : null);

    private static Uri? HttpUrl(Func<string, string?> env, string name) => env(name) switch
    {
        null or "" => null,
        var text when Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" => uri,
        var text => throw new FormatException($"{name}: '{text}' is not an http(s) URL"),
    };
}

public static class NotificationsSetup
{
    /// <summary>
    /// The planner, the outbox's notifier and dispatcher, the channels the file configures (and the webhook, always),
    /// and the Telegram callback poller when a bot token is set. Loading the file throws <see cref="Config.ConfigException"/>.
    /// </summary>
    public static IServiceCollection AddNotifications(this IServiceCollection services, NotificationOptions options, Func<string, string?> env)
    {
        var config = options.ConfigPath is { } path ? NotificationConfig.Load(path) : NotificationConfig.Empty;
        services.AddSingleton(options);
        services.AddSingleton(config);
        services.AddSingleton(Backoff.Default);
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton(sp => new NotificationPlanner(config, sp.GetRequiredService<TimeProvider>(), options.WebhookUrl is { } url ? NotificationPlanner.Integrator(url.ToString()) : null));
        services.AddSingleton<AlertNotifier>();
        services.AddSingleton(sp => new NotificationLinks(options.PublicUrl, options.LinkSecret is { } s ? Encoding.UTF8.GetBytes(s) : null, NotificationOptions.LinkLifetime, sp.GetRequiredService<TimeProvider>()));
        // Confirm-mode actions (rules README "Actions"): the rules in force say which rule offers one; commands and
        // the record of actions taken come from AddCommands, when this process has them.
        services.AddSingleton(sp =>
        {
            // The engine of the current leader term, not the first one (RulesInForce).
            var rules = sp.GetService<RulesInForce>();
            var actions = sp.GetService<RuleActions>();
            return new ConfirmOffers(
                sp.GetRequiredService<NotificationLinks>(),
                rule => rules?.Engine.Rules.FirstOrDefault(r => r.Id == rule)?.Action,
                () => actions?.CommandsOn == true,
                alert => actions?.Taken(alert) == true);
        });
        ConfirmOffers Offers(IServiceProvider sp) => sp.GetRequiredService<ConfirmOffers>();
        services.AddHttpClient(nameof(NotificationDispatcher), c => c.Timeout = TimeSpan.FromSeconds(10));
        HttpClient Http(IServiceProvider sp) => sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(NotificationDispatcher));
        services.AddSingleton<INotificationChannel>(sp => new WebhookChannel(Http(sp), sp.GetRequiredService<NotificationLinks>(), config, options.WebhookSecret, sp.GetRequiredService<TimeProvider>(), Offers(sp)));
        if (config.Sms is { } sms)
        {
            services.AddSingleton<INotificationChannel>(sp => new SmsChannel(Http(sp), sms, env, sp.GetRequiredService<NotificationLinks>(), config, Offers(sp)));
        }

        if (config.Email is { } email)
        {
            services.AddSingleton<INotificationChannel>(sp => new EmailChannel(email, env, sp.GetRequiredService<NotificationLinks>(), config, Offers(sp)));
        }

        if (config.Telegram is { } telegram)
        {
            var token = env(telegram.TokenVariable) is { Length: > 0 } t ? t : throw new FormatException($"{telegram.TokenVariable}: the Telegram bot token is not set (the notifications file configures Telegram)");
            services.AddSingleton<INotificationChannel>(sp => new TelegramChannel(Http(sp), telegram, token, sp.GetRequiredService<NotificationLinks>(), config, Offers(sp)));
            services.AddHttpClient(nameof(TelegramPoller), c => c.Timeout = TimeSpan.FromSeconds(40));
            services.AddHostedService(sp => new TelegramPoller(
                sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(TelegramPoller)), telegram, token, sp.GetRequiredService<AlertNotifier>(),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<TelegramPoller>>()));
        }

        services.AddHostedService<NotificationDispatcher>();
        return services;
    }
}
