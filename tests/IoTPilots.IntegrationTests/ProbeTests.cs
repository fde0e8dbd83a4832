using System.Net;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Probe;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Testing;

namespace IoTPilots.IntegrationTests;

public sealed class ProbeTests
{
    [Fact]
    public async Task Probe_decodes_a_float_served_over_modbus_tcp()
    {
        await using var server = new ModbusTcpServer(IPAddress.Loopback, 0);
        // 123456.0 stored CDAB, as many PLCs do [docs/domain.md section 4].
        server.AddUnit(3).SetRegisters(Table.HoldingRegister, 10, [0x2000, 0x47F1]);
        server.Start();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await ProbeCommand.RunAsync(["modbus-tcp://127.0.0.1:" + server.Port, "--unit", "3", "--address", "10", "--count", "2"], new NoSerialPorts(), output, error);

        Assert.Equal(0, code);
        Assert.Contains("float32 CDAB 123456 @10", output.ToString().Split('\n').Select(l => l.Trim()));
    }

    [Fact]
    public async Task Probe_reports_a_refusal_and_exits_1()
    {
        await using var server = new ModbusTcpServer(IPAddress.Loopback, 0);
        server.AddUnit(1, new ModbusSlave { RegisterLimit = 5 });
        server.Start();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await ProbeCommand.RunAsync(["modbus-tcp://127.0.0.1:" + server.Port, "--unit", "1", "--address", "10", "--count", "2"], new NoSerialPorts(), output, error);

        Assert.Equal(1, code);
        Assert.Contains("illegal data address", error.ToString(), StringComparison.Ordinal);
    }
}
