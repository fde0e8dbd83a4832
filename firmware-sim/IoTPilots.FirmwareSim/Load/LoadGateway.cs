using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using IoTPilots.Mqtt;

namespace IoTPilots.FirmwareSim.Load;

/// <summary>
/// One simulated gateway's MQTT 3.1.1 connection that only publishes at QoS 1 (OASIS MQTT 3.1.1, sections 3.1
/// CONNECT, 3.3 PUBLISH, 3.4 PUBACK). Written on the socket directly rather than through MQTTnet so that the load
/// generator costs the shared CPUs as little as possible: publishes are encoded into one buffer and flushed
/// every pacing step, and a reader counts PUBACKs. At most <c>window</c> publishes wait for their PUBACK, so a
/// broker that falls behind slows the sender instead of being flooded. Clean session, keep-alive off (the
/// broker then never drops it for silence).
/// </summary>
internal sealed class LoadGateway : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _window;
    private byte[] _pending = new byte[64 * 1024];
    private int _pendingLength;
    private byte[] _scratch = [];
    private readonly Task _reader;
    private ushort _nextId;
    private long _sent;
    private long _acked;

    private LoadGateway(TcpClient tcp, int window)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
        _window = new SemaphoreSlim(window, window);
        _reader = Task.Run(ReadAcksAsync);
    }

    public long Sent => Interlocked.Read(ref _sent);

    public long Acked => Interlocked.Read(ref _acked);

    public static async Task<LoadGateway> ConnectAsync(MqttEndpoint broker, string clientId, int window, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(broker.Host, broker.Port, cancellationToken).ConfigureAwait(false);
            var stream = tcp.GetStream();
            var id = Encoding.UTF8.GetBytes(clientId);
            var user = broker.Username is null ? [] : Encoding.UTF8.GetBytes(broker.Username);
            var password = broker.Password is null ? [] : Encoding.UTF8.GetBytes(broker.Password);
            using var body = new MemoryStream();
            WriteString(body, "MQTT"u8);
            body.WriteByte(4); // protocol level 4 = 3.1.1
            byte flags = 0x02; // clean session
            if (broker.Username is not null)
            {
                flags |= 0x80 | 0x40;
            }

            body.WriteByte(flags);
            body.WriteByte(0); // keep-alive 0: off
            body.WriteByte(0);
            WriteString(body, id);
            if (broker.Username is not null)
            {
                WriteString(body, user);
                WriteString(body, password);
            }

            using var packet = new MemoryStream();
            WriteHeader(packet, 0x10, (int)body.Length);
            body.WriteTo(packet);
            await stream.WriteAsync(packet.ToArray(), cancellationToken).ConfigureAwait(false);
            var connack = new byte[4];
            await stream.ReadExactlyAsync(connack, cancellationToken).ConfigureAwait(false);
            if (connack[0] != 0x20 || connack[3] != 0)
            {
                throw new InvalidDataException($"broker refused the connection of {clientId} (CONNACK code {connack[3]})");
            }

            return new LoadGateway(tcp, window);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Encodes message <paramref name="seq"/> of <paramref name="gateway"/> as one QoS 1 publish into the pending
    /// buffer (no allocation per message); waits while the window is full (flushing first).
    /// </summary>
    public async ValueTask PublishAsync(LoadPayloads payloads, string gateway, long seq, CancellationToken cancellationToken)
    {
        if (!_window.Wait(0))
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        _nextId = (ushort)(_nextId == ushort.MaxValue ? 1 : _nextId + 1);
        var topic = payloads.Topic(gateway, seq);
        if (_scratch.Length < payloads.MaxBytes)
        {
            _scratch = new byte[payloads.MaxBytes];
        }

        var length = payloads.Write(gateway, seq, _scratch);
        var remaining = 2 + topic.Length + 2 + length;
        Reserve(5 + remaining);
        _pendingLength = WriteHeader(_pending, _pendingLength, 0x32, remaining); // PUBLISH, QoS 1
        BinaryPrimitives.WriteUInt16BigEndian(_pending.AsSpan(_pendingLength), (ushort)topic.Length);
        topic.CopyTo(_pending, _pendingLength + 2);
        _pendingLength += 2 + topic.Length;
        BinaryPrimitives.WriteUInt16BigEndian(_pending.AsSpan(_pendingLength), _nextId);
        _pendingLength += 2;
        _scratch.AsSpan(0, length).CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += length;
        Interlocked.Increment(ref _sent);
    }

    private void Reserve(int bytes)
    {
        if (_pendingLength + bytes > _pending.Length)
        {
            Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + bytes));
        }
    }

    /// <summary>Sends what the pending buffer holds, in one socket write.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_pendingLength == 0)
        {
            return;
        }

        await _stream.WriteAsync(_pending.AsMemory(0, _pendingLength), cancellationToken).ConfigureAwait(false);
        _pendingLength = 0;
    }

    private async Task ReadAcksAsync()
    {
        var buffer = new byte[64 * 1024];
        var have = 0;
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer.AsMemory(have)).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                have += n;
                var at = 0;
                // PUBACK is always 4 bytes: 0x40, length 2, packet id. Nothing else comes to a publisher.
                while (have - at >= 4)
                {
                    if (buffer[at] != 0x40 || buffer[at + 1] != 2)
                    {
                        throw new InvalidDataException($"unexpected MQTT packet 0x{buffer[at]:X2} from the broker");
                    }

                    at += 4;
                }

                // One release per read, not per PUBACK: a read carries hundreds of them under load.
                if (at > 0)
                {
                    Interlocked.Add(ref _acked, at / 4);
                    _window.Release(at / 4);
                }

                Buffer.BlockCopy(buffer, at, buffer, 0, have - at);
                have -= at;
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or SemaphoreFullException)
        {
        }
    }

    private static void WriteHeader(Stream s, byte type, int remaining)
    {
        s.WriteByte(type);
        // Remaining length: 7 bits per byte, high bit = more (MQTT 3.1.1, 2.2.3).
        do
        {
            var b = (byte)(remaining % 128);
            remaining /= 128;
            s.WriteByte(remaining > 0 ? (byte)(b | 0x80) : b);
        }
        while (remaining > 0);
    }

    /// <summary>The fixed header into a buffer at <paramref name="at"/>; returns the position after it.</summary>
    private static int WriteHeader(byte[] buffer, int at, byte type, int remaining)
    {
        buffer[at++] = type;
        do
        {
            var b = (byte)(remaining % 128);
            remaining /= 128;
            buffer[at++] = remaining > 0 ? (byte)(b | 0x80) : b;
        }
        while (remaining > 0);
        return at;
    }

    private static void WriteString(Stream s, ReadOnlySpan<byte> value)
    {
        s.WriteByte((byte)(value.Length >> 8));
        s.WriteByte((byte)value.Length);
        s.Write(value);
    }

    /// <summary>
    /// Waits, up to <paramref name="bound"/>, until the broker has acknowledged every publish sent. Closing before
    /// that loses messages the generator counted as sent: a socket closed with unread PUBACKs in its receive buffer
    /// is reset (RFC 1122, 4.2.2.13), and the reset makes the broker's kernel drop whatever publishes it had not yet
    /// read. One fresh-clone test run lost 510 of 66,000 that way.
    /// </summary>
    public async Task DrainAsync(TimeSpan bound)
    {
        var until = DateTime.UtcNow + bound;
        while (Acked < Sent && DateTime.UtcNow < until && !_reader.IsCompleted)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// DISCONNECT, then a half-close, then the broker's own close read to the end: an orderly shutdown, so nothing
    /// written is reset away (see <see cref="DrainAsync"/>).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _stream.WriteAsync(new byte[] { 0xE0, 0 }).ConfigureAwait(false); // DISCONNECT
            _tcp.Client.Shutdown(SocketShutdown.Send);
            await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or TimeoutException)
        {
        }

        _tcp.Dispose();
        await _reader.ConfigureAwait(false);
        _window.Dispose();
    }
}
