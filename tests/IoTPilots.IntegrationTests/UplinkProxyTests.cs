using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The simulator's uplink relay as a slow link: a round trip costs at least twice the one-way delay, bytes
/// arrive complete and in order, and it is a latency line (several chunks in the air at once), not stop-and-wait.
/// </summary>
public sealed class UplinkProxyTests : IAsyncDisposable
{
    private readonly TcpListener _upstream = new(IPAddress.Loopback, 0);

    public UplinkProxyTests() => _upstream.Start();

    private int UpstreamPort => ((IPEndPoint)_upstream.LocalEndpoint).Port;

    public ValueTask DisposeAsync()
    {
        _upstream.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Both ends of one connection through the relay: the client's and the upstream server's.</summary>
    private sealed record Link(NetworkStream Client, NetworkStream Server, TcpClient ClientSocket, TcpClient ServerSocket) : IDisposable
    {
        public void Dispose()
        {
            ClientSocket.Dispose();
            ServerSocket.Dispose();
        }
    }

    private async Task<Link> ConnectAsync(UplinkProxy proxy)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, proxy.Port);
        // The relay dials upstream once it has accepted the client.
        var server = await _upstream.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(10));
        server.NoDelay = true;
        return new Link(client.GetStream(), server.GetStream(), client, server);
    }

    private static async Task<byte[]> ReadExactlyAsync(NetworkStream stream, int count)
    {
        var buffer = new byte[count];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await stream.ReadExactlyAsync(buffer, limit.Token);
        return buffer;
    }

    [Fact]
    public async Task A_round_trip_through_the_relay_takes_at_least_twice_the_one_way_delay()
    {
        await using var proxy = new UplinkProxy("gw-test", IPAddress.Loopback, "127.0.0.1", UpstreamPort) { OneWayDelay = TimeSpan.FromMilliseconds(100) };
        using var link = await ConnectAsync(proxy);
        _ = link.Server.CopyToAsync(link.Server);

        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            await link.Client.WriteAsync(new[] { (byte)i });
            var back = await ReadExactlyAsync(link.Client, 1);
            clock.Stop();

            Assert.Equal(i, back[0]);
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(200), $"round trip {i} took {clock.Elapsed.TotalMilliseconds:0} ms, under twice the 100 ms one-way delay");
        }
    }

    [Fact]
    public async Task A_megabyte_written_in_uneven_chunks_comes_back_complete_and_in_order()
    {
        await using var proxy = new UplinkProxy("gw-test", IPAddress.Loopback, "127.0.0.1", UpstreamPort) { OneWayDelay = TimeSpan.FromMilliseconds(20) };
        using var link = await ConnectAsync(proxy);
        _ = link.Server.CopyToAsync(link.Server);
        var sent = new byte[1 << 20];
        new Random(9).NextBytes(sent);

        // Written without waiting for anything to come back: the relay holds many chunks in the air at once.
        var reading = ReadExactlyAsync(link.Client, sent.Length);
        var random = new Random(10);
        for (var offset = 0; offset < sent.Length;)
        {
            var size = Math.Min(random.Next(1, 8192), sent.Length - offset);
            await link.Client.WriteAsync(sent.AsMemory(offset, size));
            offset += size;
        }

        Assert.Equal(sent, await reading);
        await Eventually.TrueAsync(() => Task.FromResult(proxy.BytesInFlight == 0), TimeSpan.FromSeconds(10), "nothing left in the air");
    }

    [Fact]
    public async Task A_second_chunk_enters_the_line_while_the_first_is_in_the_air_and_both_leave_when_due_in_order()
    {
        // A fake clock: the relay's timers move only when the test says, so "not yet due" is exact.
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var proxy = new UplinkProxy("gw-test", IPAddress.Loopback, "127.0.0.1", UpstreamPort, time) { OneWayDelay = TimeSpan.FromSeconds(1) };
        using var link = await ConnectAsync(proxy);

        await link.Client.WriteAsync("a"u8.ToArray());
        await Eventually.TrueAsync(() => Task.FromResult(proxy.BytesInFlight == 1), TimeSpan.FromSeconds(10), "the first chunk in the air");
        time.Advance(TimeSpan.FromMilliseconds(500));
        await link.Client.WriteAsync("b"u8.ToArray());

        // Stop-and-wait would not read "b" before "a" had left; a latency line holds both.
        await Eventually.TrueAsync(() => Task.FromResult(proxy.BytesInFlight == 2), TimeSpan.FromSeconds(10), "both chunks in the air at once");
        Assert.Equal(0, link.ServerSocket.Available);

        // At 1.5 s both are due ("a" at 1 s, "b" at 1.5 s).
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("ab"u8.ToArray(), await ReadExactlyAsync(link.Server, 2));
        await Eventually.TrueAsync(() => Task.FromResult(proxy.BytesInFlight == 0), TimeSpan.FromSeconds(10), "nothing left in the air");
    }
}
