using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.FirmwareSim;

namespace IoTPilots.UnitTests;

public class ModbusPduTests
{
    [Fact]
    public void Read_holding_registers_request_matches_the_spec_example()
    {
        // Modbus Application Protocol v1.1b3, 6.3: read registers 108-110 -> 03 00 6B 00 03.
        Assert.Equal(new byte[] { 0x03, 0x00, 0x6B, 0x00, 0x03 }, Pdu.ReadRequest(FunctionCode.ReadHoldingRegisters, 0x6B, 3));
    }

    [Fact]
    public void Read_holding_registers_response_matches_the_spec_example()
    {
        // Spec 6.3 response: 03 06 02 2B 00 00 00 64 -> registers 555, 0, 100.
        var registers = Pdu.ParseRegisters(1, FunctionCode.ReadHoldingRegisters, [0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64], 3);
        Assert.Equal(new ushort[] { 555, 0, 100 }, registers);
    }

    [Fact]
    public void Read_coils_response_unpacks_bits_lsb_first()
    {
        // Spec 6.1: coils 20-38 -> 01 03 CD 6B 05; coil 20 is bit 0 of 0xCD.
        var bits = Pdu.ParseBits(1, FunctionCode.ReadCoils, [0x01, 0x03, 0xCD, 0x6B, 0x05], 19);
        Assert.Equal([true, false, true, true, false, false, true, true], bits[..8]);
        Assert.Equal([true, false, true], bits[16..]);
    }

    [Fact]
    public void Write_multiple_registers_request_matches_the_spec_example()
    {
        // Spec 6.12: write 0x000A and 0x0102 at register 2 -> 10 00 01 00 02 04 00 0A 01 02.
        Assert.Equal(
            new byte[] { 0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02 },
            Pdu.WriteMultipleRegistersRequest(1, [0x000A, 0x0102]));
    }

    [Fact]
    public void Write_multiple_coils_request_matches_the_spec_example()
    {
        // Spec 6.11: coils 20-29 = CD 01 -> 0F 00 13 00 0A 02 CD 01.
        bool[] coils = [true, false, true, true, false, false, true, true, true, false];
        Assert.Equal(new byte[] { 0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01 }, Pdu.WriteMultipleCoilsRequest(19, coils));
    }

    [Fact]
    public void Exception_response_becomes_a_clear_error()
    {
        // Spec 7: 0x83 0x02 answers FC3 with "illegal data address".
        var ex = Assert.Throws<ModbusExceptionResponse>(() => Pdu.ParseRegisters(7, FunctionCode.ReadHoldingRegisters, [0x83, 0x02], 1));
        Assert.Equal(ExceptionCode.IllegalDataAddress, ex.Code);
        Assert.Contains("unit 7", ex.Message, StringComparison.Ordinal);
        Assert.Contains("illegal data address", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x03, 0x04, 0x00, 0x01 })]
    [InlineData(new byte[] { 0x03 })]
    [InlineData(new byte[] { 0x04, 0x02, 0x00, 0x01 })]
    [InlineData(new byte[] { })]
    public void Truncated_or_foreign_response_is_a_frame_error(byte[] response)
    {
        Assert.Throws<ModbusFrameException>(() => Pdu.ParseRegisters(1, FunctionCode.ReadHoldingRegisters, response, 2));
    }

    [Fact]
    public void Request_beyond_125_registers_is_refused_before_sending()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Pdu.ReadRequest(FunctionCode.ReadHoldingRegisters, 0, 126));
    }

    [Fact]
    public void Mbap_header_round_trips_and_rejects_foreign_protocols()
    {
        var frame = Mbap.Frame(0x1234, 17, [0x03, 0x00, 0x00, 0x00, 0x01]);
        Assert.Equal(new byte[] { 0x12, 0x34, 0x00, 0x00, 0x00, 0x06, 0x11 }, frame[..7]);
        Assert.Equal(((ushort)0x1234, (byte)17, 5), Mbap.ParseHeader(frame));
        frame[3] = 1;
        Assert.Throws<ModbusFrameException>(() => Mbap.ParseHeader(frame));
    }

    [Fact]
    public void Slave_serves_what_was_written_and_refuses_unknown_functions()
    {
        var slave = new ModbusSlave { RegisterLimit = 100 };
        Assert.Equal(Pdu.WriteMultipleRegistersRequest(10, [7, 8])[..5], slave.Handle(Pdu.WriteMultipleRegistersRequest(10, [7, 8])));
        Assert.Equal(new ushort[] { 7, 8 }, Pdu.ParseRegisters(1, FunctionCode.ReadHoldingRegisters, slave.Handle(Pdu.ReadRequest(FunctionCode.ReadHoldingRegisters, 10, 2)), 2));
        Assert.Equal(new byte[] { 0x83, 0x02 }, slave.Handle(Pdu.ReadRequest(FunctionCode.ReadHoldingRegisters, 99, 2)));
        Assert.Equal(new byte[] { 0x91, 0x01 }, slave.Handle([0x11]));
        Assert.Equal(new byte[] { 0x83, 0x03 }, slave.Handle([0x03, 0x00]));
        slave.Handle(Pdu.WriteSingleCoilRequest(3, true));
        Assert.True(slave.GetBit(Table.Coil, 3));
    }
}
