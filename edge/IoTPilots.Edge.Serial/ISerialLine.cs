namespace IoTPilots.Edge.Serial;

/// <summary>
/// A byte stream over a serial line (RS-485, RS-232/UART, or a pseudo-terminal in tests and simulators).
/// Protocol code (Modbus RTU, Atlas EZO) depends only on this; System.IO.Ports stays in one adapter.
/// </summary>
public interface ISerialLine : IAsyncDisposable
{
    /// <summary>The device path, e.g. <c>/dev/ttyUSB0</c>, for logs and errors.</summary>
    string Name { get; }

    /// <summary>Bits per second; framing code derives character times from it.</summary>
    int BaudRate { get; }

    /// <summary>Bits per character on the wire: start + data + parity + stop (11 for 8E1, 10 for 8N1).</summary>
    int BitsPerCharacter { get; }

    Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// Reads whatever has arrived, waiting up to <paramref name="timeout"/> for the first byte.
    /// Returns 0 when nothing arrived in time (silence on the line).
    /// </summary>
    Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Drops bytes already received, e.g. a late answer to a request that timed out.</summary>
    void DiscardInput();
}
