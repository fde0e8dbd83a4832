using System.Globalization;
using System.Net;
using System.Text;
using IoTPilots.Devices;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// <c>IoTPilots.FirmwareSim modbus-farm --devices N --registers R --inventory FILE [--gateway G] [--site S]
/// [--poll-interval 1s] [--queue-dir DIR]</c>: N Modbus TCP devices on loopback, each with R holding registers
/// whose values move every second, and an edge inventory that polls them all (one device per port, R int16
/// signals each). For <c>./run bench edge</c>: what one gateway costs to poll a plant floor. Prints
/// <c>farm-ready N</c> once serving, then <c>served TOTAL</c> (requests answered, all devices) every second
/// until killed.
/// </summary>
public static class ModbusFarmCommand
{
    public const string Usage = "usage: IoTPilots.FirmwareSim modbus-farm --devices N --registers R --inventory FILE [--gateway G] [--site S] [--poll-interval 1s] [--queue-dir DIR]";

    public sealed record Options(int Devices, int Registers, string Inventory, string Gateway, string Site, string PollInterval, string? QueueDir);

    /// <summary>Reads the arguments; a mistake throws a <see cref="FormatException"/> naming the option.</summary>
    public static Options Parse(IReadOnlyList<string> args)
    {
        int? devices = null;
        int? registers = null;
        string? inventory = null;
        string gateway = "gw-bench", site = "bench-site", poll = "1s";
        string? queue = null;
        for (var i = 0; i < args.Count; i += 2)
        {
            var name = args[i];
            var value = i + 1 < args.Count ? args[i + 1] : throw new FormatException($"{name}: a value is missing");
            switch (name)
            {
                case "--devices":
                    devices = Count(name, value, 1, 1000);
                    break;
                case "--registers":
                    // One read request carries at most 125 registers (Modbus application protocol, FC03).
                    registers = Count(name, value, 1, 125);
                    break;
                case "--inventory":
                    inventory = value;
                    break;
                case "--gateway":
                    gateway = Segment(name, value);
                    break;
                case "--site":
                    site = Segment(name, value);
                    break;
                case "--poll-interval":
                    poll = value;
                    break;
                case "--queue-dir":
                    queue = value;
                    break;
                default:
                    throw new FormatException($"unknown option '{name}'");
            }
        }

        return new Options(
            devices ?? throw new FormatException("--devices is required"),
            registers ?? throw new FormatException("--registers is required"),
            inventory ?? throw new FormatException("--inventory is required"),
            gateway,
            site,
            poll,
            queue);
    }

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        Options options;
        try
        {
            options = Parse(args);
        }
        catch (FormatException ex)
        {
            error.WriteLine($"modbus-farm: {ex.Message}\n{Usage}");
            return 2;
        }

        var servers = new List<ModbusTcpServer>();
        try
        {
            var slaves = new List<ModbusSlave>();
            for (var d = 0; d < options.Devices; d++)
            {
                var server = new ModbusTcpServer(IPAddress.Loopback, 0);
                slaves.Add(server.AddUnit(1));
                server.Start();
                servers.Add(server);
            }

            await File.WriteAllTextAsync(options.Inventory, Inventory(options, servers.Select(s => s.Port).ToList()), cancellationToken).ConfigureAwait(false);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"farm-ready {servers.Count} first-port {servers[0].Port}"));
            output.Flush();
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            var tick = 0;
            do
            {
                for (var d = 0; d < slaves.Count; d++)
                {
                    slaves[d].SetRegisters(Table.HoldingRegister, 0, Values(d, tick, options.Registers));
                }

                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"served {servers.Sum(s => s.Requests)}"));
                output.Flush();
                tick++;
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }

        return 0;
    }

    /// <summary>Register j of device d at second t: a slow sawtooth, different per register, so every poll reads new values.</summary>
    public static ushort[] Values(int device, int tick, int count)
    {
        var values = new ushort[count];
        for (var j = 0; j < count; j++)
        {
            values[j] = (ushort)(200 + ((device * 7 + j * 13 + tick) % 100));
        }

        return values;
    }

    /// <summary>The edge inventory polling every device of the farm: register j is signal <c>temp_jj_c</c> (int16, 0.1 °C).</summary>
    public static string Inventory(Options options, IReadOnlyList<int> ports)
    {
        var yaml = new StringBuilder();
        yaml.Append(CultureInfo.InvariantCulture, $"gateway: {options.Gateway}\nsite: {options.Site}\npilot: factory\n");
        if (options.QueueDir is { } queue)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"queue:\n  dir: {queue}\n");
        }

        yaml.Append("devices:\n");
        for (var d = 0; d < ports.Count; d++)
        {
            yaml.Append(CultureInfo.InvariantCulture, $"  - id: dev-{d:000}\n    bus: modbus-tcp\n    address: 127.0.0.1:{ports[d]}\n    poll_interval: {options.PollInterval}\n    registers:\n");
            for (var j = 0; j < options.Registers; j++)
            {
                yaml.Append(CultureInfo.InvariantCulture, $"      - {{ name: temp_{j:00}_c, table: holding, address: {j}, type: int16, scale: 0.1, unit: degC }}\n");
            }
        }

        return yaml.ToString();
    }

    private static int Count(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new FormatException($"{name}: '{value}' is not a whole number from {min} to {max}");

    private static string Segment(string name, string value) =>
        value.Length is > 0 and <= 64 && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_')
            ? value
            : throw new FormatException($"{name}: '{value}' must be 1-64 of a-z 0-9 - _");
}
