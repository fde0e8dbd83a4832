using IoTPilots.Edge.Serial;
using IoTPilots.FirmwareSim.Serial;

namespace IoTPilots.IntegrationTests.Serial;

/// <summary>SerialPortLine on a real Linux pseudo-terminal: the cable the EZO tests and simulators use.</summary>
public sealed class PseudoTerminalTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Every_byte_value_crosses_unchanged_both_ways_at_9600_8N1()
    {
        // Raw mode: no CR/NL translation, no echo, no XON/XOFF (0x11, 0x13), no signal characters (0x03).
        await using var pty = PseudoTerminal.Open();
        await using var port = new SerialPortLine(pty.SlavePath, 9600, Parity.None, 8, StopBits.One);
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

        await port.WriteAsync(all, CancellationToken.None);
        var atDevice = await ReadExactlyAsync(pty.Master, all.Length);
        await pty.Master.WriteAsync(all, CancellationToken.None);
        var atHost = await ReadExactlyAsync(port, all.Length);

        Assert.Equal(all, atDevice);
        Assert.Equal(all, atHost);
        Assert.Equal(10, port.BitsPerCharacter);
        Assert.Equal(9600, port.BaudRate);
        Assert.Equal(pty.SlavePath, port.Name);
    }

    [Fact]
    public async Task Nothing_echoes_back_to_the_sender()
    {
        await using var pty = PseudoTerminal.Open();
        await using var port = new SerialPortLine(pty.SlavePath, 9600, Parity.None, 8, StopBits.One);

        await port.WriteAsync("R\r"u8.ToArray(), CancellationToken.None);
        Assert.Equal("R\r"u8.ToArray(), await ReadExactlyAsync(pty.Master, 2));

        Assert.Equal(0, await port.ReadAsync(new byte[16], TimeSpan.FromMilliseconds(200), CancellationToken.None));
    }

    [Fact]
    public async Task Serial_side_can_close_and_reopen_while_the_device_side_stays()
    {
        await using var pty = PseudoTerminal.Open();
        var first = new SerialPortLine(pty.SlavePath, 9600, Parity.None, 8, StopBits.One);
        await first.DisposeAsync();

        // Without the pair's own slave descriptor, the master would now read EIO (hang-up).
        Assert.Equal(0, await pty.Master.ReadAsync(new byte[16], TimeSpan.FromMilliseconds(100), CancellationToken.None));
        await using var second = new SerialPortLine(pty.SlavePath, 9600, Parity.None, 8, StopBits.One);
        await pty.Master.WriteAsync("*RE\r"u8.ToArray(), CancellationToken.None);

        Assert.Equal("*RE\r"u8.ToArray(), await ReadExactlyAsync(second, 4));
    }

    [Fact]
    public void Missing_device_is_an_error_naming_the_path()
    {
        var ex = Assert.Throws<IOException>(() => new SerialPortLine("/dev/ttyNOPE9", 9600, Parity.None, 8, StopBits.One));

        Assert.Equal("/dev/ttyNOPE9: cannot open serial port at 9600 8N1: no such device", ex.Message);
    }

    private static async Task<byte[]> ReadExactlyAsync(ISerialLine line, int count)
    {
        var received = new List<byte>();
        var buffer = new byte[512];
        while (received.Count < count)
        {
            var n = await line.ReadAsync(buffer, Patience, CancellationToken.None);
            if (n == 0)
            {
                throw new TimeoutException($"{line.Name}: {received.Count} of {count} bytes after {Patience.TotalSeconds:0} s of silence");
            }

            received.AddRange(buffer.AsSpan(0, n));
        }

        return [.. received];
    }
}
