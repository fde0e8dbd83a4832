using System.Threading.Channels;
using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Polling;
using IoTPilots.Edge.Queue;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Commands;

/// <summary>
/// Wires the command path: the uplink hands each payload on <see cref="Topics.Command"/> to a queue (the broker has it
/// acknowledged at once: a gateway that dies mid-command does not run it twice, and the cloud then sees no result);
/// one loop takes payloads and watchdog ticks in turn to the <see cref="CommandExecutor"/>, and publishes every result
/// on <see cref="Topics.CommandResult"/> at QoS 1.
/// </summary>
public sealed class CommandService : BackgroundService
{
    /// <summary>How often the gateway looks for points run past their <c>max_run</c>.</summary>
    public static readonly TimeSpan WatchdogInterval = TimeSpan.FromSeconds(5);

    private readonly Channel<ReadOnlyMemory<byte>?> _work = Channel.CreateBounded<ReadOnlyMemory<byte>?>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Inventory _inventory;
    private readonly IUplink _uplink;
    private readonly RemoteConfig.InventoryHolder _holder;
    private readonly Func<Inventory, CommandExecutor> _build;
    private CommandExecutor _executor;
    private Inventory _builtFor;
    private readonly TimeProvider _time;
    private readonly ILogger<CommandService> _logger;
    private long _dropped;

    public CommandService(RemoteConfig.InventoryHolder holder, EdgeSettings settings, IUplink uplink, PollerFactory pollers, LatestValues latest, EdgeQueue queue, EdgeMetrics metrics, TimeProvider time, ILogger<CommandService> logger)
    {
        var inventory = _inventory = _builtFor = holder.Current;
        _holder = holder;
        _uplink = uplink;
        _time = time;
        _logger = logger;
        var seen = new FileSeenCommands(Path.Combine(queue.Directory, "commands-seen.txt"), time.GetUtcNow());
        // Rebuilt when a pushed inventory swaps the devices (their writable points and limits); the replay memory stays.
        _build = i => new CommandExecutor(
            i,
            settings.CommandKey is { } key ? new CommandGate(i.Gateway, i.Devices, key, seen, latest.Get, time) : null,
            d => pollers.ClientFor(d, i.Devices),
            latest.Read,
            metrics,
            time,
            logger);
        _executor = _build(inventory);
        var gate = settings.CommandKey;
        var writable = inventory.Devices.Sum(d => d.Signals.Count(s => s.Write is not null));
        var topic = Topics.Command(inventory.Site, inventory.Gateway);
        // Subscribed here, when the host builds its services and before the publisher connects the uplink, so the
        // commands the broker kept for this gateway's session find their handler on the first connection.
        if (!uplink.Subscribe(topic, EnqueueAsync))
        {
            return;
        }

        if (gate is null)
        {
            _logger.LogWarning("No command key (PILOTS_COMMAND_KEY or PILOTS_COMMAND_KEY_FILE): every command on {Topic} is refused as unsigned", topic);
        }
        else
        {
            _logger.LogInformation("Commands on {Topic}: {Writable} writable point(s), results on {ResultTopic}", topic, writable, Topics.CommandResult(inventory.Site, inventory.Gateway));
        }
    }

    private Task EnqueueAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (!_work.Writer.TryWrite(payload))
        {
            // A flood of commands: drop rather than hold up the MQTT client; counted and said.
            _logger.LogWarning("Command queue full: a command payload was dropped unanswered ({Dropped} so far)", Interlocked.Increment(ref _dropped));
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
                if (_holder.Current is var current && !ReferenceEquals(current, _builtFor))
                {
                    (_executor, _builtFor) = (_build(current), current);
                }

                var results = item is { } payload
                    ? await _executor.HandleAsync(payload, stoppingToken).ConfigureAwait(false) is { } r ? [r] : []
                    : await _executor.EnforceMaxRunAsync(stoppingToken).ConfigureAwait(false);
                foreach (var result in results)
                {
                    await PublishAsync(result, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await ticks.ConfigureAwait(false);
    }

    /// <summary>Queues a watchdog tick; the loop runs it between commands, so the gate sees one caller.</summary>
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(WatchdogInterval, _time);
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

    /// <summary>Publishes a result at QoS 1, waiting out a dropped link; one that still cannot go is in the log (Information) anyway.</summary>
    private async Task PublishAsync(CommandResult result, CancellationToken cancellationToken)
    {
        var topic = Topics.CommandResult(_inventory.Site, _inventory.Gateway);
        var payload = CommandCodec.Encode(result);
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromSeconds(30));
            try
            {
                await _uplink.WaitConnectedAsync(wait.Token).ConfigureAwait(false);
                if (await _uplink.PublishAsync(topic, payload, wait.Token).ConfigureAwait(false) != PublishOutcome.Failed)
                {
                    // Acked, or nobody subscribes to results now: either way the broker took it.
                    return;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }

        _logger.LogWarning("Result of command {Id} ({Outcome}) could not be published on {Topic}", result.Id, result.Outcome, topic);
    }
}
