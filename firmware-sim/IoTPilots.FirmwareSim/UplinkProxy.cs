using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// A gateway's network path to the broker, as a TCP relay the simulator controls.
/// <list type="bullet">
/// <item>While <see cref="Down"/> it cuts every open connection and drops new ones at once, as a failed 4G link
/// does; the edge sees a real outage and cannot tell it from one (the link-outage scenario).</item>
/// <item><see cref="OneWayDelay"/> holds every chunk of bytes that long in each direction before passing it on,
/// so a round trip costs twice that, as on a cellular link (the slow-link scenario). It is a latency line, not
/// stop-and-wait: bytes keep flowing while earlier ones are still "in the air", so a sender that pipelines
/// is not slowed beyond the delay itself.</item>
/// </list>
/// </summary>
public sealed class UplinkProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _upstreamHost;
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<TcpClient, bool> _open = new();
    private readonly Task _accepting;
    private readonly TimeProvider _time;
    private volatile bool _down;
    private long _delayTicks;
    private long _inFlight;

    public UplinkProxy(string gateway, IPAddress bind, string upstreamHost, int upstreamPort, TimeProvider? time = null)
    {
        Gateway = gateway;
        _upstreamHost = upstreamHost;
        _upstreamPort = upstreamPort;
        _time = time ?? TimeProvider.System;
        _listener = new TcpListener(bind, 0);
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    public string Gateway { get; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections refused or cut while down.</summary>
    public long Cut { get; private set; }

    /// <summary>Added to every chunk in each direction; applies to bytes read from now on, on open connections too.</summary>
    public TimeSpan OneWayDelay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set => Interlocked.Exchange(ref _delayTicks, Math.Max(0, value.Ticks));
    }

    /// <summary>Bytes read from one side and not yet written to the other, both directions: what is "in the air".</summary>
    public long BytesInFlight => Interlocked.Read(ref _inFlight);

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
        downstream.NoDelay = true;
        upstream.NoDelay = true;
        _open[downstream] = true;
        _open[upstream] = true;
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            await upstream.ConnectAsync(_upstreamHost, _upstreamPort, connection.Token).ConfigureAwait(false);
            var a = downstream.GetStream();
            var b = upstream.GetStream();
            await Task.WhenAny(PumpAsync(a, b, connection.Token), PumpAsync(b, a, connection.Token)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            await connection.CancelAsync().ConfigureAwait(false);
            _open.TryRemove(downstream, out _);
            _open.TryRemove(upstream, out _);
            downstream.Dispose();
        }
    }

    /// <summary>
    /// Copies one direction. With no delay this is a plain copy. With one, a reader stamps each chunk with when
    /// it may leave and a writer sends it then, so several chunks can be on the way at once, in order.
    /// </summary>
    private async Task PumpAsync(NetworkStream from, NetworkStream to, CancellationToken cancellationToken)
    {
        var line = Channel.CreateUnbounded<(long Due, byte[] Bytes, int Count)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writer = WriteDelayedAsync(line.Reader, to, cancellationToken);
        try
        {
            while (true)
            {
                var buffer = new byte[16 * 1024];
                var read = await from.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                var due = _time.GetTimestamp() + (long)(OneWayDelay.TotalSeconds * _time.TimestampFrequency);
                Interlocked.Add(ref _inFlight, read);
                line.Writer.TryWrite((due, buffer, read));
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            line.Writer.TryComplete();
        }

        await writer.ConfigureAwait(false);
        // A cut connection loses what was in the air, as a dropped radio link does.
        while (line.Reader.TryRead(out var lost))
        {
            Interlocked.Add(ref _inFlight, -lost.Count);
        }
    }

    private async Task WriteDelayedAsync(ChannelReader<(long Due, byte[] Bytes, int Count)> line, NetworkStream to, CancellationToken cancellationToken)
    {
        var holding = 0;
        try
        {
            await foreach (var (due, bytes, count) in line.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                holding = count;
                // Checked again after each wait: a timer may fire a little early by the clock's own reading,
                // and a chunk must never leave before it is due.
                while (_time.GetElapsedTime(_time.GetTimestamp(), due) is var wait && wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                }

                await to.WriteAsync(bytes.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref _inFlight, -count);
                holding = 0;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Interlocked.Add(ref _inFlight, -holding);
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
