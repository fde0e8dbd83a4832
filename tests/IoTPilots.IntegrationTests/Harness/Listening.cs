using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace IoTPilots.IntegrationTests.Harness;

public static class Listening
{
    /// <summary>
    /// Waits until a server we started accepts connections on a loopback port; fails at once, with
    /// <paramref name="log"/>'s text, when the process exits first (a bad config would otherwise cost the whole timeout).
    /// </summary>
    public static Task WaitAsync(Process process, int port, string name, TimeSpan timeout, Func<string>? log = null) =>
        Eventually.TrueAsync(
            async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"{name} exited with code {process.ExitCode} before listening on {port}{(log is null ? "" : ": " + log())}");
                }

                using var client = new TcpClient();
                try
                {
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            },
            timeout,
            $"{name} listening on 127.0.0.1:{port}");
}
