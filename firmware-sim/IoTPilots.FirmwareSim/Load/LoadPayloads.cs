using IoTPilots.Contract;

namespace IoTPilots.FirmwareSim.Load;

/// <summary>
/// Contract messages of three good readings, as an edge would send them, for gateway <c>gw-NNN</c> of a load run.
/// Message <c>seq</c> goes to device <c>dev-{seq % devices}</c> at the run's start plus <c>seq / devices</c>
/// milliseconds, so no two messages of a device share a point (InfluxDB would keep one) and each run (its own site
/// and epoch) can be counted alone.
/// </summary>
internal sealed class LoadPayloads(string site, DateTimeOffset start, int devices)
{
    private readonly long _startMs = start.ToUnixTimeMilliseconds();

    public (string Topic, byte[] Payload) Make(string gateway, long seq)
    {
        var device = $"dev-{seq % devices:D2}";
        var ts = DateTimeOffset.FromUnixTimeMilliseconds(_startMs + (seq / devices));
        var value = (seq % 1000) / 10.0;
        var message = new TelemetryMessage(Pilots.Aquaculture, site, gateway, device, seq,
        [
            new Reading("do_mg_l", ts, 5 + (value / 100), "mg/L", Quality.Good),
            new Reading("temp_c", ts, 20 + (value / 10), "degC", Quality.Good),
            new Reading("ph", ts, 7 + (value / 1000), "pH", Quality.Good),
        ])
        { Epoch = site };
        return (message.Topic, TelemetryCodec.Encode(message));
    }
}
