using IoTPilots.Edge.Serial;

namespace IoTPilots.UnitTests.Serial;

public sealed class ReopeningSerialLineTests
{
    /// <summary>A port whose device can vanish: every operation then fails as a real unplugged adapter's does.</summary>
    private sealed class Port : ISerialLine
    {
        public bool Unplugged { get; set; }

        public bool Disposed { get; private set; }

        public List<byte[]> Written { get; } = [];

        public string Name => "/dev/ttyUSB0";

        public int BaudRate => 9600;

        public int BitsPerCharacter => 10;

        public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            Check();
            Written.Add(data.ToArray());
            return Task.CompletedTask;
        }

        public Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
        {
            Check();
            buffer.Span[0] = 0x42;
            return Task.FromResult(1);
        }

        public void DiscardInput() => Check();

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }

        private void Check()
        {
            if (Unplugged)
            {
                throw new IOException("/dev/ttyUSB0: write failed: Input/output error");
            }
        }
    }

    private sealed class Adapter
    {
        public bool Present { get; set; }

        public List<Port> Ports { get; } = [];

        public ISerialLine Open()
        {
            if (!Present)
            {
                throw new IOException("/dev/ttyUSB0: cannot open serial port at 9600 8N1: no such device");
            }

            Ports.Add(new Port());
            return Ports[^1];
        }
    }

    [Fact]
    public async Task A_missing_adapter_fails_each_use_with_the_device_named_until_it_appears()
    {
        var adapter = new Adapter();
        await using var line = new ReopeningSerialLine("/dev/ttyUSB0", 9600, 10, adapter.Open);

        line.DiscardInput();
        var missing = await Assert.ThrowsAsync<IOException>(() => line.WriteAsync(new byte[] { 1 }, default));
        adapter.Present = true;
        await line.WriteAsync(new byte[] { 2 }, default);

        Assert.Contains("/dev/ttyUSB0", missing.Message, StringComparison.Ordinal);
        Assert.Equal((1, true), (line.Opens, line.IsOpen));
        Assert.Equal([2], Assert.Single(Assert.Single(adapter.Ports).Written));
    }

    [Fact]
    public async Task An_io_error_closes_the_port_and_the_next_use_opens_it_again()
    {
        var adapter = new Adapter { Present = true };
        await using var line = new ReopeningSerialLine("/dev/ttyUSB0", 9600, 10, adapter.Open);
        await line.WriteAsync(new byte[] { 1 }, default);

        adapter.Ports[0].Unplugged = true;
        await Assert.ThrowsAsync<IOException>(() => line.ReadAsync(new byte[4], TimeSpan.FromSeconds(1), default));
        var closed = !line.IsOpen;
        var n = await line.ReadAsync(new byte[4], TimeSpan.FromSeconds(1), default);

        Assert.True(closed);
        Assert.True(adapter.Ports[0].Disposed);
        Assert.Equal((1, 2), (n, line.Opens));
    }

    [Fact]
    public async Task Disposing_closes_the_open_port_and_refuses_further_use()
    {
        var adapter = new Adapter { Present = true };
        var line = new ReopeningSerialLine("/dev/ttyUSB0", 9600, 10, adapter.Open);
        await line.WriteAsync(new byte[] { 1 }, default);

        await line.DisposeAsync();

        Assert.True(adapter.Ports[0].Disposed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => line.WriteAsync(new byte[] { 1 }, default));
    }
}
