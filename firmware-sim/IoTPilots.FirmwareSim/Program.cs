using System.Net.Sockets;
using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Load;

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

if (args is ["alert-latency", .. var latencyArgs])
{
    try
    {
        return await AlertLatencyProbe.RunAsync(latencyArgs, Console.Out, CancellationToken.None);
    }
    catch (FormatException ex)
    {
        Console.Error.WriteLine($"firmware-sim alert-latency: {ex.Message}\n{AlertLatencyProbe.Usage}");
        return 2;
    }
}

if (args is ["modbus-farm", .. var farmArgs])
{
    using var stopFarm = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopFarm.Cancel(); };
    return await ModbusFarmCommand.RunAsync(farmArgs, Console.Out, Console.Error, stopFarm.Token);
}

if (args is ["relay", .. var relayArgs])
{
    return await RelayCommand.RunAsync(relayArgs, Console.Out, Console.Error);
}

// The command line is read and checked once, here: a mistake exits 2 (not restarted by systemd) naming the option.
SimArguments options;
try
{
    options = SimArguments.Parse(args);
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"firmware-sim: {ex.Message}\n{SimArguments.Usage}");
    return 2;
}

var start = DateTimeOffset.UtcNow;
var fleet = new Fleet(start, options.Seed);
SimHost host;
try
{
    host = await SimHost.StartAsync(fleet, new SimOptions { Bind = options.Bind, Broker = options.Broker });
}
catch (SocketException ex)
{
    Console.Error.WriteLine($"firmware-sim: --bind: cannot listen on {options.Bind}: {ex.Message}");
    return 2;
}

await using var running = host;
foreach (var line in host.Endpoints)
{
    Console.WriteLine(line);
}

foreach (var scenario in options.Scenarios)
{
    Console.WriteLine($"sim: scenario {scenario.Name}: {scenario.Description} (seed {options.Seed})");
}

if (options.InventoryDir is { } inventoryDir)
{
    try
    {
        foreach (var file in host.WriteInventories(inventoryDir))
        {
            Console.WriteLine($"sim: inventory {file}");
        }
    }
    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"firmware-sim: --inventory-dir: cannot write inventories to '{inventoryDir}': {ex.Message}");
        return 2;
    }
}

// The links' scenarios act before anything connects, so a slow link is slow from the first connection.
foreach (var scenario in options.Scenarios.Where(s => s.NeedsUplinkRelays))
{
    scenario.Apply(fleet, TimeSpan.Zero);
}

host.UpdateLinks();
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
        foreach (var scenario in options.Scenarios)
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
