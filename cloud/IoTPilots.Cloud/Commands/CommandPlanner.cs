using IoTPilots.Contract;
using IoTPilots.Devices;

namespace IoTPilots.Cloud.Commands;

/// <summary>What a person or a rule asks a gateway to do: set <see cref="Point"/> of <see cref="Device"/> to <see cref="Value"/>.</summary>
public sealed record CommandRequest(string Gateway, string Device, string Point, double Value, TimeSpan Lifetime);

/// <summary>
/// Turns a request into a signed <see cref="CommandMessage"/>, refusing early what the gateway would refuse anyway:
/// a gateway or device the registry does not have, a point its inventory does not declare writable, a value out of
/// its range, a lifetime above the gateway's 10 minutes, a gateway without a key. The gateway checks all of it again
/// (and replay, expiry, its lock and its pace): the cloud's check is for a clear answer at once, not for safety. Pure.
/// </summary>
public sealed class CommandPlanner(IReadOnlyList<Inventory> inventories, CommandKeys keys, TimeProvider time)
{
    /// <summary>As the gateway's <c>CommandGateOptions.MaxLifetime</c>.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(10);

    /// <returns>The signed command and its site, or the error (naming the field) and whether it is a 404 (an unknown target).</returns>
    public (CommandMessage? Command, string? Error, bool NotFound) Plan(CommandRequest request, string issuedBy)
    {
        if (request.Lifetime <= TimeSpan.Zero || request.Lifetime > MaxLifetime)
        {
            return (null, $"minutes: a command is valid for 1 to {MaxLifetime.TotalMinutes:0} minutes", false);
        }

        if (inventories.FirstOrDefault(i => i.Gateway == request.Gateway) is not { } inventory)
        {
            return (null, $"gateway: {request.Gateway} is not in the device registry", true);
        }

        if (inventory.Devices.FirstOrDefault(d => d.Id == request.Device) is not { } device)
        {
            return (null, $"device: {request.Device} is not in {request.Gateway}'s inventory", true);
        }

        if (device.Signals.FirstOrDefault(s => s.Name == request.Point) is not { } point)
        {
            return (null, $"point: {request.Device} has no point {request.Point}", true);
        }

        if (point.Write is not { } limits)
        {
            return (null, $"point: {request.Device}.{request.Point} is not declared writable", false);
        }

        if (!double.IsFinite(request.Value) || request.Value < limits.Min || request.Value > limits.Max || (point.Type == SignalType.Bit && request.Value is not (0 or 1)))
        {
            return (null, $"value: {request.Value} is outside {limits.Min}..{limits.Max} for {request.Device}.{request.Point}", false);
        }

        if (keys.For(request.Gateway) is not { } key)
        {
            return (null, $"gateway: no command key for {request.Gateway} in PILOTS_COMMAND_KEYS", false);
        }

        var now = time.GetUtcNow();
        var command = new CommandMessage(
            $"c-{Guid.NewGuid():N}",
            device.Site,
            request.Gateway,
            request.Device,
            request.Point,
            request.Value,
            issuedBy,
            now,
            now + request.Lifetime);
        return (CommandSignature.Sign(command, key), null, false);
    }
}
