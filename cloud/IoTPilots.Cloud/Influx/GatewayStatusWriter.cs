using System.Globalization;
using System.Text.Json;
using IoTPilots.Contract;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Influx;

/// <summary>
/// Writes each gateway's retained status (<see cref="GatewayStatus"/>: online or offline, queue depth, oldest unsent
/// reading) to measurement <c>gateway_status</c>, so the fleet-health dashboard can show gateways online and their
/// queues (dashboards/json/fleet.json). A clean QoS 0 subscription: a status missed while the cloud was away is
/// replaced by the retained one at the next connect. Points are stamped when received, not with the status's own
/// time, because the broker's last will carries the time of the connect it was registered at.
/// </summary>
public sealed class GatewayStatusWriter(IMessageSources sources, InfluxWriter influx, string worker, TimeProvider time, ILogger<GatewayStatusWriter> logger) : BackgroundService
{
    public const string Measurement = "gateway_status";

    /// <summary>Every gateway's status topic (<see cref="Topics.Status"/>).</summary>
    public const string Filter = Topics.Root + "/" + Topics.Version + "/+/+/status";

    /// <summary>
    /// The point for one status message received at <paramref name="receivedMs"/>, or null with the reason: fields
    /// <c>online</c> (1 or 0), <c>queue</c> (messages waiting on the gateway) and <c>oldest_unsent_s</c> (age of the
    /// oldest of them when the status was made; absent when the queue is empty).
    /// </summary>
    public static string? Line(string topic, ReadOnlySpan<byte> payload, long receivedMs, out string error)
    {
        var parts = topic.Split('/');
        if (parts is not [Topics.Root, Topics.Version, var site, var gateway, "status"])
        {
            error = $"topic {topic} is not pilots/v1/{{site}}/{{gateway}}/status";
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("state", out var state) || state.ValueKind != JsonValueKind.String || state.GetString() is not (GatewayStatus.Online or GatewayStatus.Offline)
                || !root.TryGetProperty("ts", out var ts) || ts.ValueKind != JsonValueKind.Number || !ts.TryGetInt64(out var tsMs)
                || !root.TryGetProperty("queue", out var queue) || queue.ValueKind != JsonValueKind.Number || !queue.TryGetInt64(out var depth) || depth < 0)
            {
                error = $"status on {topic} lacks state (online/offline), ts or queue";
                return null;
            }

            if ((root.TryGetProperty("site", out var s) && s.ToString() != site) || (root.TryGetProperty("gateway", out var g) && g.ToString() != gateway))
            {
                error = $"status on {topic} names another site or gateway";
                return null;
            }

            var fields = string.Create(CultureInfo.InvariantCulture, $"online={(state.GetString() == GatewayStatus.Online ? 1 : 0)}i,queue={depth}i");
            // Null while the queue is empty.
            if (root.TryGetProperty("oldest_unsent", out var oldest) && oldest.ValueKind == JsonValueKind.Number && oldest.TryGetInt64(out var oldestMs))
            {
                fields += string.Create(CultureInfo.InvariantCulture, $",oldest_unsent_s={Math.Max(0, tsMs - oldestMs) / 1000.0:R}");
            }

            error = "";
            return string.Create(CultureInfo.InvariantCulture, $"{Measurement},gateway={LineProtocol.EscapeKey(gateway)},site={LineProtocol.EscapeKey(site)} {fields} {receivedMs}");
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            error = $"status on {topic} is not JSON: {ex.Message}";
            return null;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var source = sources.Open(new MessageSourceOptions($"cloud-status-{worker}", [Filter]) { CleanStart = true, AtMostOnce = true, AutoAck = true });
        try
        {
            await source.RunAsync(WriteAsync, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async ValueTask WriteAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        if (Line(message.Topic, message.Payload.Span, time.GetUtcNow().ToUnixTimeMilliseconds(), out var error) is not { } line)
        {
            // A retained message that is wrong stays on the broker: said once per arrival, never fatal.
            logger.LogWarning("Gateway status not stored: {Error}", error);
            return;
        }

        try
        {
            await influx.SendAsync([line], null, cancellationToken).ConfigureAwait(false);
        }
        catch (InfluxUnavailableException ex)
        {
            // The next status (the edge repeats it while online) or the retained one after a reconnect replaces it.
            logger.LogWarning("Gateway status not stored, InfluxDB away: {Error}", ex.Message);
        }
    }
}
