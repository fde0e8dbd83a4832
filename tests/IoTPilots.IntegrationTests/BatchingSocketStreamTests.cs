using System.Net;
using System.Net.Sockets;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The subscriber's socket stream on real loopback sockets: bytes arrive whole and in order whatever the read sizes,
/// writes made in a burst leave in few sends, a failed send surfaces as an IOException, and what was written before
/// the stream is disposed (a DISCONNECT) still reaches the peer.
/// </summary>
public sealed class BatchingSocketStreamTests
{
    private static async Task<(BatchingSocketStream Stream, Socket Peer)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var accept = listener.AcceptAsync();
        var stream = (BatchingSocketStream)await new BatchingStreamProvider(1 << 20).ConnectAsync(listener.LocalEndPoint!, CancellationToken.None);
        return (stream, await accept);
    }

    private static async Task<byte[]> ReceiveAsync(Socket peer, int count)
    {
        var received = new byte[count];
        for (var at = 0; at < count;)
        {
            var n = await peer.ReceiveAsync(received.AsMemory(at), SocketFlags.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(n > 0, $"the peer saw the connection close after {at} of {count} bytes");
            at += n;
        }

        return received;
    }

    [Fact]
    public async Task Reads_of_any_size_return_the_bytes_in_order()
    {
        var (stream, peer) = await PairAsync();
        using var _ = peer;
        await using var __ = stream;
        var sent = Enumerable.Range(0, 200_000).Select(i => (byte)(i * 7)).ToArray();
        await peer.SendAsync(sent, SocketFlags.None);

        var got = new List<byte>();
        var sizes = new[] { 1, 2, 3, 4096, 100_000 };
        for (var i = 0; got.Count < sent.Length; i++)
        {
            var buffer = new byte[sizes[i % sizes.Length]];
            var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(n > 0);
            got.AddRange(buffer.AsSpan(0, n).ToArray());
        }

        Assert.Equal(sent, got);
    }

    [Fact]
    public async Task A_burst_of_small_writes_arrives_whole_in_few_sends()
    {
        var (stream, peer) = await PairAsync();
        using var _ = peer;
        await using var __ = stream;

        // 5000 PUBACK-sized writes, as the ingestion acknowledges a batch.
        for (var i = 0; i < 5000; i++)
        {
            await stream.WriteAsync(new byte[] { 0x40, 2, (byte)(i >> 8), (byte)i });
        }

        var received = await ReceiveAsync(peer, 5000 * 4);
        for (var i = 0; i < 5000; i++)
        {
            Assert.Equal(new byte[] { 0x40, 2, (byte)(i >> 8), (byte)i }, received.AsSpan(i * 4, 4).ToArray());
        }

        // Far fewer sends than writes: one full run on a busy box made 125 (a quiet one under 100), so the bound
        // leaves room for the scheduler and still fails a stream that sends each write on its own.
        Assert.True(stream.Sends < 1000, $"{stream.Sends} sends for 5000 writes");
    }

    [Fact]
    public async Task What_was_written_before_dispose_reaches_the_peer()
    {
        var (stream, peer) = await PairAsync();
        using var _ = peer;

        await stream.WriteAsync(new byte[] { 0xE0, 0 }); // MQTT DISCONNECT
        await stream.DisposeAsync();

        Assert.Equal(new byte[] { 0xE0, 0 }, await ReceiveAsync(peer, 2));
        Assert.Equal(0, await peer.ReceiveAsync(new byte[1], SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_peer_that_is_gone_makes_writes_fail_and_reads_end()
    {
        var (stream, peer) = await PairAsync();
        await using var _ = stream;
        peer.LingerState = new LingerOption(true, 0); // close with a reset
        peer.Dispose();

        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await stream.WriteAsync(new byte[64 * 1024]);
                await stream.FlushAsync();
                return false;
            }
            catch (IOException)
            {
                return true;
            }
        }, TimeSpan.FromSeconds(10), "a write to a reset connection fails");
        var read = await Record.ExceptionAsync(async () => Assert.Equal(0, await stream.ReadAsync(new byte[16])));
        Assert.True(read is null or IOException or ObjectDisposedException, $"read ended with {read}");
    }
}
