using System.Globalization;
using System.Net;
using IoTPilots.Edge.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Aquaculture;

// firmware-sim: serves simulated devices over the same protocols as the hardware.
// Usage: IoTPilots.FirmwareSim [--port N] [--tanks N] [--seed N]
var port = 0;
var tanks = 1;
var seed = 1;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port" when i + 1 < args.Length && int.TryParse(args[i + 1], out var p) && p is >= 0 and <= 65535:
            port = p;
            i++;
            break;
        case "--tanks" when i + 1 < args.Length && int.TryParse(args[i + 1], out var t) && t is >= 1 and <= 247:
            tanks = t;
            i++;
            break;
        case "--seed" when i + 1 < args.Length && int.TryParse(args[i + 1], out var s):
            seed = s;
            i++;
            break;
        default:
            Console.Error.WriteLine($"firmware-sim: unknown or incomplete argument '{args[i]}'. Usage: [--port 0-65535] [--tanks 1-247] [--seed N]");
            return 2;
    }
}

var profile = ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, "ras-tank-sim.yaml"));
await using var server = new ModbusTcpServer(IPAddress.Loopback, port);
var random = new Random(seed);
var now = DateTimeOffset.UtcNow;
var fleet = Enumerable.Range(1, tanks)
    .Select(n => (Unit: (byte)n, Tank: new RasTank(new RasTankParameters(), now), Device: new SimulatedModbusDevice(profile, server.AddUnit((byte)n))))
    .ToList();
server.Start();
foreach (var (unit, _, _) in fleet)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sim: tank-{unit:00} modbus-tcp://127.0.0.1:{server.Port} unit {unit} profile {profile.Id}"));
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
var last = DateTimeOffset.UtcNow;
do
{
    var t = DateTimeOffset.UtcNow;
    foreach (var (_, tank, device) in fleet)
    {
        tank.Step(t, t - last);
        // Probe noise: optical DO ±0.02 mg/L, temperature ±0.05 °C, pH ±0.01 [U].
        device.Set("do_mg_l", tank.DissolvedOxygen + (Noise(random) * 0.02));
        device.Set("temp_c", tank.Temperature + (Noise(random) * 0.05));
        device.Set("ph", tank.Ph + (Noise(random) * 0.01));
        device.Set("salinity_ppt", tank.Salinity + (Noise(random) * 0.05));
    }

    last = t;
}
while (await Tick(timer, stop.Token));
return 0;

static double Noise(Random r) => (r.NextDouble() + r.NextDouble() + r.NextDouble() - 1.5) / 1.5;

static async Task<bool> Tick(PeriodicTimer timer, CancellationToken token)
{
    try
    {
        return await timer.WaitForNextTickAsync(token);
    }
    catch (OperationCanceledException)
    {
        return false;
    }
}
