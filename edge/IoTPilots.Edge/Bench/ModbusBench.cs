using System.Diagnostics;
using System.Globalization;
using IoTPilots.Edge.Modbus;

namespace IoTPilots.Edge.Bench;

/// <summary>
/// <c>IoTPilots.Edge bench modbus --address HOST:PORT [--registers 20] [--seconds 5]</c>: the edge's own Modbus TCP
/// master reading R holding registers from one device, one request in flight as the poller does, as fast as the
/// device answers. Prints <c>modbus-tps N</c> (transactions per second). Used by <c>./run bench edge</c>; timings
/// live here, never in tests.
/// </summary>
public static class ModbusBench
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        string? address = null;
        ushort registers = 20;
        var seconds = 5;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--address":
                    address = args[i + 1];
                    break;
                case "--registers" when ushort.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var r) && r is >= 1 and <= 125:
                    registers = r;
                    break;
                case "--seconds" when int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var s) && s is >= 1 and <= 600:
                    seconds = s;
                    break;
                default:
                    error.WriteLine($"bench modbus: bad argument '{args[i]} {args[i + 1]}'");
                    return 2;
            }
        }

        if (address?.Split(':') is not [var host, var portText] || !int.TryParse(portText, CultureInfo.InvariantCulture, out var port))
        {
            error.WriteLine("usage: IoTPilots.Edge bench modbus --address HOST:PORT [--registers 20] [--seconds 5]");
            return 2;
        }

        await using var transport = new ModbusTcpTransport(host, port, TimeSpan.FromSeconds(1));
        var client = new ModbusClient(transport);
        await client.ReadHoldingRegistersAsync(1, 0, registers).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        long n = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            await client.ReadHoldingRegistersAsync(1, 0, registers).ConfigureAwait(false);
            n++;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"modbus-tps {n / clock.Elapsed.TotalSeconds:0}"));
        return 0;
    }
}
