using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using IoTPilots.Contract;

namespace IoTPilots.FirmwareSim.Load;

/// <summary>
/// Contract messages of three good readings, as an edge would send them, for gateway <c>gw-NNN</c> of a load run.
/// Message <c>seq</c> goes to device <c>dev-{seq % devices}</c> at the run's start plus <c>seq / devices</c>
/// milliseconds, so no two messages of a device share a point (InfluxDB would keep one) and each run (its own site
/// and epoch) can be counted alone.
/// <para>
/// The generator shares the box it measures, so each message costs it as little as possible: the constant parts of
/// the JSON (what <see cref="TelemetryCodec.Encode"/> writes, in its order) and every topic are encoded once, and a
/// message is the pieces copied with its seq, timestamp and values formatted in between, straight into the caller's
/// buffer. No objects per message. <see cref="Message"/> gives the same message as a <see cref="TelemetryMessage"/>,
/// for the test that the two agree.
/// </para>
/// </summary>
internal sealed class LoadPayloads
{
    /// <summary>Longest payload <see cref="Write"/> makes: the constant parts plus room for every number.</summary>
    public readonly int MaxBytes;

    private static readonly (string Field, string Unit, double Base, double Scale)[] Signals =
    [
        ("do_mg_l", "mg/L", 5, 100),
        ("temp_c", "degC", 20, 10),
        ("ph", "pH", 7, 1000),
    ];

    private readonly string _site;
    private readonly long _startMs;
    private readonly int _devices;
    private readonly byte[] _head;
    private readonly byte[] _epoch;
    private readonly byte[][] _fieldTs;
    private readonly byte[][] _valueTail;
    private readonly byte[][] _devicePart;
    // Shared by every gateway's sender task.
    private readonly ConcurrentDictionary<string, byte[][]> _topics = [];
    private readonly ConcurrentDictionary<string, byte[]> _gatewayPart = [];

    public LoadPayloads(string site, DateTimeOffset start, int devices)
    {
        _site = site;
        _startMs = start.ToUnixTimeMilliseconds();
        _devices = devices;
        _head = Encoding.UTF8.GetBytes($"{{\"v\":{TelemetryMessage.CurrentVersion},\"pilot\":\"{Pilots.Aquaculture}\",\"site\":\"{site}\",\"gateway\":\"");
        _devicePart = Enumerable.Range(0, devices).Select(d => Encoding.UTF8.GetBytes($"\",\"device\":\"{Device(d)}\",\"seq\":")).ToArray();
        _epoch = Encoding.UTF8.GetBytes($",\"epoch\":\"{site}\",\"readings\":[");
        _fieldTs = Signals.Select((s, i) => Encoding.UTF8.GetBytes($"{(i == 0 ? "" : ",")}{{\"field\":\"{s.Field}\",\"ts\":")).ToArray();
        _valueTail = Signals.Select((s, i) => Encoding.UTF8.GetBytes($",\"unit\":\"{s.Unit}\",\"q\":\"good\"}}{(i == Signals.Length - 1 ? "]}" : "")}")).ToArray();
        // Every constant piece, plus at most 20 bytes per number (seq, three timestamps, three values: 7 numbers)
        // and the gateway id, which the caller keeps to Identifiers' 64 characters.
        MaxBytes = _head.Length + _devicePart.Max(p => p.Length) + _epoch.Length + _fieldTs.Sum(p => p.Length) + _valueTail.Sum(p => p.Length)
            + (Signals.Length * ",\"value\":".Length) + (7 * 24) + 64;
    }

    private static string Device(long index) => $"dev-{index:D2}";

    /// <summary>The topic of message <paramref name="seq"/> of <paramref name="gateway"/>, UTF-8.</summary>
    public byte[] Topic(string gateway, long seq)
    {
        var topics = _topics.GetOrAdd(gateway, g => Enumerable.Range(0, _devices).Select(d => Encoding.UTF8.GetBytes(Topics.Telemetry(_site, g, Device(d)))).ToArray());
        return topics[seq % _devices];
    }

    /// <summary>Writes message <paramref name="seq"/> of <paramref name="gateway"/> into <paramref name="destination"/> (at least <see cref="MaxBytes"/>); returns its length.</summary>
    public int Write(string gateway, long seq, Span<byte> destination)
    {
        var gatewayBytes = _gatewayPart.GetOrAdd(gateway, Encoding.UTF8.GetBytes);

        var ts = _startMs + (seq / _devices);
        var value = (seq % 1000) / 10.0;
        var at = 0;
        Put(_head, destination, ref at);
        Put(gatewayBytes, destination, ref at);
        Put(_devicePart[seq % _devices], destination, ref at);
        Number(seq, destination, ref at);
        Put(_epoch, destination, ref at);
        for (var i = 0; i < Signals.Length; i++)
        {
            Put(_fieldTs[i], destination, ref at);
            Number(ts, destination, ref at);
            Put(",\"value\":"u8, destination, ref at);
            var v = Signals[i].Base + (value / Signals[i].Scale);
            // "R": the shortest text that reads back as the same double, as Utf8JsonWriter writes it.
            if (!v.TryFormat(destination[at..], out var n, "R", CultureInfo.InvariantCulture))
            {
                throw new ArgumentException("destination is shorter than MaxBytes", nameof(destination));
            }

            at += n;
            Put(_valueTail[i], destination, ref at);
        }

        return at;
    }

    /// <summary>The message <see cref="Write"/> encodes, as the contract's type (for tests).</summary>
    public TelemetryMessage Message(string gateway, long seq)
    {
        var ts = DateTimeOffset.FromUnixTimeMilliseconds(_startMs + (seq / _devices));
        var value = (seq % 1000) / 10.0;
        return new TelemetryMessage(Pilots.Aquaculture, _site, gateway, Device(seq % _devices), seq,
            Signals.Select(s => new Reading(s.Field, ts, s.Base + (value / s.Scale), s.Unit, Quality.Good)).ToList())
        { Epoch = _site };
    }

    private static void Put(ReadOnlySpan<byte> piece, Span<byte> destination, ref int at)
    {
        piece.CopyTo(destination[at..]);
        at += piece.Length;
    }

    private static void Number(long n, Span<byte> destination, ref int at)
    {
        if (!n.TryFormat(destination[at..], out var written, default, CultureInfo.InvariantCulture))
        {
            throw new ArgumentException("destination is shorter than MaxBytes", nameof(destination));
        }

        at += written;
    }
}
