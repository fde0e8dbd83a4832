using System.Globalization;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Polling;

namespace IoTPilots.Edge.Probe;

/// <summary>
/// <c>probe modbus-tcp://HOST:PORT|modbus-rtu:///dev/ttyUSB0?baud=9600&amp;parity=N --unit N --address A
/// --count C [--table holding|input|coil|discrete] [--timeout 1s]</c>: reads registers once and prints every
/// plausible decoding. A commissioning tool: find the word order before writing the register map.
/// Exit codes: 0 read, 1 the device failed or refused, 2 bad arguments.
/// </summary>
public static class ProbeCommand
{
    public const string Usage =
        "usage: probe modbus-tcp://HOST:PORT | modbus-rtu:///dev/ttyUSB0?baud=9600&parity=N  --unit N --address A --count C [--table holding|input|coil|discrete] [--timeout 1s]";

    public static async Task<int> RunAsync(string[] args, ISerialPorts serialPorts, TextWriter output, TextWriter error)
    {
        if (!TryParse(args, out var options, out var problem))
        {
            await error.WriteLineAsync($"probe: {problem}\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        IModbusTransport transport;
        try
        {
            transport = options.Serial is { } serial
                ? new ModbusRtuTransport(serialPorts.Open(serial), options.Timeout)
                : new ModbusTcpTransport(options.Host, options.Port, options.Timeout);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            await error.WriteLineAsync($"probe: cannot open {options.Url}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        await using (transport.ConfigureAwait(false))
        {
            var client = new ModbusClient(transport);
            try
            {
                var lines = options.Table is Table.Coil or Table.DiscreteInput
                    ? ProbeDecoder.DescribeBits(await client.ReadBitsAsync(options.Unit, options.Table, options.Address, options.Count).ConfigureAwait(false), options.Address)
                    : ProbeDecoder.Describe(await client.ReadRegistersAsync(options.Unit, options.Table, options.Address, options.Count).ConfigureAwait(false), options.Address);
                foreach (var line in lines)
                {
                    await output.WriteLineAsync(line).ConfigureAwait(false);
                }

                return 0;
            }
            catch (Exception ex) when (ex is ModbusExceptionResponse or ModbusFrameException or ModbusTimeoutException or IOException or System.Net.Sockets.SocketException)
            {
                await error.WriteLineAsync($"probe: {transport.Endpoint} unit {options.Unit}: {ex.Message}").ConfigureAwait(false);
                return 1;
            }
        }
    }

    public sealed record Options(string Url, string Host, int Port, SerialSettings? Serial, byte Unit, Table Table, ushort Address, ushort Count, TimeSpan Timeout);

    public static bool TryParse(string[] args, out Options options, out string problem)
    {
        options = null!;
        problem = "";
        if (args.Length == 0)
        {
            problem = "missing the device URL";
            return false;
        }

        var url = args[0];
        string host = "";
        int port = 0;
        SerialSettings? serial = null;
        if (url.StartsWith("modbus-tcp://", StringComparison.Ordinal))
        {
            if (!InventoryLoader.TryParseHostPort(url["modbus-tcp://".Length..], out host, out port))
            {
                problem = $"'{url}': expected modbus-tcp://HOST:PORT";
                return false;
            }
        }
        else if (url.StartsWith("modbus-rtu://", StringComparison.Ordinal))
        {
            if (!SerialSettings.TryParse(url["modbus-rtu://".Length..], 9600, out var s, out var serialError))
            {
                problem = $"'{url}': {serialError}";
                return false;
            }

            serial = s;
        }
        else
        {
            problem = $"'{url}' is not a modbus-tcp:// or modbus-rtu:// URL";
            return false;
        }

        int? unit = null, address = null, count = null;
        var table = Table.HoldingRegister;
        var timeout = TimeSpan.FromSeconds(1);
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--unit" when Int(value, 0, 247) is { } u:
                    unit = u;
                    break;
                case "--address" when Int(value, 0, 65535) is { } a:
                    address = a;
                    break;
                case "--count" when Int(value, 1, 125) is { } c:
                    count = c;
                    break;
                case "--table" when value is "holding" or "input" or "coil" or "discrete":
                    table = value switch { "holding" => Table.HoldingRegister, "input" => Table.InputRegister, "coil" => Table.Coil, _ => Table.DiscreteInput };
                    break;
                case "--timeout" when value is not null && double.TryParse(value.TrimEnd('s'), CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 60:
                    timeout = TimeSpan.FromSeconds(seconds);
                    break;
                default:
                    problem = $"bad or incomplete option '{args[i]}{(value is null ? "" : " " + value)}' (--unit 0-247, --address 0-65535, --count 1-125, --table holding|input|coil|discrete, --timeout 0.1-60s)";
                    return false;
            }

            i++;
        }

        if (unit is null || address is null || count is null)
        {
            problem = "--unit, --address and --count are required";
            return false;
        }

        if (address + count > 65536)
        {
            problem = $"--address {address} --count {count} runs past register 65535";
            return false;
        }

        options = new Options(url, host, port, serial, (byte)unit, table, (ushort)address, (ushort)count, timeout);
        return true;
    }

    private static int? Int(string? text, int min, int max)
    {
        if (text is null)
        {
            return null;
        }

        var ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v)
            : int.TryParse(text, CultureInfo.InvariantCulture, out v);
        return ok && v >= min && v <= max ? v : null;
    }
}
