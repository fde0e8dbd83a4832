using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.FirmwareSim;
using IoTPilots.Testing;

namespace IoTPilots.UnitTests;

public sealed class ModbusRtuTests : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly SerialPipe _master;
    private readonly SerialPipe _device;
    private readonly ModbusRtuServer _server;
    private readonly Task _serving;

    public ModbusRtuTests()
    {
        (_master, _device) = SerialPipe.CreatePair(9600);
        _server = new ModbusRtuServer(_device);
        _serving = _server.RunAsync(_stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _serving;
        _stop.Dispose();
    }

    [Theory]
    // Modbus over Serial Line v1.02 appendix B and the spec's FC3 example framed for unit 1.
    [InlineData(new byte[] { 0x02, 0x07 }, 0x1241)]
    [InlineData(new byte[] { 0x01, 0x03, 0x00, 0x00, 0x00, 0x0A }, 0xCDC5)]
    [InlineData(new byte[] { 0x01, 0x03, 0x00, 0x6B, 0x00, 0x03 }, 0x1774)]
    public void Crc16_matches_published_vectors(byte[] data, int crc) => Assert.Equal((ushort)crc, Rtu.Crc16(data));

    [Fact]
    public void Frame_puts_the_crc_low_byte_first()
    {
        Assert.Equal(new byte[] { 0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD }, Rtu.Frame(1, [0x03, 0x00, 0x00, 0x00, 0x0A]));
    }

    [Fact]
    public void Wrong_crc_and_truncated_frames_are_refused()
    {
        var ex = Assert.Throws<ModbusFrameException>(() => Rtu.Parse([0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCC], "/dev/ttyUSB0"));
        Assert.Contains("CRC mismatch", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/dev/ttyUSB0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", Assert.Throws<ModbusFrameException>(() => Rtu.Parse([0x01, 0x83, 0x02], "x")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(9600, 11, 4.0104)]
    [InlineData(19200, 11, 2.0052)]
    [InlineData(38400, 11, 1.75)]
    public void Frame_silence_is_3_5_characters_and_fixed_above_19200_baud(int baud, int bits, double ms) =>
        Assert.Equal(ms, Rtu.FrameSilence(baud, bits).TotalMilliseconds, 3);

    [Fact]
    public async Task Units_on_one_line_answer_through_one_transport()
    {
        _server.AddUnit(1).SetRegisters(Table.HoldingRegister, 0, [11]);
        _server.AddUnit(2).SetRegisters(Table.InputRegister, 5, [22, 23]);
        var client = new ModbusClient(new ModbusRtuTransport(_master, TimeSpan.FromSeconds(2)));

        Assert.Equal(new ushort[] { 11 }, await client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(new ushort[] { 22, 23 }, await client.ReadInputRegistersAsync(2, 5, 2));
        await client.WriteSingleRegisterAsync(2, 9, 99);
        Assert.Equal(new ushort[] { 99 }, await client.ReadHoldingRegistersAsync(2, 9, 1));
    }

    [Fact]
    public async Task Silent_unit_times_out_without_disturbing_its_neighbour()
    {
        _server.AddUnit(1).SetRegisters(Table.HoldingRegister, 0, [11]);
        _server.AddUnit(2);
        _server.Silent[2] = true;
        // Generous: the good unit must answer within it even on a loaded CI machine.
        var client = new ModbusClient(new ModbusRtuTransport(_master, TimeSpan.FromSeconds(1)));

        await Assert.ThrowsAsync<ModbusTimeoutException>(() => client.ReadHoldingRegistersAsync(2, 0, 1));
        Assert.Equal(new ushort[] { 11 }, await client.ReadHoldingRegistersAsync(1, 0, 1));
    }

    [Fact]
    public async Task Corrupted_response_is_a_counted_frame_error()
    {
        _server.AddUnit(1).SetRegisters(Table.HoldingRegister, 0, [11]);
        var transport = new ModbusRtuTransport(_master, TimeSpan.FromSeconds(2));
        _device.Tamper = bytes => { bytes[^1] ^= 0xFF; return bytes; };

        var ex = await Assert.ThrowsAsync<ModbusFrameException>(() => new ModbusClient(transport).ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Contains("CRC", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, transport.FrameErrors);
    }

    [Fact]
    public async Task Exception_response_travels_over_rtu()
    {
        _server.AddUnit(1, new ModbusSlave { RegisterLimit = 10 });
        var client = new ModbusClient(new ModbusRtuTransport(_master, TimeSpan.FromSeconds(2)));
        var ex = await Assert.ThrowsAsync<ModbusExceptionResponse>(() => client.ReadHoldingRegistersAsync(1, 9, 2));
        Assert.Equal(ExceptionCode.IllegalDataAddress, ex.Code);
    }

    [Fact]
    public async Task Request_with_bad_crc_gets_no_answer_from_the_device()
    {
        _server.AddUnit(1);
        _master.Tamper = bytes => { bytes[^1] ^= 0xFF; return bytes; };
        var client = new ModbusClient(new ModbusRtuTransport(_master, TimeSpan.FromMilliseconds(200)));

        await Assert.ThrowsAsync<ModbusTimeoutException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(1, _server.BadFrames);
    }
}
