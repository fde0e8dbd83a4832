using System.Threading.Channels;
using IoTPilots.Config;
using IoTPilots.Contract;
using IoTPilots.Edge.Commands;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Publishing;
using IoTPilots.Edge.Queue;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.RemoteConfig;

/// <summary>
/// Remote configuration at the gateway: takes pushes from <see cref="Topics.Config"/>, checks them
/// (<see cref="InventoryRules"/>), validates the text with the inventory loader, applies a good one (files on disk,
/// then the polling set swapped in <see cref="InventoryHolder"/>), watches its probation once a second and confirms
/// or rolls it back. Every push gets an answer on <see cref="Topics.ConfigResult"/> and every change a fresh status.
/// </summary>
public sealed class RemoteConfigService : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    private readonly Channel<ReadOnlyMemory<byte>?> _work = Channel.CreateBounded<ReadOnlyMemory<byte>?>(new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly InventoryHolder _holder;
    private readonly InventoryFiles _files;
    private readonly InventoryRulesOptions _options;
    private readonly byte[]? _key;
    private readonly IUplink _uplink;
    private readonly LatestValues _latest;
    private readonly EdgeQueue _queue;
    private readonly ISeenCommands _seen;
    private readonly TimeProvider _time;
    private readonly ILogger<RemoteConfigService> _logger;
    private bool _brokerReached;

    public RemoteConfigService(InventoryHolder holder, InventoryFiles files, InventoryRulesOptions options, EdgeSettings settings, IUplink uplink, LatestValues latest, EdgeQueue queue, TimeProvider time, ILogger<RemoteConfigService> logger)
    {
        (_holder, _files, _options, _key, _uplink, _latest, _queue, _time, _logger) = (holder, files, options, settings.CommandKey, uplink, latest, queue, time, logger);
        _seen = new FileSeenCommands(Path.Combine(files.Directory, "pushes-seen.txt"), time.GetUtcNow());
        holder.Status = files.State.Status;
        var inventory = holder.Current;
        // Subscribed before the uplink connects, as the command path does, so a push kept for this gateway's session finds its handler.
        if (uplink.Subscribe(Topics.Config(inventory.Site, inventory.Gateway), EnqueueAsync))
        {
            _logger.LogInformation("Inventory version {Version} ({State}); pushes on {Topic}, probation {Probation}", files.State.Version, files.State.State, Topics.Config(inventory.Site, inventory.Gateway), options.Probation);
        }
    }

    private Task EnqueueAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (!_work.Writer.TryWrite(payload))
        {
            _logger.LogWarning("Inventory push queue full: a push of {Bytes} bytes was dropped unanswered", payload.Length);
        }

        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ticks = TickAsync(stoppingToken);
        try
        {
            await foreach (var item in _work.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                if (item is { } payload)
                {
                    if (Handle(payload) is { } result)
                    {
                        _ = await PublishAsync(result, stoppingToken).ConfigureAwait(false);
                    }
                }
                else
                {
                    await WatchProbationAsync(stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await ticks.ConfigureAwait(false);
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Tick, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                _work.Writer.TryWrite(null);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Checks, validates and applies one push; the answer to publish, or null when the payload names no push.</summary>
    private InventoryResult? Handle(ReadOnlyMemory<byte> payload)
    {
        var running = _holder.Current;
        var state = _files.State;
        var now = _time.GetUtcNow();
        if (payload.Length == 0)
        {
            return null;
        }

        if (InventoryCodec.TryDecode(payload.Span, out var error) is not { } push)
        {
            return CommandCodec.TryReadId(payload.Span) is { } id
                ? Answer(id, 0, InventoryOutcomes.Refused, InventoryReasons.Malformed, error)
                : LogUnanswerable(payload.Length, error);
        }

        if (InventoryRules.Check(push, running.Site, running.Gateway, _key, state, _seen, now, _options) is { } refusal)
        {
            return Answer(push.Id, push.Version, InventoryOutcomes.Refused, refusal.Reason, refusal.Detail);
        }

        Devices.Inventory next;
        try
        {
            _files.Stage(push.Content);
            next = Devices.InventoryLoader.LoadRelativeTo(_files.StagingFile, _files.BaseDirectory);
        }
        catch (ConfigException ex)
        {
            return Answer(push.Id, push.Version, InventoryOutcomes.Refused, InventoryReasons.Invalid, ex.Message);
        }
        catch (IOException ex)
        {
            return Answer(push.Id, push.Version, InventoryOutcomes.Refused, InventoryReasons.WriteFailed, $"{_files.Directory}: {ex.Message}");
        }

        if (InventoryRules.CheckIdentity(next, running) is { } identity)
        {
            return Answer(push.Id, push.Version, InventoryOutcomes.Refused, identity.Reason, identity.Detail);
        }

        var probation = InventoryRules.Applied(state, push, now, _options);
        try
        {
            _files.Apply(push.Content, probation);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Answer(push.Id, push.Version, InventoryOutcomes.Refused, InventoryReasons.WriteFailed, $"{_files.Directory}: {ex.Message}");
        }

        // The push came through the broker, so being connected now proves nothing: the probation's ticks must see it.
        _brokerReached = false;
        _holder.Status = probation.Status;
        _holder.Swap(next);
        _logger.LogWarning("Inventory version {Version} by {User} applied ({Devices} devices), on probation until {Until:O}", push.Version, push.IssuedBy, next.Devices.Count, probation.ProbationUntil);
        return Answer(push.Id, push.Version, InventoryOutcomes.Probation, InventoryReasons.Ok, $"{next.Devices.Count} device(s); on probation until {probation.ProbationUntil:O}, then kept if a device answered and the broker was reached");
    }

    private async Task WatchProbationAsync(CancellationToken cancellationToken)
    {
        var state = _files.State;
        if (!state.Reported)
        {
            // A rollback not yet heard by the cloud (one made at start, after a restart during a probation, or one
            // whose answer found no broker): said again each second until the broker takes it.
            await ReportRollbackAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!state.OnProbation)
        {
            return;
        }

        _brokerReached |= _uplink.IsConnected;
        var (step, reason, detail) = InventoryRules.Judge(state, _time.GetUtcNow(), _latest.LastGood, _brokerReached);
        if (step == ProbationStep.Wait)
        {
            return;
        }

        if (step == ProbationStep.Confirm)
        {
            _files.Save(state with { State = RunningInventory.Running });
            _holder.Status = _files.State.Status;
            _logger.LogInformation("Inventory version {Version} confirmed: {Detail}", state.Version, detail);
            _ = await PublishAsync(Answer(state.PushId ?? "", state.Version, InventoryOutcomes.Confirmed, reason, detail), cancellationToken).ConfigureAwait(false);
            return;
        }

        var rolledBack = InventoryRules.RolledBack(state, reason, detail);
        var previous = _files.RollBack(rolledBack);
        _holder.Status = rolledBack.Status;
        _holder.Swap(previous);
        _logger.LogWarning("Inventory version {Version} rolled back to {Previous}: {Detail}", state.Version, rolledBack.Version, detail);
        await ReportRollbackAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ReportRollbackAsync(CancellationToken cancellationToken)
    {
        var state = _files.State;
        var answer = Answer(state.PushId ?? "", state.Highest, InventoryOutcomes.RolledBack, state.Reason ?? InventoryReasons.RestartedInProbation, state.Detail ?? "");
        if (await PublishAsync(answer, cancellationToken).ConfigureAwait(false))
        {
            _files.Save(state with { Reported = true });
        }
    }

    private InventoryResult Answer(string id, long version, string outcome, string reason, string detail)
    {
        var inventory = _holder.Current;
        var result = new InventoryResult(id, inventory.Site, inventory.Gateway, version, outcome, reason, detail, _files.State.Version, _time.GetUtcNow());
        _logger.LogInformation("Inventory push {Id} (version {Version}): {Outcome} ({Reason}) {Detail}", id, version, outcome, reason, detail);
        return result;
    }

    private InventoryResult? LogUnanswerable(int bytes, string error)
    {
        _logger.LogWarning("Inventory push of {Bytes} bytes dropped unanswered: {Error}, and no id to answer to", bytes, error);
        return null;
    }

    /// <summary>Publishes the answer, then the status with the inventory's new state; waits out a dropped link a while, as command results do.</summary>
    private async Task<bool> PublishAsync(InventoryResult result, CancellationToken cancellationToken)
    {
        var inventory = _holder.Current;
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await _uplink.WaitConnectedAsync(wait.Token).ConfigureAwait(false);
            var outcome = await _uplink.PublishAsync(Topics.ConfigResult(inventory.Site, inventory.Gateway), InventoryCodec.Encode(result), wait.Token).ConfigureAwait(false);
            await _uplink.PublishStatusAsync(MqttTelemetryPublisher.Status(inventory, _queue, _time, GatewayStatus.Online, _holder.Status), wait.Token).ConfigureAwait(false);
            return outcome != PublishOutcome.Failed;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning("Inventory result {Outcome} of push {Id} could not be published: the broker was not reached within 30 s", result.Outcome, result.Id);
            return false;
        }
    }
}
