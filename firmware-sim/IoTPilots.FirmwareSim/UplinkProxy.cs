using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// A gateway's network path to the broker, as a TCP relay the simulator controls. While <see cref="Down"/> it
/// cuts every open connection and drops new ones at once, as a failed 4G link does; the edge sees a real
/// outage and cannot tell it from one. Used by the link-outage scenario.
/// </summary>
public sealed class UplinkProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _upstreamHost;
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<TcpClient, bool> _open = new();
    private readonly Task _accepting;
    private volatile bool _down;

    public UplinkProxy(string gateway, IPAddress bind, string upstreamHost, int upstreamPort)
    {
        Gateway = gateway;
        _upstreamHost = upstreamHost;
        _upstreamPort = upstreamPort;
        _listener = new TcpListener(bind, 0);
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    public string Gateway { get; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections refused or cut while down.</summary>
    public long Cut { get; private set; }

    public bool Down
    {
        get => _down;
        set
        {
            _down = value;
            if (value)
            {
                foreach (var client in _open.Keys)
                {
                    client.Dispose();
                    Cut++;
                }
            }
        }
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient downstream;
            try
            {
                downstream = await _listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            if (_down)
            {
                downstream.Dispose();
                Cut++;
                continue;
            }

            _ = RelayAsync(downstream, cancellationToken);
        }
    }

    private async Task RelayAsync(TcpClient downstream, CancellationToken cancellationToken)
    {
        using var upstream = new TcpClient();
        _open[downstream] = true;
        _open[upstream] = true;
        try
        {
            await upstream.ConnectAsync(_upstreamHost, _upstreamPort, cancellationToken).ConfigureAwait(false);
            var a = downstream.GetStream();
            var b = upstream.GetStream();
            await Task.WhenAny(a.CopyToAsync(b, cancellationToken), b.CopyToAsync(a, cancellationToken)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            _open.TryRemove(downstream, out _);
            _open.TryRemove(upstream, out _);
            downstream.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        foreach (var client in _open.Keys)
        {
            client.Dispose();
        }

        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }
}
