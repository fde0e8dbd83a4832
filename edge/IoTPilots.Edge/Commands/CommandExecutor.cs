using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using Microsoft.Extensions.Logging;

namespace IoTPilots.Edge.Commands;

/// <summary>
/// Carries out commands from the cloud, one at a time: read the payload, ask the <see cref="CommandGate"/>, write the
/// point and read it back (<see cref="PointWriter"/>), and answer every command it can name with one
/// <see cref="CommandResult"/>: done, refused or failed. Only a confirmed write counts as a change for the gate (its
/// minimum interval and run time). <see cref="EnforceMaxRunAsync"/> switches off what has run past its <c>max_run</c>.
/// Not thread-safe: <see cref="CommandService"/> calls it from one loop.
/// </summary>
/// <param name="gate">Null when the gateway has no command key: every command is then refused as unsigned.</param>
/// <param name="clients">The Modbus client of a device, on the transport its poller shares.</param>
/// <param name="latest">The latest good value of a device's field and when it was sampled (the manual lock, points found running).</param>
public sealed class CommandExecutor(
    Inventory inventory,
    CommandGate? gate,
    Func<DeviceConfig, ModbusClient> clients,
    Func<string, string, (double Value, DateTimeOffset At)?> latest,
    EdgeMetrics metrics,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>Who a result of the gateway's own max-run switch-off names as its issuer.</summary>
    public const string MaxRunIssuer = "gateway:max_run";

    private readonly HashSet<(string Device, string Point)> _switchOffFailing = [];

    /// <summary>Payloads that could not be read far enough to find a command id, so no result could name them.</summary>
    public long Unanswerable { get; private set; }

    /// <summary>Handles one payload from the command topic; null only when it names no command id (counted, logged).</summary>
    public async Task<CommandResult?> HandleAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var command = CommandCodec.TryDecode(payload.Span, out var error);
        if (command is null)
        {
            if (CommandCodec.TryReadId(payload.Span) is { } id)
            {
                return Log(new CommandResult(id, inventory.Site, inventory.Gateway, CommandOutcome.Refused, CommandReasons.Malformed, error, null, time.GetUtcNow()));
            }

            Unanswerable++;
            metrics.Commands.Add(1, new KeyValuePair<string, object?>("outcome", "unanswerable"), new KeyValuePair<string, object?>("reason", CommandReasons.Malformed));
            logger.LogWarning("Command payload of {Bytes} bytes dropped unanswered: {Error}, and no id to answer to", payload.Length, error);
            return null;
        }

        if (gate is null)
        {
            return Log(Result(command, CommandOutcome.Refused, CommandReasons.Unsigned, "this gateway has no command key (PILOTS_COMMAND_KEY): it executes no command", null));
        }

        var verdict = gate.Check(command);
        if (!verdict.Allowed)
        {
            return Log(Result(command, CommandOutcome.Refused, verdict.Reason, verdict.Detail, null));
        }

        var device = verdict.Device!;
        var point = verdict.Point!;
        if (!Buses.IsModbus(device.Bus))
        {
            return Log(Result(command, CommandOutcome.Refused, CommandReasons.NotWritable, $"{device.Id} is on {device.Bus}; only Modbus points can be written", null));
        }

        var written = await WriteAsync(device, point, command.Value, cancellationToken).ConfigureAwait(false);
        if (!written.Confirmed)
        {
            return Log(Result(command, CommandOutcome.Failed, written.Reason, written.Detail, written.ReadBack));
        }

        gate.Changed(device.Id, point.Name, command.Value);
        return Log(Result(command, CommandOutcome.Done, CommandReasons.Ok, written.Detail, written.ReadBack ?? command.Value));
    }

    /// <summary>
    /// Writes 0 to every point that has held a non-zero value longer than its <c>max_run</c>, and answers each with a
    /// result issued by <see cref="MaxRunIssuer"/>. A point the poller reads non-zero that the gateway did not set (on
    /// before a restart, or started at the panel) gets its run clock from that reading. A point whose manual lock is on
    /// is left to the site. A switch-off that fails is tried again on the next call, but reported once until it succeeds.
    /// </summary>
    public async Task<IReadOnlyList<CommandResult>> EnforceMaxRunAsync(CancellationToken cancellationToken)
    {
        var results = new List<CommandResult>();
        if (gate is null)
        {
            return results;
        }

        foreach (var device in inventory.Devices)
        {
            foreach (var point in device.Signals.Where(s => s.Write?.MaxRun is not null))
            {
                if (latest(device.Id, point.Name) is { Value: not 0 } reading && gate.Adopt(device.Id, point.Name, reading.At))
                {
                    logger.LogInformation("{Device}.{Point} reads {Value} and the gateway did not set it: its max_run of {MaxRun} counts from {At:O}", device.Id, point.Name, reading.Value, point.Write!.MaxRun, reading.At);
                }
            }
        }

        foreach (var (device, point) in gate.Overrun())
        {
            if (point.Write?.Lock is { } lockField && latest(device.Id, lockField) is { Value: not 0 })
            {
                logger.LogDebug("{Device}.{Point} ran past its max_run, but {Lock} is on: the site has it", device.Id, point.Name, lockField);
                continue;
            }

            var now = time.GetUtcNow();
            var id = $"max-run-{device.Id}-{point.Name}-{now.ToUnixTimeMilliseconds()}";
            var written = await WriteAsync(device, point, 0, cancellationToken).ConfigureAwait(false);
            var result = new CommandResult(id, inventory.Site, inventory.Gateway, CommandOutcome.Done, CommandReasons.MaxRun, $"{device.Id}.{point.Name} ran longer than its max_run of {point.Write!.MaxRun}: switched off by the gateway", written.ReadBack ?? 0, now)
            {
                IssuedBy = MaxRunIssuer,
                Device = device.Id,
                Point = point.Name,
                Value = 0,
            };
            if (written.Confirmed)
            {
                gate.Changed(device.Id, point.Name, 0);
                _switchOffFailing.Remove((device.Id, point.Name));
            }
            else if (_switchOffFailing.Add((device.Id, point.Name)))
            {
                result = result with { Outcome = CommandOutcome.Failed, Reason = written.Reason, Detail = $"{device.Id}.{point.Name} ran longer than its max_run; switching it off failed ({written.Detail}); trying again", ReadBack = written.ReadBack };
            }
            else
            {
                continue;
            }

            results.Add(Log(result));
        }

        return results;
    }

    private async Task<WriteOutcome> WriteAsync(DeviceConfig device, SignalDefinition point, double value, CancellationToken cancellationToken)
    {
        ModbusClient client;
        try
        {
            client = clients(device);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // The serial line would not open (unplugged adapter, permissions).
            return new WriteOutcome(false, CommandReasons.Unreachable, $"{device.Id}: cannot open {device.Address}: {ex.Message}", null);
        }

        return await PointWriter.WriteAsync(client, device, point, value, cancellationToken).ConfigureAwait(false);
    }

    private CommandResult Result(CommandMessage c, CommandOutcome outcome, string reason, string detail, double? readBack) =>
        new(c.Id, inventory.Site, inventory.Gateway, outcome, reason, detail, readBack, time.GetUtcNow())
        {
            IssuedBy = c.IssuedBy,
            Device = c.Device,
            Point = c.Point,
            Value = c.Value,
        };

    private CommandResult Log(CommandResult r)
    {
        metrics.Commands.Add(1, new KeyValuePair<string, object?>("outcome", r.Outcome.ToString().ToLowerInvariant()), new KeyValuePair<string, object?>("reason", r.Reason));
        logger.LogInformation(
            "Command {Id} by {User}: {Device}.{Point} = {Value}: {Outcome} ({Reason}) {Detail}",
            r.Id,
            r.IssuedBy ?? "?",
            r.Device ?? "?",
            r.Point ?? "?",
            r.Value,
            r.Outcome.ToString().ToLowerInvariant(),
            r.Reason,
            r.Detail);
        return r;
    }
}
