using System.Globalization;
using System.Net;
using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Load;
using IoTPilots.FirmwareSim.Scenarios;
using IoTPilots.Mqtt;

// firmware-sim: the three pilots' simulated devices, served over the protocols of the real hardware.
if (args is ["load", .. var loadArgs])
{
    LoadOptions load;
    try
    {
        load = LoadArguments.Parse(loadArgs);
    }
    catch (FormatException ex)
    {
        Console.Error.WriteLine($"firmware-sim load: {ex.Message}\n{LoadArguments.Usage}");
        return 2;
    }

    using var stopLoad = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopLoad.Cancel(); };
    return await LoadGenerator.RunAsync(load, Console.Out, stopLoad.Token);
}

if (args is ["load-influx", .. var directArgs])
{
    try
    {
        return await DirectWriteLoad.RunAsync(directArgs, Console.Out, CancellationToken.None);
    }
    catch (FormatException ex)
    {
        Console.Error.WriteLine($"firmware-sim load-influx: {ex.Message}\n{DirectWriteLoad.Usage}");
        return 2;
    }
}

const string Usage = "usage: IoTPilots.FirmwareSim [--scenario NAME[,NAME...]] [--seed N] [--inventory-dir DIR] [--mqtt-url mqtt://HOST:PORT] [--bind ADDRESS]";
var scenarioText = "baseline";
var seed = 1;
string? inventoryDir = null;
MqttEndpoint? broker = null;
var bind = IPAddress.Loopback;
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : null;
    try
    {
        switch (args[i])
        {
            case "--scenario" when value is not null:
                scenarioText = value;
                break;
            case "--seed" when int.TryParse(value, CultureInfo.InvariantCulture, out var s):
                seed = s;
                break;
            case "--inventory-dir" when value is not null:
                inventoryDir = value;
                break;
            case "--mqtt-url" when value is not null:
                broker = MqttEndpoint.Parse(value, "--mqtt-url");
                break;
            case "--bind" when IPAddress.TryParse(value, out var address):
                bind = address;
                break;
            default:
                Console.Error.WriteLine($"firmware-sim: bad or incomplete argument '{args[i]}'\n{Usage}");
                return 2;
        }
    }
    catch (FormatException ex)
    {
        Console.Error.WriteLine($"firmware-sim: {ex.Message}");
        return 2;
    }

    i++;
}

IReadOnlyList<Scenario> scenarios;
try
{
    scenarios = ScenarioCatalog.Parse(scenarioText);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"firmware-sim: {ex.Message}");
    return 2;
}

var start = DateTimeOffset.UtcNow;
var fleet = new Fleet(start, seed);
await using var host = await SimHost.StartAsync(fleet, new SimOptions { Bind = bind, Broker = broker });
foreach (var line in host.Endpoints)
{
    Console.WriteLine(line);
}

foreach (var scenario in scenarios)
{
    Console.WriteLine($"sim: scenario {scenario.Name}: {scenario.Description} (seed {seed})");
}

if (inventoryDir is not null)
{
    foreach (var file in host.WriteInventories(inventoryDir))
    {
        Console.WriteLine($"sim: inventory {file}");
    }
}

Console.WriteLine("sim: ready");
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
var last = start;
try
{
    while (await timer.WaitForNextTickAsync(stop.Token))
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var scenario in scenarios)
        {
            scenario.Apply(fleet, now - start);
        }

        fleet.Step(now, now - last);
        host.Update();
        last = now;
    }
}
catch (OperationCanceledException)
{
}

return 0;
