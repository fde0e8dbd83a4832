using System.Diagnostics;
using Ports = System.IO.Ports;

namespace IoTPilots.Edge.Serial;

/// <summary>
/// The one adapter over System.IO.Ports: a UART, USB serial adapter or pseudo-terminal slave as an
/// <see cref="ISerialLine"/>. Every error names the device path.
/// </summary>
public sealed class SerialPortLine : ISerialLine
{
    // How often ReadAsync looks for the first byte. 5 ms is half a character at 9600 baud plus scheduling slack,
    // and far below any protocol timeout this project uses.
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    private readonly Ports.SerialPort _port;
    private readonly string _settings;
    private int _disposed;

    /// <summary>Opens the port; throws <see cref="IOException"/> naming the path when it cannot.</summary>
    public SerialPortLine(string path, int baudRate, Parity parity, int dataBits, StopBits stopBits)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(baudRate);
        Name = path;
        BaudRate = baudRate;
        BitsPerCharacter = SerialFraming.BitsPerCharacter(dataBits, parity, stopBits);
        _settings = SerialFraming.Describe(baudRate, dataBits, parity, stopBits);
        _port = new Ports.SerialPort(path, baudRate, ToPorts(parity), dataBits, ToPorts(stopBits))
        {
            // EZO and Modbus RTU links use no flow control; adapters that switch RS-485 direction do it themselves.
            Handshake = Ports.Handshake.None,
        };
        try
        {
            _port.Open();
        }
        catch (UnauthorizedAccessException ex)
        {
            // On Unix, System.IO.Ports reports every failed open (missing device, EACCES, not a tty, port held
            // exclusively) as "access denied"; say what can be told apart.
            _port.Dispose();
            var why = File.Exists(path)
                ? "access denied, not a serial device, or held by another process (is the user in the 'dialout' group?)"
                : "no such device";
            throw new IOException($"{path}: cannot open serial port at {_settings}: {why}", ex);
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or InvalidOperationException)
        {
            _port.Dispose();
            throw new IOException($"{path}: cannot open serial port at {_settings}: {ex.Message}", ex);
        }
    }

    public string Name { get; }

    public int BaudRate { get; }

    public int BitsPerCharacter { get; }

    public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            await _port.BaseStream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or TimeoutException)
        {
            throw new IOException($"{Name}: write of {data.Length} bytes failed: {ex.Message}", ex);
        }
    }

    public async Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        // A cancelled SerialStream.ReadAsync on Unix can still read bytes into the request it just abandoned
        // (its I/O loop checks for cancellation, then reads), losing them. So a read is never cancelled here:
        // wait until the driver reports bytes waiting (FIONREAD), then read only those, which completes at once.
        var clock = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                var available = _port.BytesToRead;
                if (available > 0)
                {
                    var n = Math.Min(available, buffer.Length);
                    return await _port.BaseStream.ReadAsync(buffer[..n], CancellationToken.None).ConfigureAwait(false);
                }

                var remaining = timeout - clock.Elapsed;
                if (remaining <= TimeSpan.Zero)
                {
                    return 0;
                }

                await Task.Delay(remaining < PollInterval ? remaining : PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or TimeoutException)
        {
            throw new IOException($"{Name}: read failed: {ex.Message}", ex);
        }
    }

    public void DiscardInput()
    {
        try
        {
            _port.DiscardInBuffer();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            throw new IOException($"{Name}: cannot discard input: {ex.Message}", ex);
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _port.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    public override string ToString() => $"{Name} {_settings}";

    private static Ports.Parity ToPorts(Parity parity) => parity switch
    {
        Parity.None => Ports.Parity.None,
        Parity.Odd => Ports.Parity.Odd,
        Parity.Even => Ports.Parity.Even,
        Parity.Mark => Ports.Parity.Mark,
        Parity.Space => Ports.Parity.Space,
        _ => throw new ArgumentOutOfRangeException(nameof(parity), parity, null),
    };

    private static Ports.StopBits ToPorts(StopBits stopBits) => stopBits switch
    {
        StopBits.One => Ports.StopBits.One,
        StopBits.OnePointFive => Ports.StopBits.OnePointFive,
        StopBits.Two => Ports.StopBits.Two,
        _ => throw new ArgumentOutOfRangeException(nameof(stopBits), stopBits, null),
    };
}
