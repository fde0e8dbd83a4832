using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using IoTPilots.Edge.Modbus;

namespace IoTPilots.FirmwareSim;

/// <summary>
/// Modbus TCP server for simulators and tests: serves any number of <see cref="ModbusSlave"/> units behind one
/// endpoint, as a PLC or a TCP-to-RTU gateway does. Unknown unit ids get exception 0x0B (gateway target failed
/// to respond). Listen on port 0 and read <see cref="Port"/> to learn the port the OS chose.
/// </summary>
public sealed class ModbusTcpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly ConcurrentDictionary<byte, ModbusSlave> _units = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private Task? _acceptLoop;

    public ModbusTcpServer(IPAddress address, int port)
    {
        _listener = new TcpListener(address, port);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    private long _requests;

    /// <summary>Requests answered so far (benches count the master's transactions with it).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>When set, the server swallows requests to these units without answering (a dead slave).</summary>
    public ConcurrentDictionary<byte, bool> Silent { get; } = new();

    public ModbusSlave AddUnit(byte unitId, ModbusSlave? slave = null)
    {
        slave ??= new ModbusSlave();
        _units[unitId] = slave;
        return slave;
    }

    public void Start()
    {
        _listener.Start();
        _acceptLoop = AcceptLoopAsync(_stop.Token);
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            var task = ServeAsync(client, cancellationToken);
            _connections[task] = true;
            _ = task.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using (client)
        {
            client.NoDelay = true;
            var stream = client.GetStream();
            var header = new byte[Mbap.HeaderLength];
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
                    var (tid, unit, pduLength) = Mbap.ParseHeader(header);
                    var pdu = new byte[pduLength];
                    await stream.ReadExactlyAsync(pdu, cancellationToken).ConfigureAwait(false);
                    if (Silent.ContainsKey(unit))
                    {
                        continue;
                    }

                    var response = _units.TryGetValue(unit, out var slave)
                        ? slave.Handle(pdu)
                        : [(byte)(pdu[0] | 0x80), (byte)ExceptionCode.GatewayTargetFailedToRespond];
                    await stream.WriteAsync(Mbap.Frame(tid, unit, response), cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref _requests);
                }
            }
            catch (Exception ex) when (ex is IOException or EndOfStreamException or ModbusFrameException or OperationCanceledException or SocketException)
            {
                // The master hung up or sent garbage; a real device drops the connection too.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        await Task.WhenAll(_connections.Keys).ConfigureAwait(false);
        _stop.Dispose();
    }
}
