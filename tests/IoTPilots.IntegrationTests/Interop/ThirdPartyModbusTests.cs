using System.Net;
using System.Net.Sockets;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Probe;
using IoTPilots.Edge.Serial;
using IoTPilots.FirmwareSim;
using IoTPilots.FirmwareSim.Serial;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Testing;

namespace IoTPilots.IntegrationTests.Interop;

/// <summary>
/// Our Modbus stack against implementations we did not write, so a shared misreading of the specification cannot
/// pass unnoticed: pymodbus as the slave for our master (probe), mbpoll as the master for our slave (simulators).
/// Both come from Debian (python3-pymodbus, mbpoll), which './run test' installs; there PILOTS_INTEROP_REQUIRED=1
/// turns a missing tool into a failure instead of a skip.
/// </summary>
public sealed class ThirdPartyModbusTests
{
    private const string Python = "/usr/bin/python3";

    // 123456.0 is 0x47F12000 [docs/domain.md section 4]: ABCD at 100, CDAB at 102; -1234 is 0xFB2E.
    private static readonly string[] Registers = ["--holding", "100=0x47F1,0x2000,0x2000,0x47F1", "--input", "200=0xFB2E"];

    private static void RequireTool(string what, Func<bool> present)
    {
        var required = Environment.GetEnvironmentVariable("PILOTS_INTEROP_REQUIRED") == "1";
        if (!present())
        {
            Assert.False(required, $"{what} is not installed; './run test' installs it with apt-get");
            Skip.If(true, $"{what} is not installed ('./run test' installs it)");
        }
    }

    private static bool HasPymodbus()
    {
        if (!File.Exists(Python))
        {
            return false;
        }

        using var check = ChildProcess.Program(Python, "-c", "import pymodbus, serial_asyncio");
        check.Start();
        return check.ExitCodeAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult() == 0;
    }

    private static bool HasMbpoll() => File.Exists("/usr/bin/mbpoll");

    private static ChildProcess Pymodbus(params string[] args)
    {
        var process = ChildProcess.Program(Python, [Path.Combine(AppContext.BaseDirectory, "Interop", "pymodbus_server.py"), .. args, .. Registers]);
        process.Start();
        return process;
    }

    private static async Task<string[]> ProbeAsync(ISerialPorts serialPorts, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await ProbeCommand.RunAsync(args, serialPorts, output, error);
        Assert.True(code == 0, $"probe exited {code}: {error}");
        return output.ToString().Split('\n').Select(l => l.Trim()).ToArray();
    }

