using System.Device.Spi;

namespace IoTPilots.Testing;

/// <summary>A read-only SPI slave that clocks out a fixed response, like the MAX31855's 32-bit frame.</summary>
public sealed class SimulatedSpiDevice : SpiDevice
{
    public override SpiConnectionSettings ConnectionSettings { get; } = new(0, 0) { Mode = SpiMode.Mode0, ClockFrequency = 5_000_000 };

    public byte[] Response { get; set; } = [];

    /// <summary>While set, every transfer throws it.</summary>
    public IOException? Failure { get; set; }

    public override byte ReadByte()
    {
        Span<byte> value = stackalloc byte[1];
        Read(value);
        return value[0];
    }

    public override void Read(Span<byte> buffer)
    {
        if (Failure is not null)
        {
            throw Failure;
        }

        Response.AsSpan(0, buffer.Length).CopyTo(buffer);
    }

    public override void WriteByte(byte value)
    {
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
    }

    public override void TransferFullDuplex(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer) => Read(readBuffer);
}
