using System.Net;
using System.Net.Sockets;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

public sealed class ModbusTcpTests
{
    // Generous: a loaded CI machine must not turn a slow connect into a failure. Only the silent unit waits it out.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Client_and_server_agree_on_every_function_code()
    {
        await using var server = new ModbusTcpServer(IPAddress.Loopback, 0);
        var slave = server.AddUnit(5);
        slave.SetRegisters(Table.InputRegister, 100, [11, 22]);
        slave.SetBit(Table.DiscreteInput, 7, true);
        server.Start();
        await using var transport = new ModbusTcpTransport("127.0.0.1", server.Port, Timeout);
        var client = new ModbusClient(transport);

        await client.WriteMultipleRegistersAsync(5, 10, [1, 2, 3]);
        await client.WriteSingleRegisterAsync(5, 13, 4);
        Assert.Equal(new ushort[] { 1, 2, 3, 4 }, await client.ReadHoldingRegistersAsync(5, 10, 4));
        Assert.Equal(new ushort[] { 11, 22 }, await client.ReadInputRegistersAsync(5, 100, 2));
        await client.WriteMultipleCoilsAsync(5, 0, [true, false, true]);
        await client.WriteSingleCoilAsync(5, 1, true);
        var coils = await client.ReadBitsAsync(5, Table.Coil, 0, 4);
        Assert.Equal(new[] { true, true, true, false }, coils);
        var inputs = await client.ReadBitsAsync(5, Table.DiscreteInput, 6, 2);
        Assert.Equal(new[] { false, true }, inputs);
    }

    [Fact]
    public async Task Unknown_unit_behind_a_gateway_is_an_exception_response()
    {
        await using var server = new ModbusTcpServer(IPAddress.Loopback, 0);
        server.Start();
        await using var transport = new ModbusTcpTransport("127.0.0.1", server.Port, Timeout);
        var ex = await Assert.ThrowsAsync<ModbusExceptionResponse>(() => new ModbusClient(transport).ReadHoldingRegistersAsync(9, 0, 1));
        Assert.Equal(ExceptionCode.GatewayTargetFailedToRespond, ex.Code);
    }

    [Fact]
    public async Task Silent_unit_times_out_and_its_neighbour_still_answers()
    {
        await using var server = new ModbusTcpServer(IPAddress.Loopback, 0);
        server.AddUnit(1).SetRegisters(Table.HoldingRegister, 0, [42]);
        server.AddUnit(2);
        server.Silent[2] = true;
        server.Start();
        await using var transport = new ModbusTcpTransport("127.0.0.1", server.Port, Timeout);
        var client = new ModbusClient(transport);

        var ex = await Assert.ThrowsAsync<ModbusTimeoutException>(() => client.ReadHoldingRegistersAsync(2, 0, 1));
        Assert.Contains("unit 2", ex.Message, StringComparison.Ordinal);
        Assert.Equal(new ushort[] { 42 }, await client.ReadHoldingRegistersAsync(1, 0, 1));
    }

    [Fact]
    public async Task Wrong_transaction_id_is_a_frame_error_and_the_connection_is_renewed()
    {
        // A broken server that answers every request with the transaction id off by one.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = 0;
        var serve = Task.Run(async () =>
        {
            while (true)
            {
                using var socket = await listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref accepted);
                var stream = socket.GetStream();
                var request = new byte[12];
                await stream.ReadExactlyAsync(request);
                var tid = (ushort)((request[0] << 8 | request[1]) + 1);
                await stream.WriteAsync(Mbap.Frame(tid, request[6], [0x03, 0x02, 0x00, 0x01]));
            }
        });
        await using var transport = new ModbusTcpTransport("127.0.0.1", port, Timeout);
        var client = new ModbusClient(transport);

        var ex = await Assert.ThrowsAsync<ModbusFrameException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Contains("transaction id", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ModbusFrameException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(2, accepted);
        Assert.Equal(2, transport.MismatchedTransactions);
        listener.Stop();
    }

    [Fact]
    public async Task Transport_reconnects_after_the_server_comes_back()
    {
        var port = Servers.FreePort();
        await using var transport = new ModbusTcpTransport("127.0.0.1", port, Timeout, maxBackoff: TimeSpan.FromMilliseconds(200));
        var client = new ModbusClient(transport);
        await Assert.ThrowsAsync<IOException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));

        await using var server = new ModbusTcpServer(IPAddress.Loopback, port);
        server.AddUnit(1).SetRegisters(Table.HoldingRegister, 0, [7]);
        server.Start();
        ushort[]? value = null;
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    value = await client.ReadHoldingRegistersAsync(1, 0, 1);
                    return true;
                }
                catch (IOException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(10),
            "the transport to reconnect");
        Assert.Equal(new ushort[] { 7 }, value);
    }
}