    [SkippableFact]
    public async Task Probe_decodes_floats_and_signed_words_served_by_pymodbus_over_tcp()
    {
        RequireTool("python3-pymodbus", HasPymodbus);
        var port = Servers.FreePort();
        using var slave = Pymodbus("tcp", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--unit", "7");
        await Eventually.TrueAsync(() => Task.FromResult(Accepts(port) || !slave.Running), TimeSpan.FromSeconds(30), $"pymodbus listening on {port}");
        Assert.True(slave.Running, $"pymodbus exited: {slave.Log}");
        var url = $"modbus-tcp://127.0.0.1:{port}";

        var holding = await ProbeAsync(new NoSerialPorts(), url, "--unit", "7", "--address", "100", "--count", "4");
        var input = await ProbeAsync(new NoSerialPorts(), url, "--unit", "7", "--address", "200", "--count", "1", "--table", "input");

        Assert.Contains("float32 ABCD 123456 @100", holding);
        Assert.Contains("float32 CDAB 123456 @102", holding);
        Assert.Contains("int16 -1234 @200", input);
    }

    [SkippableFact]
    public async Task Probe_reads_pymodbus_over_rtu_on_a_pseudo_terminal()
    {
        RequireTool("python3-pymodbus", HasPymodbus);
        await using var pty = PseudoTerminal.Open(9600);
        using var slave = Pymodbus("rtu", pty.SlavePath, "--unit", "5", "--baud", "9600");
        var serial = new OneLine(pty.Master);
        var args = new[] { "modbus-rtu:///dev/pilots-test?baud=9600&parity=N", "--unit", "5", "--address", "100", "--count", "2", "--timeout", "1s" };

        // pymodbus opens the port some time after it starts: the first requests may go unanswered.
        string[] lines = [];
        await Eventually.TrueAsync(
            async () =>
            {
                Assert.True(slave.Running, $"pymodbus exited: {slave.Log}");
                using var output = new StringWriter();
                using var error = new StringWriter();
                var ok = await ProbeCommand.RunAsync(args, serial, output, error) == 0;
                lines = output.ToString().Split('\n').Select(l => l.Trim()).ToArray();
                return ok;
            },
            TimeSpan.FromSeconds(30),
            "an answer from pymodbus over RTU");

        Assert.Contains("float32 ABCD 123456 @100", lines);
    }

    [SkippableFact]
    public async Task Mbpoll_reads_a_float_from_our_tcp_slave()
    {
        RequireTool("mbpoll", HasMbpoll);
        await using var server = new ModbusTcpServer(IPAddress.Loopback, 0);
        var unit = server.AddUnit(9);
        unit.SetRegisters(Table.HoldingRegister, 20, [0x47F1, 0x2000]);
        unit.SetRegisters(Table.InputRegister, 30, [0xFB2E]);
        server.Start();
        var port = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // -0: PDU addresses from 0; -B: big-endian word order (ABCD); -1: poll once.
        var floats = await MbpollAsync("-m", "tcp", "-p", port, "-a", "9", "-0", "-r", "20", "-t", "4:float", "-B", "-1", "127.0.0.1");
        var words = await MbpollAsync("-m", "tcp", "-p", port, "-a", "9", "-0", "-r", "30", "-t", "3", "-1", "127.0.0.1");

        Assert.Contains("[20]: \t123456", floats, StringComparison.Ordinal);
        Assert.Contains("[30]: \t64302 (-1234)", words, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Mbpoll_reads_our_rtu_slave_on_a_pseudo_terminal_and_gets_exceptions_for_bad_addresses()
    {
        RequireTool("mbpoll", HasMbpoll);
        await using var pty = PseudoTerminal.Open(19200);
        var server = new ModbusRtuServer(pty.Master);
        server.AddUnit(4, new ModbusSlave { RegisterLimit = 100 }).SetRegisters(Table.HoldingRegister, 10, [0x47F1, 0x2000]);
        using var stop = new CancellationTokenSource();
        var serving = server.RunAsync(stop.Token);

        var floats = await MbpollAsync("-m", "rtu", "-b", "19200", "-P", "none", "-a", "4", "-0", "-r", "10", "-t", "4:float", "-B", "-1", pty.SlavePath);
        var refused = await MbpollAsync("-m", "rtu", "-b", "19200", "-P", "none", "-a", "4", "-0", "-r", "200", "-t", "4", "-1", pty.SlavePath);

        Assert.Contains("[10]: \t123456", floats, StringComparison.Ordinal);
        Assert.Contains("Illegal data address", refused, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, server.BadFrames);
        await stop.CancelAsync();
        await serving;
    }

    private static async Task<string> MbpollAsync(params string[] args)
    {
        using var mbpoll = ChildProcess.Program("/usr/bin/mbpoll", args);
        mbpoll.Start();
        await mbpoll.ExitCodeAsync(TimeSpan.FromSeconds(30));
        return mbpoll.Log;
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Hands the probe our end of the pty, whatever device it names; the probe's dispose leaves it open.</summary>
    private sealed class OneLine(ISerialLine line) : ISerialPorts
    {
        public ISerialLine Open(SerialSettings settings) => new Undisposed(line);

        private sealed class Undisposed(ISerialLine inner) : ISerialLine
        {
            public string Name => inner.Name;
            public int BaudRate => inner.BaudRate;
            public int BitsPerCharacter => inner.BitsPerCharacter;
            public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => inner.WriteAsync(data, cancellationToken);
            public Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken) => inner.ReadAsync(buffer, timeout, cancellationToken);
            public void DiscardInput() => inner.DiscardInput();
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
