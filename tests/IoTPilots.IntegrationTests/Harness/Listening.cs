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

    /// <summary>
    /// Waits until a cloud process answers <c>/alive</c> at <paramref name="address"/> (Kestrel listens after the
    /// subscriptions start); fails at once with its log when it exits first.
    /// </summary>
    public static async Task AliveAsync(ChildProcess cloud, Uri address)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = address };
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    using var alive = await http.GetAsync(new Uri("/alive", UriKind.Relative));
                    return alive.StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    return cloud.Running ? false : throw new InvalidOperationException($"the cloud exited:\n{cloud.Log}");
                }
            },
            TimeSpan.FromSeconds(60),
            $"the cloud's /alive\n{cloud.Log}");
    }
}
