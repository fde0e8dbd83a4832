using IoTPilots.Config;
using IoTPilots.Edge;
using IoTPilots.Devices;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Probe;
using IoTPilots.Edge.RemoteConfig;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

if (args is ["bench"])
{
    return IoTPilots.Edge.Bench.BenchCommand.Run(Console.Out);
}

if (args is ["bench", "uplink", .. var benchArgs])
{
    return await IoTPilots.Edge.Bench.UplinkBench.RunAsync(benchArgs, Console.Out);
}

if (args is ["bench", "modbus", .. var modbusArgs])
{
    return await IoTPilots.Edge.Bench.ModbusBench.RunAsync(modbusArgs, Console.Out, Console.Error);
}

if (args is ["probe", .. var probeArgs])
{
    return await ProbeCommand.RunAsync(probeArgs, new SystemSerialPorts(), Console.Out, Console.Error);
}

// Start-up: load and validate the inventory first, so a bad file stops here with a message naming
// file, line and field, before anything connects anywhere.
// Settings (appsettings.json) live next to the binaries, wherever the agent is started from.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
var inventoryFile = builder.Configuration["inventory"] ?? Environment.GetEnvironmentVariable("PILOTS_EDGE_INVENTORY");
if (string.IsNullOrEmpty(inventoryFile))
{
    Console.Error.WriteLine("edge: no inventory given; use --inventory FILE (or PILOTS_EDGE_INVENTORY)");
    return 2;
}

// The environment is read here, once: a variable given with a wrong value (URL, certificate, password) stops
// the agent with exit code 2 naming it, never a silent default.
// The inventory to run may be one pushed from the cloud (kept in the state folder); a restart during its probation
// rolls it back here (edge README, "Remote configuration").
Inventory inventory;
EdgeSettings settings;
RemoteInventory remote;
try
{
    settings = EdgeSettings.FromEnvironment(Environment.GetEnvironmentVariable);
    remote = RemoteInventory.Open(inventoryFile, settings, Environment.GetEnvironmentVariable, TimeProvider.System, Console.Error);
    inventory = remote.Files.Inventory;
}
catch (Exception ex) when (ex is ConfigException or FormatException or IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"edge: {ex.Message}");
    return 2;
}

builder.Services.AddSystemd();
builder.Services.AddEdgeAgent(inventory, settings, remote);
await builder.Build().RunAsync();
return 0;
