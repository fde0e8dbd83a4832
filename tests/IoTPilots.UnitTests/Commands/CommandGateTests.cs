using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Commands;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Commands;

/// <summary>The edge's command gate: every refusal the issue names, and what it lets through.</summary>
public sealed class CommandGateTests : IDisposable
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 2, 0, 0, TimeSpan.Zero));
    private readonly Dictionary<(string, string), double> _latest = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-gate-").FullName;
    private readonly CommandGate _gate;

    public CommandGateTests()
    {
        var inventory = RelayInventory.Load(_dir);
        _gate = new CommandGate("gw-aqua-01", inventory.Devices, Key, new SeenCommands(), (d, f) => _latest.TryGetValue((d, f), out var v) ? v : null, _time);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private CommandMessage Command(string point = "backup_aerator_on", double value = 1, string device = "tank-03-relay", string? id = null, TimeSpan? lifetime = null) =>
        new(id ?? Guid.NewGuid().ToString("N"), "ras-1", "gw-aqua-01", device, point, value, "nguyen.van.a", _time.GetUtcNow(), _time.GetUtcNow() + (lifetime ?? TimeSpan.FromMinutes(2)));

    private GateVerdict Check(CommandMessage unsigned, byte[]? key = null) => _gate.Check(CommandSignature.Sign(unsigned, key ?? Key));

    [Fact]
    public void A_signed_fresh_command_for_a_writable_point_in_range_is_allowed()
    {
        var verdict = Check(Command());

        Assert.True(verdict.Allowed, verdict.Detail);
        Assert.Equal("tank-03-relay", verdict.Device!.Id);
        Assert.Equal(Table.Coil, verdict.Point!.Table);
        Assert.Empty(_gate.Refused);
    }

    [Fact]
    public void Unsigned_and_forged_commands_are_refused_and_counted()
    {
        Assert.Equal(CommandReasons.Unsigned, _gate.Check(Command()).Reason);
        Assert.Equal(CommandReasons.BadSignature, Check(Command(), key: new byte[32]).Reason);
        // Signed, then changed on the way: the value is part of what is signed.
        Assert.Equal(CommandReasons.BadSignature, _gate.Check(CommandSignature.Sign(Command(value: 0), Key) with { Value = 1 }).Reason);
        Assert.Equal(CommandReasons.BadSignature, _gate.Check(Command() with { Signature = "not base64!" }).Reason);

        Assert.Equal(1, _gate.Refused[CommandReasons.Unsigned]);
        Assert.Equal(3, _gate.Refused[CommandReasons.BadSignature]);
    }

    [Fact]
    public void An_expired_command_is_refused_so_a_gateway_back_online_does_not_act_on_old_orders()
    {
        var command = CommandSignature.Sign(Command(), Key);
        _time.Advance(TimeSpan.FromMinutes(2));

        var verdict = _gate.Check(command);

        Assert.False(verdict.Allowed);
        Assert.Equal(CommandReasons.Expired, verdict.Reason);
    }

    [Fact]
    public void A_command_valid_for_longer_than_ten_minutes_or_issued_in_the_future_is_refused()
    {
        Assert.Equal(CommandReasons.TooLong, Check(Command(lifetime: TimeSpan.FromHours(8))).Reason);
        var future = Command() with { IssuedAt = _time.GetUtcNow().AddMinutes(5), ExpiresAt = _time.GetUtcNow().AddMinutes(7) };
        Assert.Equal(CommandReasons.TooLong, Check(future).Reason);
    }

    [Fact]
    public void A_replayed_command_is_refused_even_when_the_first_was_allowed()
    {
        var command = CommandSignature.Sign(Command(id: "c-1"), Key);
        Assert.True(_gate.Check(command).Allowed);

        var replay = _gate.Check(command);

        Assert.Equal(CommandReasons.Replayed, replay.Reason);
    }

    [Theory]
    [InlineData("tank-09", "backup_aerator_on", 1, CommandReasons.UnknownDevice)]
    [InlineData("tank-03-relay", "feed_pump_on", 1, CommandReasons.UnknownPoint)]
    [InlineData("tank-03-relay", "water_temp_c", 25, CommandReasons.NotWritable)]
    [InlineData("tank-03-relay", "setpoint_c", 40, CommandReasons.OutOfRange)]
    [InlineData("tank-03-relay", "setpoint_c", 19.9, CommandReasons.OutOfRange)]
    [InlineData("tank-03-relay", "backup_aerator_on", 0.5, CommandReasons.OutOfRange)]
    public void A_command_the_inventory_does_not_allow_is_refused_naming_the_point(string device, string point, double value, string reason)
    {
        var verdict = Check(Command(point, value, device));

        Assert.False(verdict.Allowed);
        Assert.Equal(reason, verdict.Reason);
        Assert.Contains(device, verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_command_for_another_gateway_is_refused()
    {
        var verdict = Check(Command() with { Gateway = "gw-aqua-02" });

        Assert.Equal(CommandReasons.WrongGateway, verdict.Reason);
    }

    [Fact]
    public void The_sites_manual_lock_wins_over_the_cloud()
    {
        _latest[("tank-03-relay", "manual_mode")] = 1;
        Assert.Equal(CommandReasons.Locked, Check(Command()).Reason);

        _latest[("tank-03-relay", "manual_mode")] = 0;
        Assert.True(Check(Command()).Allowed);
    }

    [Fact]
    public void A_point_changes_at_most_once_per_its_minimum_interval()
    {
        Assert.True(Check(Command()).Allowed);
        _gate.Changed("tank-03-relay", "backup_aerator_on", 1);
        _time.Advance(TimeSpan.FromSeconds(29));

        Assert.Equal(CommandReasons.TooSoon, Check(Command(value: 0)).Reason);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(Check(Command(value: 0)).Allowed);
    }

    [Fact]
    public void A_point_left_on_past_its_maximum_run_time_is_due_to_be_switched_off()
    {
        _gate.Changed("tank-03-relay", "backup_aerator_on", 1);
        _time.Advance(TimeSpan.FromMinutes(29));
        Assert.Empty(_gate.Overrun());

        _time.Advance(TimeSpan.FromMinutes(1));
        var (device, point) = Assert.Single(_gate.Overrun());
        Assert.Equal(("tank-03-relay", "backup_aerator_on"), (device.Id, point.Name));

        _gate.Changed("tank-03-relay", "backup_aerator_on", 0);
        Assert.Empty(_gate.Overrun());
    }
}
