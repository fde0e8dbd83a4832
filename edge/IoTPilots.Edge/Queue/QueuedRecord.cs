using System.Buffers.Binary;
using System.Text;

namespace IoTPilots.Edge.Queue;

public enum RecordKind : byte
{
    Telemetry = 1,
    Gap = 2,
}

/// <summary>
/// One record of the disk queue: an MQTT message ready to publish (topic and payload, the payload already
/// carrying its sequence number), with what the queue needs to account for it.
/// </summary>
public sealed record QueuedRecord(long Seq, RecordKind Kind, DateTimeOffset EnqueuedAt, DateTimeOffset OldestReading, int Readings, string Topic, byte[] Payload)
{
    private const int FixedLength = 8 + 1 + 8 + 8 + 4 + 2;

    public byte[] Serialize()
    {
        var topic = Encoding.UTF8.GetBytes(Topic);
        var bytes = new byte[FixedLength + topic.Length + Payload.Length];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt64LittleEndian(span, Seq);
        span[8] = (byte)Kind;
        BinaryPrimitives.WriteInt64LittleEndian(span[9..], EnqueuedAt.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt64LittleEndian(span[17..], OldestReading.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt32LittleEndian(span[25..], Readings);
        BinaryPrimitives.WriteUInt16LittleEndian(span[29..], (ushort)topic.Length);
        topic.CopyTo(span[FixedLength..]);
        Payload.CopyTo(span[(FixedLength + topic.Length)..]);
        return bytes;
    }

    public static QueuedRecord Deserialize(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < FixedLength)
        {
            throw new InvalidDataException($"queue record of {bytes.Length} bytes is shorter than its header");
        }

        var topicLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes[29..]);
        if (FixedLength + topicLength > bytes.Length)
        {
            throw new InvalidDataException("queue record topic runs past its end");
        }

        return new QueuedRecord(
            BinaryPrimitives.ReadInt64LittleEndian(bytes),
            (RecordKind)bytes[8],
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(bytes[9..])),
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(bytes[17..])),
            BinaryPrimitives.ReadInt32LittleEndian(bytes[25..]),
            Encoding.UTF8.GetString(bytes.Slice(FixedLength, topicLength)),
            bytes[(FixedLength + topicLength)..].ToArray());
    }
}
