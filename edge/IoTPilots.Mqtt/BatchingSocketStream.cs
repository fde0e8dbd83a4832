using System.Net;
using System.Net.Sockets;
using MQTTnet.Channel;

namespace IoTPilots.Mqtt;

/// <summary>
/// Connects MQTTnet's TCP channel through a <see cref="BatchingSocketStream"/> (its <c>StreamProvider</c> hook; TLS,
/// when asked for, is still layered on top by MQTTnet). For subscribers that take thousands of messages a second.
/// </summary>
public sealed class BatchingStreamProvider(int socketBufferBytes) : IMqttClientStreamProvider
{
    public async Task<Stream> ConnectAsync(EndPoint brokerEndPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp)
        {
            // Set before connecting, so that the window scale is negotiated for it (see MqttMessageSource).
            ReceiveBufferSize = socketBufferBytes,
            SendBufferSize = socketBufferBytes,
            NoDelay = true,
        };
        try
        {
            await socket.ConnectAsync(brokerEndPoint, cancellationToken).ConfigureAwait(false);
            return new BatchingSocketStream(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>
/// A socket stream that costs a subscriber few system calls per message, in both directions.
/// <list type="bullet">
/// <item>Reads come from a 64 KiB buffer. MQTTnet reads each packet as a 2-byte fixed header, then the length
/// bytes, then the body (MqttChannelAdapter.ReceiveAsync), each straight from the socket: three receive calls per
/// message. Buffered, one receive call carries a few hundred messages.</item>
/// <item>Writes are appended to a buffer and sent by one flusher, which takes everything written while its last
/// send was under way: a group commit for the socket. So the PUBACKs for a batch of stored messages, written one by
/// one, leave in a few sends instead of one each, and the broker reads them in few calls too. No timer: a lone
/// write is sent at once. A write returns once it is buffered; a send that fails closes the socket, so the reader
/// fails and the session reconnects (the broker redelivers whatever was not acknowledged). Past 1 MiB unsent,
/// writers wait for the flusher.</item>
/// </list>
/// One reader at a time (MQTTnet has one receive loop); any number of writers.
/// </summary>
public sealed class BatchingSocketStream : Stream, IMqttClientStreamEndPoints
{
    private const int MaxUnsent = 1 << 20;

    private readonly Socket _socket;
    private readonly byte[] _readBuffer = new byte[64 * 1024];
    private readonly Lock _gate = new();
    private int _readStart;
    private int _readEnd;
    private byte[] _pending = new byte[8 * 1024];
    private int _pendingLength;
    private byte[] _sending = new byte[8 * 1024];
    private bool _flushing;
    private bool _disposed;
    private Exception? _error;
    private TaskCompletionSource? _drained;

    public BatchingSocketStream(Socket socket)
    {
        _socket = socket;
        LocalEndPoint = socket.LocalEndPoint!;
        RemoteEndPoint = socket.RemoteEndPoint!;
    }

    public EndPoint LocalEndPoint { get; }

    public EndPoint RemoteEndPoint { get; }

    /// <summary>Socket sends made so far (for tests: acknowledgements are batched).</summary>
    public long Sends { get; private set; }

    public override bool CanRead => !_disposed;

    public override bool CanWrite => !_disposed;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_readStart == _readEnd)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(_readBuffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                // As NetworkStream reports it, which is what MQTTnet and SslStream expect.
                throw new IOException($"receive failed: {ex.Message}", ex);
            }

            if (n == 0)
            {
                return 0;
            }

            _readStart = 0;
            _readEnd = n;
        }

        var count = Math.Min(buffer.Length, _readEnd - _readStart);
        _readBuffer.AsSpan(_readStart, count).CopyTo(buffer.Span);
        _readStart += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_error is { } error)
            {
                return ValueTask.FromException(new IOException($"send failed: {error.Message}", error));
            }

            if (_disposed)
            {
                return ValueTask.FromException(new ObjectDisposedException(nameof(BatchingSocketStream)));
            }

            if (_pendingLength + buffer.Length > _pending.Length)
            {
                Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + buffer.Length));
            }

            buffer.Span.CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += buffer.Length;
            if (!_flushing)
            {
                // On the thread pool, not inline: the caller usually has more to write right away (a loop of
                // acknowledgements), and all of it should go in this send.
                _flushing = true;
                ThreadPool.UnsafeQueueUserWorkItem(static s => _ = s.FlushLoopAsync(), this, preferLocal: false);
            }

            if (_pendingLength < MaxUnsent)
            {
                return ValueTask.CompletedTask;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return new ValueTask(_drained.Task.WaitAsync(cancellationToken));
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Waits until everything written so far has been handed to the socket.</summary>
    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        Task wait;
        lock (_gate)
        {
            if (!_flushing)
            {
                return;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _drained.Task;
        }

        await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    private async Task FlushLoopAsync()
    {
        while (TakePending(out var buffer, out var length))
        {
            try
            {
                for (var sent = 0; sent < length;)
                {
                    sent += await _socket.SendAsync(buffer.AsMemory(sent, length - sent), SocketFlags.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                TaskCompletionSource? drained;
                lock (_gate)
                {
                    _error = ex;
                    _flushing = false;
                    (drained, _drained) = (_drained, null);
                }

                // The reader fails next, and the session reconnects.
                _socket.Dispose();
                drained?.TrySetException(new IOException($"send failed: {ex.Message}", ex));
                return;
            }
        }
    }

    /// <summary>Swaps out everything written so far for sending; false (and the flusher stops) when there is nothing.</summary>
    private bool TakePending(out byte[] buffer, out int length)
    {
        TaskCompletionSource? drained;
        lock (_gate)
        {
            if (_pendingLength > 0 && _error is null)
            {
                (_pending, _sending) = (_sending, _pending);
                buffer = _sending;
                length = _pendingLength;
                _pendingLength = 0;
                Sends++;
                return true;
            }

            _flushing = false;
            (drained, _drained) = (_drained, null);
            if (_disposed)
            {
                _socket.Dispose();
            }
        }

        drained?.TrySetResult();
        buffer = [];
        length = 0;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                if (_flushing)
                {
                    // The flusher sends what is left (e.g. a DISCONNECT) and then closes the socket; a send stuck on
                    // a peer that reads nothing more is cut short.
                    _ = Task.Delay(TimeSpan.FromSeconds(2)).ContinueWith(_ => _socket.Dispose(), TaskScheduler.Default);
                    return;
                }

                if (_pendingLength > 0 && _error is null)
                {
                    try
                    {
                        _socket.Send(_pending.AsSpan(0, _pendingLength));
                    }
                    catch (SocketException)
                    {
                    }
                }
            }

            _socket.Dispose();
        }

        base.Dispose(disposing);
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
