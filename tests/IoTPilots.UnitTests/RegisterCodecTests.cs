using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;

namespace IoTPilots.UnitTests;

public class RegisterCodecTests
{
    // docs/domain.md section 4, test vector: 123456.0 = 0x47F12000 in the four byte orders [docs/domain.md M1, D].
    [Theory]
    [InlineData(WordOrder.ABCD, 0x47F1, 0x2000)]
    [InlineData(WordOrder.CDAB, 0x2000, 0x47F1)]
    [InlineData(WordOrder.BADC, 0xF147, 0x0020)]
    [InlineData(WordOrder.DCBA, 0x0020, 0xF147)]
    public void Float_123456_decodes_in_every_word_order(WordOrder order, int reg1, int reg2)
    {
        ushort[] registers = [(ushort)reg1, (ushort)reg2];
        Assert.Equal(123456.0, RegisterCodec.Decode(registers, SignalType.Float32, order));
        Assert.Equal(registers, RegisterCodec.Encode(123456.0, SignalType.Float32, order));
    }

    [Fact]
    public void Scaled_int16_decodes_as_the_modbus_guide_shows()
    {
        // "77.0 °C stored as 770" and signed INT16 [docs/domain.md M1].
        var signal = new SignalDefinition { Name = "temp_c", Table = Table.HoldingRegister, Address = 0, Type = SignalType.Int16, Scale = 0.1 };
        Assert.Equal(77.0, signal.ToEngineering(RegisterCodec.Decode([770], SignalType.Int16, WordOrder.ABCD)), 9);
        Assert.Equal(-5.0, signal.ToEngineering(RegisterCodec.Decode([unchecked((ushort)-50)], SignalType.Int16, WordOrder.ABCD)), 9);
    }

    [Theory]
    [InlineData(SignalType.Int32, -123456789.0)]
    [InlineData(SignalType.UInt32, 4000000000.0)]
    [InlineData(SignalType.Int64, -9007199254740991.0)]
    [InlineData(SignalType.Float64, 1234.5678)]
    [InlineData(SignalType.UInt16, 65535.0)]
    public void Wide_types_round_trip_in_every_order(SignalType type, double value)
    {
        foreach (var order in Enum.GetValues<WordOrder>())
        {
            Assert.Equal(value, RegisterCodec.Decode(RegisterCodec.Encode(value, type, order), type, order));
        }
    }

    [Fact]
    public void Bit_in_register_and_string_decode()
    {
        Assert.Equal(1, RegisterCodec.Decode([0b100], SignalType.Bit, WordOrder.ABCD, bitIndex: 2));
        Assert.Equal(0, RegisterCodec.Decode([0b100], SignalType.Bit, WordOrder.ABCD, bitIndex: 1));
        Assert.Equal("Y504", RegisterCodec.DecodeString([0x5935, 0x3034, 0x0000], WordOrder.ABCD));
        Assert.Equal("Y504", RegisterCodec.DecodeString([0x3559, 0x3430], WordOrder.BADC));
    }
}

public class ReadPlannerTests
{
    private static SignalDefinition S(string name, ushort address, SignalType type = SignalType.UInt16, Table table = Table.HoldingRegister) =>
        new() { Name = name, Table = table, Address = address, Type = type };

    [Fact]
    public void Contiguous_signals_merge_into_one_request()
    {
        var plan = ReadPlanner.Plan([S("a", 0), S("b", 1), S("c", 2, SignalType.Float32), S("d", 10)]);
        Assert.Equal(2, plan.Count);
        Assert.Equal((Table.HoldingRegister, (ushort)0, (ushort)4), (plan[0].Table, plan[0].Address, plan[0].Count));
        Assert.Equal((ushort)10, plan[1].Address);
    }

    [Fact]
    public void Gap_allowance_merges_nearby_signals()
    {
        Assert.Single(ReadPlanner.Plan([S("a", 0), S("d", 10)], maxGap: 9));
    }

    [Fact]
    public void Requests_never_exceed_125_registers()
    {
        var signals = Enumerable.Range(0, 300).Select(i => S($"s{i}", (ushort)i)).ToList();
        var plan = ReadPlanner.Plan(signals);
        Assert.Equal([125, 125, 50], plan.Select(b => (int)b.Count));
        Assert.Equal(300, plan.Sum(b => b.Signals.Count));
    }

    [Fact]
    public void Tables_are_never_mixed()
    {
        var plan = ReadPlanner.Plan([S("a", 0), S("b", 1, table: Table.InputRegister), S("c", 0, SignalType.Bit, Table.Coil)]);
        Assert.Equal(3, plan.Count);
    }
}
