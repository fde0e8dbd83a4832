using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Commands;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Cloud.Live;
using IoTPilots.Devices;
using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Scenarios;
using IoTPilots.Mqtt;
using IoTPilots.Rules;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>
/// The whole platform as <c>./run demo</c> runs it, in-process: the three pilots' simulators (physics stepped each
/// second, on real Modbus TCP/RTU, EZO and 1-Wire), each gateway's uplink through its relay (so a link can be cut),
/// the three edge agents, and the cloud (ingestion, rules engine, alert console and live view) on a real Kestrel on
/// a free loopback port, over the test's Mosquitto and a fresh InfluxDB database. Started once per test class.
/// </summary>
public sealed class LivePlant : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-live-").FullName;
    private readonly List<IHost> _edges = [];
    private readonly CancellationTokenSource _stop = new();
    private Fleet _fleet = null!;
    private SimHost _sim = null!;
    private WebApplication _cloud = null!;
    private Task _stepping = Task.CompletedTask;
    private DateTimeOffset _simNow;

    public Uri Address { get; private set; } = null!;

    public InfluxWriter Influx { get; private set; } = null!;

    public ErrorLog Log { get; } = new();

    public IServiceProvider Services => _cloud.Services;

    /// <summary>The cloud's commands record: what a test writes here, the console and the live view show as actions.</summary>
    public CommandStore Commands => _cloud.Services.GetRequiredService<CommandStore>();

    /// <summary>Makes a user in the cloud's users file; returns their name and password, for <see cref="BrowserLogin.LogInAsync"/>.</summary>
    public (string Name, string Password) CreateUser(Role role, string sites = "*")
    {
        var users = _cloud.Services.GetRequiredService<UserStore>();
        var name = $"{RoleText.Of(role)}{users.Users().Count + 1}";
        var password = AccountInput.GeneratePassword();
        users.AddUser(name, role, SiteScope.Parse(sites, "sites"), password);
        return (name, password);
    }

    /// <summary>An HTTP client that sends a fresh API key of <paramref name="role"/> and <paramref name="sites"/>.</summary>
    public HttpClient Client(Role role = Role.Viewer, string sites = "*") => AlertHost.KeyClient(Address,
        _cloud.Services.GetRequiredService<UserStore>().AddKey($"live-{Guid.NewGuid():N}"[..16], role, SiteScope.Parse(sites, "sites")));

    public static async Task<LivePlant> StartAsync(Servers servers)
    {
        var plant = new LivePlant();
        await plant.StartCoreAsync(servers);
        return plant;
    }

    private async Task StartCoreAsync(Servers servers)
    {
        _simNow = DateTimeOffset.UtcNow;
        _fleet = new Fleet(_simNow, 5);
        _sim = await SimHost.StartAsync(_fleet, new SimOptions { W1Directory = Path.Combine(_dir, "w1"), Broker = servers.Mqtt });
        var inventories = _sim.WriteInventories(Path.Combine(_dir, "inventories"));
        Influx = await servers.NewDatabaseAsync("live");

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddProvider(Log);
        builder.Services.AddIngestion(new IngestionOptions(servers.Mqtt, Influx.Endpoint, $"live{Guid.NewGuid():N}"[..12], "1") { DeliveryInterval = TimeSpan.FromSeconds(1) });
        var rules = new RulesOptions(RuleSet.DefaultFile, Path.Combine(_dir, "alerts.db"), Evaluate: true);
        builder.Services.AddAlerts(rules);
        builder.Services.AddAccess(new AccessOptions(Path.Combine(_dir, "users.db"), AccessOptions.DefaultSessionLifetime));
        builder.Services.AddLiveView(rules);
        builder.Services.AddSingleton(_ => CommandStore.Open(Path.Combine(_dir, "commands.db")));
        _cloud = builder.Build();
        // Behind the cloud's logins, as in Program.cs: the live view is protected by the fallback policy.
        _cloud.UseAccess();
        _cloud.MapAccess();
        _cloud.MapAlertApi();
        _cloud.MapAlertConsole();
        _cloud.MapLiveView();
        await _cloud.StartAsync();
        Address = new Uri(_cloud.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        await _cloud.Services.GetRequiredService<IngestionSubscription>().WaitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        foreach (var file in inventories)
        {
            var inventory = InventoryLoader.Load(file);
            inventory = inventory with { Queue = inventory.Queue with { Directory = Path.Combine(_dir, "queues", inventory.Gateway) } };
            // The relay the simulator runs for this gateway (firmware-sim README: {gateway}.env).
            var env = File.ReadAllLines(Path.ChangeExtension(file, ".env")).Single(l => l.StartsWith("PILOTS_MQTT_URL=", StringComparison.Ordinal));
            var edge = Hosts.Edge(inventory, MqttEndpoint.Parse(env["PILOTS_MQTT_URL=".Length..]), Log);
            await edge.StartAsync();
            _edges.Add(edge);
        }

        _stepping = StepAsync(_stop.Token);
    }

    /// <summary>The physics a second at a time, as firmware-sim's own loop does.</summary>
    private async Task StepAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                lock (_gate)
                {
                    _simNow += TimeSpan.FromSeconds(1);
                    _fleet.Step(_simNow, TimeSpan.FromSeconds(1));
                    _sim.Update();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Runs <paramref name="scenario"/> for <paramref name="span"/> of simulated time at once (the devices then hold where it left them, and go on from there).</summary>
    public void FastForward(Scenario scenario, TimeSpan span)
    {
        lock (_gate)
        {
            for (var t = TimeSpan.FromSeconds(1); t <= span; t += TimeSpan.FromSeconds(1))
            {
                scenario.Apply(_fleet, t);
                _simNow += TimeSpan.FromSeconds(1);
                _fleet.Step(_simNow, TimeSpan.FromSeconds(1));
            }

            _sim.Update();
        }
    }

    /// <summary>Applies a link scenario at <paramref name="elapsed"/> of its timeline (e.g. link-outage's From and Until).</summary>
    public void SetLinks(Scenario scenario, TimeSpan elapsed)
    {
        lock (_gate)
        {
            scenario.Apply(_fleet, elapsed);
            _sim.UpdateLinks();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _stepping;
        foreach (var edge in _edges)
        {
            await edge.StopAsync();
            edge.Dispose();
        }

        await _cloud.StopAsync();
        await _cloud.DisposeAsync();
        await _sim.DisposeAsync();
        _stop.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
