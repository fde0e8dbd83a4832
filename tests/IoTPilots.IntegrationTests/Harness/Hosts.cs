using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Edge;
using IoTPilots.Devices;
using IoTPilots.Mqtt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>The real edge agent and cloud ingestion, wired exactly as their Program.cs do, in-process.</summary>
public static class Hosts
{
    public static IHost Edge(Inventory inventory, MqttEndpoint broker, ErrorLog log)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().AddProvider(log);
        builder.Services.AddEdgeAgent(inventory, new Edge.Publishing.Uplink(broker, null));
        return builder.Build();
    }

    public static IHost Cloud(MqttEndpoint broker, InfluxEndpoint influx, ErrorLog log, string group = "", string worker = "1", DeviceRegistry? registry = null, RulesOptions? rules = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().AddProvider(log);
        group = group.Length > 0 ? group : $"it{Guid.NewGuid():N}"[..12];
        builder.Services.AddIngestion(new IngestionOptions(broker, influx, group, worker) { DeliveryInterval = TimeSpan.FromSeconds(1) }, registry);
        if (rules is not null)
        {
            builder.Services.AddAlerts(rules);
        }

        return builder.Build();
    }

    /// <summary>
    /// Makes an API key in the users file a cloud process will open (its PILOTS_USERS_DB, or <c>users.db</c> beside its
    /// PILOTS_ALERT_DB), before or while it runs: for tests that call a real cloud's API (<see cref="AlertHost.KeyClient"/>).
    /// </summary>
    public static string CreateApiKey(string usersDbPath, Role role = Role.Admin, string sites = "*", string? name = null)
    {
        using var users = UserStore.Open(usersDbPath, TimeProvider.System);
        return users.AddKey(name ?? $"test-{Guid.NewGuid():N}"[..16], role, SiteScope.Parse(sites, "sites"));
    }
}
