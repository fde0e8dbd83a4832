namespace IoTPilots.Edge.Modbus;

/// <summary>
/// Carries one request PDU to a unit and returns its response PDU. Framing (MBAP for TCP, address and CRC
/// for RTU), timeouts and reconnects are the transport's business; the client only sees PDUs.
/// Implementations serialize transactions: a bus carries one at a time.
/// </summary>
public interface IModbusTransport : IAsyncDisposable
{
    /// <summary>A name for logs and errors, e.g. <c>modbus-tcp://10.0.0.5:502</c>.</summary>
    string Endpoint { get; }

    /// <exception cref="ModbusTimeoutException">No answer in time.</exception>
    /// <exception cref="ModbusFrameException">The answer was not a valid frame.</exception>
    /// <exception cref="IOException">The link is down.</exception>
    Task<byte[]> SendAsync(byte unitId, byte[] requestPdu, CancellationToken cancellationToken);
}
