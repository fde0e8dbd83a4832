using System.Threading.Channels;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.Mqtt;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Alerts;

/// <summary>
/// Runs the rules engine on the live stream. It has its own MQTT subscription to every telemetry topic (not the
/// ingestion workers' shared one: the engine must see all of a device's messages). That subscription is on a
/// clean session and is made only while this process's ingestion subscription exists
/// (<see cref="IngestionSubscription"/>): a broker holding a rules subscription alone would acknowledge edge
/// messages that nothing stores. So the rules engine does not see what arrives while the cloud is down; that
/// data is backlog, which it would not judge anyway. In the NATS mode (docs/scaling.md) the telemetry comes instead
/// through a durable JetStream consumer of the engine's own, <c>{group}-rules</c>: a restarted engine, or a standby
/// taking over, judges what arrived while none ran, back to <see cref="RulesOptions.CatchUp"/>. Each alert event is stored in the alert store (the record the API and
/// console read) and written to InfluxDB's <c>alerts</c> measurement for dashboards and the pilot report; the
/// store is the truth, so an InfluxDB outage only delays the dashboards, never an alert.
/// </summary>
public sealed class RulesService(
    IngestionOptions ingestion,
    IngestionSubscription ingestionSubscription,
    IMessageSources sources,
    RulesOptions options,
    RulesInForce inForce,
    AlertStore store,
    IPointWriter influx,
    TimeProvider time,
    ILogger<RulesService> logger,
    Notifications.AlertNotifier notifier,
    RulesSeed seed,
    IRulesLeadership leadership,
    Commands.RuleActions? actions = null) : BackgroundService
{
    /// <summary>Where derived signals are stored: the telemetry's tags and time, one field per signal.</summary>
    public const string DerivedMeasurement = "derived";

    // As the ingestion's group commits: large enough to keep up, small enough for InfluxDB's request limits.
    private const int MaxLinesPerWrite = 5000;

    private readonly Lock _gate = new();

    private RulesEngine _engine = inForce.Engine;

    // Alert events on their way to InfluxDB, written off the judging path: awaiting the write there held up the
    // next message (and its alert) behind InfluxDB, which under a 10k readings/s ingest load cost hundreds of ms
    // (./run bench alert-latency). Alert events are few and the store has them all, so unbounded is safe.
    private readonly Channel<List<string>> _influxLines = Channel.CreateUnbounded<List<string>>(new() { SingleReader = true });

    private CancellationToken _stopping;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        var writing = WriteInfluxAsync(stoppingToken);
        // Watched in every term and while standing by, so a standby that takes over judges by the rules in force
        // (a reload's resolutions are fenced off the store while this process does not hold the lease).
        var reloading = new RulesFileWatcher(options.RulesPath, options.ReloadPoll, time, logger).RunAsync(ReloadAsync, stoppingToken);
        try
        {
            for (var term = 1; ; term++)
            {
                // A standby (RulesLeadership.cs): judges only while this process holds the rules lease, then stands by again.
                await using var leader = await leadership.WaitUntilLeaderAsync(stoppingToken).ConfigureAwait(false);
                // Nothing carries over from an earlier term: the other leader may have raised and resolved alerts since.
                lock (_gate)
                {
                    _engine = term == 1 ? _engine : new RulesEngine(_engine.Rules, _engine.Derived);
                    inForce.Engine = _engine;
                }
                try
                {
                    await LeadAsync(leader.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (leader.Token.IsCancellationRequested)
                {
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await reloading.ConfigureAwait(false);
            _influxLines.Writer.TryComplete();
            await writing.ConfigureAwait(false);
        }
    }

    private async Task LeadAsync(CancellationToken stoppingToken)
    {
        var reopened = store.Unresolved();
        _engine.Restore(reopened);
        logger.LogInformation("Rules engine: {Rules} rules from {Path}; {Open} alert(s) still open", _engine.Rules.Count, options.RulesPath, reopened.Count);
        await ExpectAsync(_engine.Rules, stoppingToken).ConfigureAwait(false);

        // The gateways' statuses too: their stamps tell the gateways' clocks (rules README, "Clock skew").
        var source = sources.Open(new MessageSourceOptions($"cloud-rules-{ingestion.Group}", [Topics.AllTelemetry, GatewayStatus.AllTopics])
        {
            CleanStart = true,
            // QoS 0: a clean session replays nothing anyway, and acknowledged delivery made the broker keep a window,
            // a queue and a PUBACK per message for a second subscriber; with Mosquitto 2.0.11 that stalled the
            // ingestion's share under overload too (cloud README, "Overload").
            AtMostOnce = true,
            AutoAck = true,
            BeforeSubscribe = ingestionSubscription.WaitAsync,
            Subscribed = () => logger.LogInformation("Rules engine subscribed to {Filter}", Topics.AllTelemetry),
            Replay = options.CatchUp > TimeSpan.Zero ? new StreamReplay($"{ingestion.Group}-rules", [Topics.AllTelemetry], options.CatchUp) : null,
        });
        var connection = source.RunAsync(JudgeAsync, stoppingToken);
        using var timer = new PeriodicTimer(options.TickInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                IReadOnlyList<AlertEvent> events;
                lock (_gate)
                {
                    events = _engine.Tick(time.GetUtcNow());
                }

                Apply(events);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await connection.ConfigureAwait(false);
    }

    /// <summary>The line protocol of a message's derived readings: measurement <see cref="DerivedMeasurement"/>, the telemetry's tags and times.</summary>
    public static List<string> DerivedLines(TelemetryMessage message, IReadOnlyList<Reading> derived) =>
        [.. LineProtocol.FromMessage(message with { Readings = derived }).Select(line => DerivedMeasurement + line[LineProtocol.TelemetryMeasurement.Length..])];

    private ValueTask JudgeAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        var receivedAt = time.GetUtcNow();
        if (message.Topic.EndsWith("/status", StringComparison.Ordinal))
        {
            // A malformed status is the fleet-health writer's to report; here it only goes unused.
            if (GatewayStatus.TryDecode(message.Payload.Span, message.Topic, out _) is { } status)
            {
                lock (_gate)
                {
                    _engine.ObserveStatus(status, receivedAt);
                }
            }

            return ValueTask.CompletedTask;
        }

        // Invalid messages are the ingestion's to quarantine and count; here they are simply not judged.
        var result = TelemetryCodec.Decode(message.Payload.Span, message.Topic, receivedAt);
        if (!result.Ok)
        {
            return ValueTask.CompletedTask;
        }

        IReadOnlyList<AlertEvent> events;
        IReadOnlyList<Reading> derived;
        lock (_gate)
        {
            events = _engine.Observe(result.Message!, receivedAt);
            derived = _engine.LastDerived;
        }

        // Derived signals are stored as fields of a measurement of their own with the telemetry's tags, so dashboards
        // and reports can use them without counting them as readings a device sent; only for the live stream this
        // engine judges (a backlog sent after an outage gets none: rules README, "Derived signals").
        if (derived.Count > 0)
        {
            _influxLines.Writer.TryWrite(DerivedLines(result.Message!, derived));
        }

        Apply(events);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Watches the series the missing-data rules among <paramref name="rules"/> expect from the device registry, each
    /// from its last good reading in InfluxDB (rules README, "Missing data").
    /// </summary>
    private async Task ExpectAsync(IEnumerable<Rule> rules, CancellationToken cancellationToken)
    {
        var expected = await seed.ReadAsync(rules, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            var now = time.GetUtcNow();
            foreach (var e in expected)
            {
                _engine.Expect(e.Series, e.Field, e.LastGood, now);
            }
        }
    }

    /// <summary>A valid new version of the rules files, put in force without a restart (rules README, "Live reload").</summary>
    private async Task ReloadAsync(RuleBook book, CancellationToken cancellationToken)
    {
        RulesReload reload;
        lock (_gate)
        {
            reload = _engine.Reload(book, time.GetUtcNow());
        }

        if (reload.Unchanged)
        {
            logger.LogDebug("Rules files in {Path} read again: no rule changed", options.RulesPath);
            return;
        }

        logger.LogInformation("Rules reloaded from {Path}: {Changes}; {Rules} rules in force", options.RulesPath, reload, book.Rules.Count);
        foreach (var e in reload.Events)
        {
            logger.LogWarning("Alert of rule {Rule} on {Series} {Field} resolved by the reload: {Reason}", e.RuleId, e.Series, e.Field, e.Message.En);
        }

        Apply(reload.Events);
        var expecting = book.Rules.Where(r => r.Kind == RuleKind.Missing && (reload.Added.Contains(r.Id) || reload.Changed.Contains(r.Id))).ToList();
        if (expecting.Count > 0)
        {
            await ExpectAsync(expecting, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Apply(IReadOnlyList<AlertEvent> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        var lines = new List<string>();
        foreach (var e in events)
        {
            // Stored with its notifications in one transaction; sending is the dispatcher's, so a channel never blocks this.
            if (notifier.Apply(e) is not { } alert)
            {
                continue;
            }

            // A resolution is told with the alert's own text (what was wrong), not the event's (what it is now).
            var message = e.Transition == AlertTransition.Resolved ? alert.Message.En : e.Message.En;
            if (e.Transition != AlertTransition.Updated)
            {
                logger.LogWarning("Alert {Id} {Transition} ({Severity}, rule {Rule}): {Message}", alert.Id, e.Transition, e.Severity, e.RuleId, message);
            }

            lines.Add(LineProtocol.AlertEvent(alert.Id, e.Transition.ToString().ToLowerInvariant(), e.RuleId, e.Severity, e.Series, e.Field, e.Value, message, e.At));
            if (e.Transition == AlertTransition.Raised && actions is not null && _engine.Rules.FirstOrDefault(r => r.Id == e.RuleId) is { Action: not null } rule)
            {
                // Off the judging path: sending waits for the broker's acknowledgement.
                _ = TakeActionAsync(rule, e, alert.Id);
            }
        }

        if (lines.Count > 0)
        {
            _influxLines.Writer.TryWrite(lines);
        }
    }

    private async Task TakeActionAsync(Rule rule, AlertEvent raised, long alertId)
    {
        try
        {
            await actions!.RunAsync(rule, raised, alertId, _stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Rule {Rule}: its action for alert {Alert} failed", rule.Id, alertId);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task WriteInfluxAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var first in _influxLines.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                // Everything queued meanwhile goes in the same request: derived readings come with every message of a
                // device that has them, and one request per message would swamp InfluxDB (and the ingestion's
                // writes with it) under load.
                var lines = new List<string>(first);
                while (lines.Count < MaxLinesPerWrite && _influxLines.Reader.TryRead(out var more))
                {
                    lines.AddRange(more);
                }

                try
                {
                    await influx.WriteAsync(lines, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is InfluxUnavailableException or InfluxRejectedException or HttpRequestException)
                {
                    logger.LogWarning("Could not write {Count} alert event(s) or derived reading(s) to InfluxDB ({Error}); the alert store has the alerts", lines.Count, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
