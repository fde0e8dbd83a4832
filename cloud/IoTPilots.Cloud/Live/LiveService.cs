using System.Text.Json;
using System.Text.Json.Serialization;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Commands;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.Mqtt;

namespace IoTPilots.Cloud.Live;

/// <summary>
/// Feeds the live view from the stream while anyone watches: its own subscription to every device's telemetry and every gateway's
/// retained status, at QoS 0 on a clean session, made only while this process's ingestion subscription exists
/// (as <see cref="RulesService"/> does, for the same reason: a subscriber that stores nothing must not make the
/// broker accept an edge's messages). Every <see cref="FlushInterval"/> the tiles that changed go to the viewers
/// (<see cref="LiveHub"/>), so a device that sends ten messages a second costs four updates; while anyone watches,
/// the open alerts are read from the alert store every <see cref="AlertInterval"/> (SQLite, local) and the delivery
/// figures from InfluxDB every <see cref="DeliveryInterval"/>, once for all viewers. InfluxDB is never read per second.
/// With commands on, the newest automatic action per device and its answer come from the commands record with the alerts.
/// </summary>
public sealed class LiveService(
    IngestionOptions ingestion,
    IngestionSubscription ingestionSubscription,
    IMessageSources sources,
    PlantState state,
    LiveHub hub,
    AlertStore alerts,
    ITelemetryQuery influx,
    TimeProvider time,
    ILogger<LiveService> logger,
    CommandStore? commands = null) : BackgroundService
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan AlertInterval = TimeSpan.FromSeconds(2);

    /// <summary>The accountant writes <c>delivery</c> every 10 s (PILOTS_DELIVERY_INTERVAL_S); reading it more often shows nothing new.</summary>
    public static readonly TimeSpan DeliveryInterval = TimeSpan.FromSeconds(10);

    /// <summary>The wire format of the live view's JSON: camelCase, levels as words, Vietnamese unescaped.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Create(System.Text.Unicode.UnicodeRanges.All),
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private long _badStatus;
    private Task? _connection;

    /// <summary>How long the subscription stays after the last viewer left: a page reload must not cost a resubscription.</summary>
    public static readonly TimeSpan IdleGrace = TimeSpan.FromMinutes(1);

    /// <summary>Whether the stream subscription is up (for tests and the log).</summary>
    public bool Subscribed => _connection is not null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Subscribed only while someone watches (and a minute after): a cloud nobody looks at pays nothing for the
        // view, neither the broker's second copy of every message nor decoding it (the ingest bench runs without it).
        CancellationTokenSource? stopConnection = null;
        using var timer = new PeriodicTimer(FlushInterval, time);
        var nextAlerts = DateTimeOffset.MinValue;
        var nextDelivery = DateTimeOffset.MinValue;
        var lastWatched = DateTimeOffset.MinValue;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = time.GetUtcNow();
                var watched = hub.Count > 0;
                if (watched)
                {
                    lastWatched = now;
                    if (_connection is null)
                    {
                        stopConnection = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                        _connection = OpenSource().RunAsync(Observe, stopConnection.Token);
                    }
                }
                else if (_connection is not null && now - lastWatched >= IdleGrace)
                {
                    await stopConnection!.CancelAsync().ConfigureAwait(false);
                    await _connection.ConfigureAwait(false);
                    stopConnection.Dispose();
                    _connection = null;
                    logger.LogInformation("Live view: nobody watching for {Grace}; unsubscribed", IdleGrace);
                }

                if (watched && now >= nextAlerts)
                {
                    RefreshAlerts();
                    nextAlerts = now + AlertInterval;
                }

                if (watched && now >= nextDelivery)
                {
                    nextDelivery = now + DeliveryInterval;
                    await RefreshDeliveryAsync(stoppingToken).ConfigureAwait(false);
                }

                Flush();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        if (_connection is not null)
        {
            await _connection.ConfigureAwait(false);
            stopConnection!.Dispose();
        }
    }

    private IMessageSource OpenSource() => sources.Open(new MessageSourceOptions($"cloud-live-{ingestion.Group}-{ingestion.Worker}", [Topics.AllTelemetry, GatewayStatus.AllTopics])
    {
        CleanStart = true,
        AtMostOnce = true,
        AutoAck = true,
        BeforeSubscribe = ingestionSubscription.WaitAsync,
        Subscribed = () => logger.LogInformation("Live view subscribed to {Telemetry} and {Status}", Topics.AllTelemetry, GatewayStatus.AllTopics),
    });

    /// <summary>How many of the newest commands are read for the tiles' last automatic actions: far more than a fleet's rules take in an alert interval.</summary>
    public const int ActionWindow = 500;

    /// <summary>Reads the open alerts and the actions now (also when a viewer connects, so its snapshot has them).</summary>
    public void RefreshAlerts()
    {
        state.SetAlerts(alerts.Unresolved());
        if (commands is not null)
        {
            state.SetActions(commands.List(ActionWindow, null));
        }
    }

    /// <summary>Sends the tiles and gateways that changed to every viewer that may see them.</summary>
    public void Flush()
    {
        var (devices, gateways) = state.TakeChanged();
        if (hub.Count == 0)
        {
            return;
        }

        foreach (var d in devices)
        {
            hub.Publish(new LiveEvent("device", "d:" + d.Key, d.Site, JsonSerializer.Serialize(d, Json)));
        }

        foreach (var g in gateways)
        {
            hub.Publish(new LiveEvent("gateway", "g:" + g.Key, g.Site, JsonSerializer.Serialize(g, Json)));
        }
    }

    private ValueTask Observe(InboundMessage message, CancellationToken cancellationToken)
    {
        if (message.Topic.EndsWith("/status", StringComparison.Ordinal))
        {
            if (GatewayStatus.TryDecode(message.Payload.Span, message.Topic, out var error) is { } status)
            {
                state.ObserveStatus(status);
            }
            else if (Interlocked.Increment(ref _badStatus) <= 5)
            {
                // A handful, not one per message: a broken gateway would repeat it every 30 s.
                logger.LogWarning("Live view: ignored a status on {Topic}: {Error}", message.Topic, error);
            }

            return ValueTask.CompletedTask;
        }

        // Invalid messages are the ingestion's to quarantine and count; here they are simply not shown.
        var result = TelemetryCodec.Decode(message.Payload.Span, message.Topic, time.GetUtcNow());
        if (result.Ok)
        {
            state.Observe(result.Message!);
        }

        return ValueTask.CompletedTask;
    }

    private async Task RefreshDeliveryAsync(CancellationToken cancellationToken)
    {
        try
        {
            var series = await influx.SeriesAsync(
                $"SELECT last(\"received\"), last(\"missing\"), last(\"dropped\") FROM \"{LineProtocol.DeliveryMeasurement}\" WHERE time > now() - 1h GROUP BY \"gateway\"",
                cancellationToken).ConfigureAwait(false);
            state.SetDelivery(series
                .Where(s => s.Tags.ContainsKey("gateway") && s.Rows.Count > 0 && s.Rows[0].Length >= 4)
                .Select(s => new GatewayDelivery(s.Tags["gateway"], Long(s.Rows[0][1]), Long(s.Rows[0][2]), Long(s.Rows[0][3]))));
        }
        catch (Exception ex) when (ex is InfluxUnavailableException or InfluxRejectedException or HttpRequestException or JsonException)
        {
            // The figures wait for the next round; the rest of the view does not depend on InfluxDB.
            logger.LogDebug("Live view: delivery figures not read: {Error}", ex.Message);
        }
    }

    private static long Long(JsonElement v) => v.ValueKind == JsonValueKind.Number ? (long)v.GetDouble() : 0;
}
