using IoTPilots.Edge.Modbus;
using IoTPilots.FirmwareSim;

namespace IoTPilots.Testing;

/// <summary>An in-memory bus: units are <see cref="ModbusSlave"/>s; a unit missing from the map never answers.</summary>
public sealed class SlaveTransport : IModbusTransport
{
    public Dictionary<byte, ModbusSlave> Units { get; } = [];

    public int Requests { get; private set; }

    public string Endpoint => "memory://bus";

    public Task<byte[]> SendAsync(byte unitId, byte[] requestPdu, CancellationToken cancellationToken)
    {
        Requests++;
        return Units.TryGetValue(unitId, out var slave)
            ? Task.FromResult(slave.Handle(requestPdu))
            : Task.FromException<byte[]>(new ModbusTimeoutException($"unit {unitId} did not answer"));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Two serial lines wired to each other in memory, like a null-modem cable or an RS-485 pair.</summary>
public sealed class SerialPipe : IoTPilots.Edge.Serial.ISerialLine
{
    private readonly System.Threading.Channels.Channel<byte> _inbox = System.Threading.Channels.Channel.CreateUnbounded<byte>();
    private SerialPipe? _peer;

    private SerialPipe(string name, int baud)
    {
        Name = name;
        BaudRate = baud;
    }

    public string Name { get; }

    public int BaudRate { get; }

    public int BitsPerCharacter => 10;

    /// <summary>When set, every byte written is passed through this before it reaches the peer (fault injection).</summary>
    public Func<byte[], byte[]>? Tamper { get; set; }

    public static (SerialPipe Master, SerialPipe Device) CreatePair(int baud = 9600)
    {
        var a = new SerialPipe("pipe-master", baud);
        var b = new SerialPipe("pipe-device", baud);
        (a._peer, b._peer) = (b, a);
        return (a, b);
    }

    public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var bytes = Tamper is { } t ? t(data.ToArray()) : data.ToArray();
        foreach (var b in bytes)
        {
            _peer!._inbox.Writer.TryWrite(b);
        }

        return Task.CompletedTask;
    }

    public async Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _inbox.Reader.WaitToReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return 0;
        }

        var n = 0;
        while (n < buffer.Length && _inbox.Reader.TryRead(out var b))
        {
            buffer.Span[n++] = b;
        }

        return n;
    }

    public void DiscardInput()
    {
        while (_inbox.Reader.TryRead(out _))
        {
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
