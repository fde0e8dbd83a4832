using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.Commands;
using IoTPilots.Edge.RemoteConfig;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.RemoteConfig;

/// <summary>The gateway's decisions on a pushed inventory: every refusal, the identity check, and how a probation ends (fake clock).</summary>
public sealed class InventoryRulesTests : IDisposable
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly InventoryRulesOptions Options = new() { Probation = TimeSpan.FromMinutes(5) };
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 2, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-push-rules-").FullName;
    private readonly SeenCommands _seen = new();
    private InventoryState _running = new(3, "aa", RunningInventory.Running, 4, "base");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal const string Yaml = """
        gateway: gw-aqua-01
        site: ras-1
        pilot: aquaculture
        devices:
          - id: tank-03
            bus: modbus-tcp
            address: 127.0.0.1:5020
            registers:
              - { name: do_mg_l, table: input, address: 0, type: int16, scale: 0.01, unit: mg/L }
        """;

    private InventoryPush Push(long version = 5, string content = Yaml, TimeSpan? lifetime = null, string gateway = "gw-aqua-01") => new(
        Guid.NewGuid().ToString("N"), "ras-1", gateway, version, InventoryPush.HashOf(content), content, "admin.tran", _time.GetUtcNow(), _time.GetUtcNow() + (lifetime ?? TimeSpan.FromHours(24)));

    private InventoryRefusal? Check(InventoryPush push) => InventoryRules.Check(push, "ras-1", "gw-aqua-01", Key, _running, _seen, _time.GetUtcNow(), Options);

    private string? Reason(InventoryPush push) => Check(push)?.Reason;

    private Inventory Load(string yaml)
    {
        var file = Path.Combine(_dir, $"{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, yaml);
        return InventoryLoader.Load(file);
    }

    [Fact]
    public void A_signed_fresh_newer_push_is_allowed()
    {
        Assert.Null(Check(InventorySignature.Sign(Push(), Key)));
    }

    [Fact]
    public void Unsigned_forged_and_tampered_pushes_are_refused()
    {
        Assert.Equal(InventoryReasons.Unsigned, Reason(Push()));
        Assert.Equal(InventoryReasons.BadSignature, Reason(InventorySignature.Sign(Push(), new byte[32])));
        // Version and hash are signed; the content enters through its hash.
        Assert.Equal(InventoryReasons.BadSignature, Reason(InventorySignature.Sign(Push(version: 5), Key) with { Version = 50 }));
        var tampered = InventorySignature.Sign(Push(), Key) with { Content = Yaml.Replace("127.0.0.1:5020", "10.0.0.66:502", StringComparison.Ordinal) };
        Assert.Equal(InventoryReasons.HashMismatch, Reason(tampered));
        // A gateway without a key takes nothing.
        Assert.Equal(InventoryReasons.Unsigned, InventoryRules.Check(InventorySignature.Sign(Push(), Key), "ras-1", "gw-aqua-01", null, _running, _seen, _time.GetUtcNow(), Options)!.Reason);
    }

    [Fact]
    public void A_push_for_another_gateway_is_refused()
    {
        Assert.Equal(InventoryReasons.WrongGateway, Reason(InventorySignature.Sign(Push(gateway: "gw-aqua-02"), Key)));
    }

    [Fact]
    public void Expired_and_overlong_pushes_are_refused()
    {
        var push = InventorySignature.Sign(Push(lifetime: TimeSpan.FromHours(1)), Key);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(InventoryReasons.Expired, Reason(push));
        Assert.Equal(InventoryReasons.TooLong, Reason(InventorySignature.Sign(Push(lifetime: TimeSpan.FromDays(8)), Key)));
    }

    [Fact]
    public void A_replayed_push_is_refused()
    {
        var push = InventorySignature.Sign(Push(), Key);
        Assert.Null(Check(push));
        Assert.Equal(InventoryReasons.Replayed, Reason(push));
    }

    [Fact]
    public void A_version_not_newer_than_any_run_or_tried_is_refused()
    {
        // Running 3, but 4 was tried and rolled back: 4 may not come again, nor 3 or 2.
        foreach (var version in new long[] { 2, 3, 4 })
        {
            var refusal = Check(InventorySignature.Sign(Push(version: version), Key));
            Assert.Equal(InventoryReasons.NotNewer, refusal?.Reason);
        }

        Assert.Contains("the highest this gateway has run or tried", Check(InventorySignature.Sign(Push(version: 4), Key))!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_push_during_another_probation_is_refused()
    {
        _running = InventoryRules.Applied(_running, Push(version: 5), _time.GetUtcNow(), Options);
        Assert.Equal(InventoryReasons.InProbation, Reason(InventorySignature.Sign(Push(version: 6), Key)));
    }

    [Fact]
    public void A_valid_inventory_may_not_change_the_gateways_identity()
    {
        var running = Load(Yaml);
        Assert.Null(InventoryRules.CheckIdentity(Load(Yaml.Replace("registers:", "poll_interval: 2s\n    registers:", StringComparison.Ordinal)), running));
        Assert.Equal(InventoryReasons.IdentityChange, InventoryRules.CheckIdentity(Load(Yaml.Replace("gw-aqua-01", "gw-aqua-09", StringComparison.Ordinal)), running)?.Reason);
        Assert.Equal(InventoryReasons.IdentityChange, InventoryRules.CheckIdentity(Load(Yaml.Replace("site: ras-1", "site: ras-2", StringComparison.Ordinal)), running)?.Reason);
        var deviceSite = InventoryRules.CheckIdentity(Load(Yaml.Replace("bus: modbus-tcp", "site: port-1\n    bus: modbus-tcp", StringComparison.Ordinal)), running);
        Assert.Equal(InventoryReasons.IdentityChange, deviceSite?.Reason);
        Assert.Contains("device tank-03 reports under site port-1", deviceSite!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_probation_waits_for_its_end_then_confirms_when_a_device_answered_and_the_broker_was_reached()
    {
        var applied = _time.GetUtcNow();
        var state = InventoryRules.Applied(_running, Push(version: 5), applied, Options);
        Assert.Equal((5L, 5L, 3L), (state.Version, state.Highest, state.PreviousVersion));

        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(ProbationStep.Wait, InventoryRules.Judge(state, _time.GetUtcNow(), applied.AddSeconds(10), brokerReached: true).Step);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(ProbationStep.Confirm, InventoryRules.Judge(state, _time.GetUtcNow(), applied.AddSeconds(10), brokerReached: true).Step);
    }

    [Fact]
    public void A_probation_with_no_device_answering_rolls_back_at_its_end_and_the_tried_version_stays_the_highest()
    {
        var applied = _time.GetUtcNow();
        var state = InventoryRules.Applied(_running, Push(version: 5), applied, Options);
        _time.Advance(Options.Probation);

        // A good reading from before the apply was the old inventory's, not this one's.
        var (step, reason, detail) = InventoryRules.Judge(state, _time.GetUtcNow(), applied.AddSeconds(-1), brokerReached: true);
        Assert.Equal((ProbationStep.RollBack, InventoryReasons.DevicesUnreachable), (step, reason));
        Assert.Contains("no device of version 5 answered", detail, StringComparison.Ordinal);
        Assert.Equal(ProbationStep.RollBack, InventoryRules.Judge(state, _time.GetUtcNow(), null, brokerReached: true).Step);

        var back = InventoryRules.RolledBack(state, reason, detail);
        Assert.Equal((3L, "aa", RunningInventory.RolledBack, 5L, false), (back.Version, back.Sha256, back.State, back.Highest, back.Reported));
    }

    [Fact]
    public void A_probation_that_never_reached_the_broker_rolls_back()
    {
        var applied = _time.GetUtcNow();
        var state = InventoryRules.Applied(_running, Push(version: 5), applied, Options);
        _time.Advance(Options.Probation);

        var (step, reason, _) = InventoryRules.Judge(state, _time.GetUtcNow(), applied.AddSeconds(3), brokerReached: false);
        Assert.Equal((ProbationStep.RollBack, InventoryReasons.BrokerUnreachable), (step, reason));
    }
}
