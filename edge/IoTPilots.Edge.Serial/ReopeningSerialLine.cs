namespace IoTPilots.Edge.Serial;

/// <summary>
/// A serial line that outlives its device. It opens the port on first use, not at construction, so a USB RS-485
/// adapter missing when the agent starts fails only the devices behind it. After an I/O error it closes the
/// port and opens it afresh on the next use: an adapter unplugged and plugged back in re-enumerates, and a
/// handle opened before that would keep failing forever.
/// </summary>
/// <remarks>
/// <c>open</c> throws an <see cref="IOException"/> naming the device when it cannot (as
/// <see cref="SerialPortLine"/> does); that and every I/O failure reach the caller, whose pollers turn into comm-failure
/// readings; their own backoff paces the attempts to reopen. Callers serialize use of one line (the RTU
/// transport's lock, one EZO probe per UART), as for any <see cref="ISerialLine"/>.
/// </remarks>
public sealed class ReopeningSerialLine(string name, int baudRate, int bitsPerCharacter, Func<ISerialLine> open) : ISerialLine
{
    private ISerialLine? _line;
    private int _disposed;

    public string Name { get; } = name;

    public int BaudRate { get; } = baudRate;

    public int BitsPerCharacter { get; } = bitsPerCharacter;

    /// <summary>True while a port is open.</summary>
    public bool IsOpen => Volatile.Read(ref _line) is not null;

    /// <summary>How many times the port was opened; more than once means it was lost and found again.</summary>
    public int Opens { get; private set; }

    public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var line = Current();
        try
        {
            await line.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            await DropAsync(line).ConfigureAwait(false);
            throw;
        }
    }

    public async Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var line = Current();
        try
        {
            return await line.ReadAsync(buffer, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            await DropAsync(line).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Discards what the open port holds; with no port open there is nothing to discard.</summary>
    public void DiscardInput()
    {
        if (Volatile.Read(ref _line) is not { } line)
        {
            return;
        }

        try
        {
            line.DiscardInput();
        }
        catch (IOException)
        {
            DropAsync(line).AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        return Interlocked.Exchange(ref _line, null) is { } line ? line.DisposeAsync() : ValueTask.CompletedTask;
    }

    public override string ToString() => Name;

    private ISerialLine Current()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Volatile.Read(ref _line) is { } line)
        {
            return line;
        }

        line = open();
        Opens++;
        Volatile.Write(ref _line, line);
        return line;
    }

    private ValueTask DropAsync(ISerialLine line) =>
        Interlocked.CompareExchange(ref _line, null, line) == line ? line.DisposeAsync() : ValueTask.CompletedTask;
}
