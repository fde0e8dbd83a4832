using System.Globalization;
using System.Net;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// <c>IoTPilots.FirmwareSim relay --upstream HOST:PORT [--delay-ms N]</c>: one <see cref="UplinkProxy"/> as a
/// process of its own, holding every chunk N ms in each direction (a 2N ms round trip), for benches that run the
/// real edge against a slow link (<c>./run bench uplink</c>). Prints <c>relay-port PORT</c>, then relays until killed.
/// </summary>
public static class RelayCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        string? upstream = null;
        var delayMs = 0;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--upstream":
                    upstream = args[i + 1];
                    break;
                case "--delay-ms" when int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var ms) && ms >= 0:
                    delayMs = ms;
                    break;
                default:
                    error.WriteLine($"relay: bad argument '{args[i]} {args[i + 1]}'");
                    return 2;
            }
        }

        if (upstream?.Split(':') is not [var host, var portText] || !int.TryParse(portText, CultureInfo.InvariantCulture, out var port))
        {
            error.WriteLine("usage: IoTPilots.FirmwareSim relay --upstream HOST:PORT [--delay-ms N]");
            return 2;
        }

        await using var relay = new UplinkProxy("relay", IPAddress.Loopback, host, port) { OneWayDelay = TimeSpan.FromMilliseconds(delayMs) };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"relay-port {relay.Port}"));
        output.Flush();
        await Task.Delay(Timeout.Infinite).ConfigureAwait(false);
        return 0;
    }
}
