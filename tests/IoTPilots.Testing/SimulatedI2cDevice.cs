using System.Device.I2c;

namespace IoTPilots.Testing;

/// <summary>
/// A register-file I2C device in the manner of dotnet/iot's test helper: a write sets the register pointer
/// (and stores any bytes after it, auto-incrementing); reads return registers from the pointer onwards.
/// </summary>
public sealed class SimulatedI2cDevice(int address = 0x76) : I2cDevice
{
    private readonly byte[] _registers = new byte[256];
    private byte _pointer;

    public override I2cConnectionSettings ConnectionSettings { get; } = new(1, address);

    /// <summary>Every register write, in order.</summary>
    public List<(byte Register, byte Value)> Writes { get; } = [];

    /// <summary>Register reads per register address (the first register of each read).</summary>
    public Dictionary<byte, int> Reads { get; } = [];

    /// <summary>While set, every transfer throws it, like a device that stopped acknowledging.</summary>
    public IOException? Failure { get; set; }

    public void SetRegister(byte register, byte value) => _registers[register] = value;

    public void SetRegisters(byte first, params byte[] values) => values.CopyTo(_registers, first);

    /// <summary>Stores a 16-bit value little-endian, as the BME280 calibration words are laid out.</summary>
    public void SetWord(byte register, int value)
    {
        _registers[register] = (byte)value;
        _registers[register + 1] = (byte)(value >> 8);
    }

    public byte GetRegister(byte register) => _registers[register];

    public override byte ReadByte()
    {
        Span<byte> value = stackalloc byte[1];
        Read(value);
        return value[0];
    }

    public override void Read(Span<byte> buffer)
    {
        ThrowIfFailing();
        Reads[_pointer] = Reads.GetValueOrDefault(_pointer) + 1;
        for (var i = 0; i < buffer.Length; i++)
        {
            buffer[i] = _registers[_pointer++];
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfFailing();
        _pointer = buffer[0];
        foreach (var value in buffer[1..])
        {
            Writes.Add((_pointer, value));
            _registers[_pointer++] = value;
        }
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        Write(writeBuffer);
        Read(readBuffer);
    }

    private void ThrowIfFailing()
    {
        if (Failure is not null)
        {
            throw Failure;
        }
    }
}
