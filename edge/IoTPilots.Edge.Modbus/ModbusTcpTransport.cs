using System.Net.Sockets;

namespace IoTPilots.Edge.Modbus;

/// <summary>
/// Modbus TCP master transport: one connection, one transaction at a time, MBAP framing with transaction ids,
/// a per-request timeout, and reconnect with exponential backoff (capped) after a failure.
/// </summary>
public sealed class ModbusTcpTransport : IModbusTransport
{
    private readonly string _host;
    private readonly int _port;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _maxBackoff;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private TcpClient? _client;
    private NetworkStream? _stream;
    private ushort _transactionId;
    private TimeSpan _backoff;
    private DateTimeOffset _nextConnectAttempt = DateTimeOffset.MinValue;

    public ModbusTcpTransport(string host, int port, TimeSpan timeout, TimeSpan? maxBackoff = null, TimeProvider? time = null)
    {
        _host = host;
        _port = port;
        _timeout = timeout;
        _maxBackoff = maxBackoff ?? TimeSpan.FromSeconds(30);
        _time = time ?? TimeProvider.System;
        Endpoint = $"modbus-tcp://{host}:{port}";
    }

    public string Endpoint { get; }

    /// <summary>Responses whose transaction id did not match the request; each one resets the connection.</summary>
    public long MismatchedTransactions { get; private set; }

    public async Task<byte[]> SendAsync(byte unitId, byte[] requestPdu, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var stream = await EnsureConnectedAsync(cancellationToken).ConfigureAwait(false);
            var tid = ++_transactionId;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            try
            {
                await stream.WriteAsync(Mbap.Frame(tid, unitId, requestPdu), timeout.Token).ConfigureAwait(false);
                var header = new byte[Mbap.HeaderLength];
                await stream.ReadExactlyAsync(header, timeout.Token).ConfigureAwait(false);
                var (rxTid, rxUnit, pduLength) = Mbap.ParseHeader(header);
                var pdu = new byte[pduLength];
                await stream.ReadExactlyAsync(pdu, timeout.Token).ConfigureAwait(false);
                if (rxTid != tid)
                {
                    MismatchedTransactions++;
                    throw new ModbusFrameException($"{Endpoint}: response transaction id {rxTid} does not match request {tid}");
                }

                if (rxUnit != unitId)
                {
                    throw new ModbusFrameException($"{Endpoint}: response from unit {rxUnit}, expected unit {unitId}");
                }

                return pdu;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Disconnect();
                throw new ModbusTimeoutException($"{Endpoint}: unit {unitId} did not answer within {_timeout.TotalMilliseconds:0} ms");
            }
            catch (Exception ex) when (ex is IOException or SocketException or ModbusFrameException or OperationCanceledException)
            {
                // After a desync or a dead socket nothing later on this connection can be trusted.
                Disconnect();
                throw;
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<NetworkStream> EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        if (_stream is not null)
        {
            return _stream;
        }

        var now = _time.GetUtcNow();
        if (now < _nextConnectAttempt)
        {
            throw new IOException($"{Endpoint}: not connected; next attempt in {(_nextConnectAttempt - now).TotalSeconds:0.0} s");
        }

        var client = new TcpClient { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_timeout);
            await client.ConnectAsync(_host, _port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            _backoff = _backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, _maxBackoff.Ticks));
            _nextConnectAttempt = _time.GetUtcNow() + _backoff;
            throw new IOException($"{Endpoint}: cannot connect ({ex.Message}); retrying in {_backoff.TotalSeconds:0.0} s", ex);
        }

        _backoff = TimeSpan.Zero;
        _client = client;
        _stream = client.GetStream();
        return _stream;
    }

    private void Disconnect()
    {
        _stream?.Dispose();
        _client?.Dispose();
        _stream = null;
        _client = null;
    }

    public ValueTask DisposeAsync()
    {
        Disconnect();
        _lock.Dispose();
        return ValueTask.CompletedTask;
    }
}
