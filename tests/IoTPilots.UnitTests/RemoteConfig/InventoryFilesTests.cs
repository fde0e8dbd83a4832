using IoTPilots.Config;
using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.Edge.RemoteConfig;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.RemoteConfig;

/// <summary>The pushed inventories on disk: what a restart finds, in probation, after a confirm, after a hand edit.</summary>
public sealed class InventoryFilesTests : IDisposable
{
    private static readonly InventoryRulesOptions Options = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 2, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-push-files-").FullName;
    private readonly StringWriter _log = new();
    private readonly string _installed;
    private readonly string _pushed = InventoryRulesTests.Yaml.Replace("127.0.0.1:5020", "127.0.0.1:5021", StringComparison.Ordinal);

    public InventoryFilesTests()
    {
        _installed = Path.Combine(_dir, "etc", "inventory.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(_installed)!);
        File.WriteAllText(_installed, InventoryRulesTests.Yaml);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string StateDir => Path.Combine(_dir, "state");

    private InventoryFiles Open() => InventoryFiles.Open(_installed, StateDir, _time.GetUtcNow(), _log);

    private InventoryPush Push(long version) => new("p1", "ras-1", "gw-aqua-01", version, InventoryPush.HashOf(_pushed), _pushed, "admin", _time.GetUtcNow(), _time.GetUtcNow().AddHours(1));

    private InventoryFiles ApplyPushed(long version = 1)
    {
        var files = Open();
        files.Apply(_pushed, InventoryRules.Applied(files.State, Push(version), _time.GetUtcNow(), Options));
        return files;
    }

    [Fact]
    public void Without_a_push_the_installed_file_runs_as_version_0()
    {
        var files = Open();
        Assert.Equal((0L, RunningInventory.Running, "127.0.0.1:5020"), (files.State.Version, files.State.State, files.Inventory.Devices[0].Address));
        Assert.Equal(InventoryPush.HashOf(InventoryRulesTests.Yaml), files.State.Sha256);
    }

    [Fact]
    public void A_restart_during_probation_comes_back_on_the_previous_inventory_and_owes_the_cloud_a_rollback()
    {
        ApplyPushed(version: 7);

        var restarted = Open();

        Assert.Equal("127.0.0.1:5020", restarted.Inventory.Devices[0].Address);
        Assert.Equal((0L, RunningInventory.RolledBack, 7L, false), (restarted.State.Version, restarted.State.State, restarted.State.Highest, restarted.State.Reported));
        Assert.Equal(InventoryReasons.RestartedInProbation, restarted.State.Reason);
        Assert.Contains("restarted", _log.ToString(), StringComparison.Ordinal);
        // And again: a second restart stays on the good one.
        Assert.Equal("127.0.0.1:5020", Open().Inventory.Devices[0].Address);
    }

    [Fact]
    public void A_confirmed_push_survives_a_restart_with_its_version()
    {
        var files = ApplyPushed(version: 7);
        files.Save(files.State with { State = RunningInventory.Running });

        var restarted = Open();

        Assert.Equal((7L, RunningInventory.Running, "127.0.0.1:5021"), (restarted.State.Version, restarted.State.State, restarted.Inventory.Devices[0].Address));
        Assert.Equal(InventoryPush.HashOf(_pushed), restarted.State.Sha256);
        Assert.True(File.Exists(restarted.PreviousFile));
    }

    [Fact]
    public void An_installed_file_changed_by_hand_wins_over_the_pushed_one_and_versions_keep_rising()
    {
        var files = ApplyPushed(version: 7);
        files.Save(files.State with { State = RunningInventory.Running });
        File.WriteAllText(_installed, InventoryRulesTests.Yaml.Replace("127.0.0.1:5020", "127.0.0.1:5029", StringComparison.Ordinal));

        var restarted = Open();

        Assert.Equal((0L, 7L, "127.0.0.1:5029"), (restarted.State.Version, restarted.State.Highest, restarted.Inventory.Devices[0].Address));
        Assert.Contains("changed since the last push", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_rollback_puts_the_previous_text_back()
    {
        var files = ApplyPushed(version: 7);

        var back = files.RollBack(InventoryRules.RolledBack(files.State, InventoryReasons.DevicesUnreachable, "no device answered"));

        Assert.Equal("127.0.0.1:5020", back.Devices[0].Address);
        Assert.Equal((0L, RunningInventory.RolledBack), (Open().State.Version, Open().State.State));
    }

    [Fact]
    public void A_staged_invalid_inventory_fails_with_the_loaders_file_line_and_field()
    {
        var files = Open();
        files.Stage(InventoryRulesTests.Yaml.Replace("address: 127.0.0.1:5020", "address: nowhere", StringComparison.Ordinal));

        var ex = Assert.Throws<ConfigException>(() => InventoryLoader.LoadRelativeTo(files.StagingFile, files.BaseDirectory));

        Assert.Contains("pushed.yaml:7", ex.Message, StringComparison.Ordinal);
        Assert.Contains("address", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pushes_and_results_survive_their_json()
    {
        var push = InventorySignature.Sign(Push(9), Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        Assert.Equal(push, InventoryCodec.TryDecode(InventoryCodec.Encode(push), out var error));
        Assert.Equal("", error);
        var result = new InventoryResult("p1", "ras-1", "gw-aqua-01", 9, InventoryOutcomes.RolledBack, InventoryReasons.DevicesUnreachable, "no device", 8, _time.GetUtcNow());
        Assert.Equal(result, InventoryCodec.TryDecodeResult(InventoryCodec.Encode(result), out _));

        Assert.Null(InventoryCodec.TryDecode("{\"v\":1,\"id\":\"x\",\"site\":\"ras-1\",\"gateway\":\"gw-aqua-01\",\"version\":-1}"u8, out error));
        Assert.StartsWith("content", error, StringComparison.Ordinal);
        Assert.Null(InventoryCodec.TryDecode("{\"v\":1,\"id\":\"x\",\"site\":\"ras-1\",\"gateway\":\"gw-aqua-01\",\"version\":-1,\"content\":\"a\"}"u8, out error));
        Assert.StartsWith("version", error, StringComparison.Ordinal);
        Assert.Null(InventoryCodec.TryDecode("[1]"u8, out error));
    }

    [Fact]
    public void The_status_carries_the_running_inventory()
    {
        var status = new GatewayStatus("ras-1", "gw-aqua-01", GatewayStatus.Online, _time.GetUtcNow(), 0, null) { Inventory = new RunningInventory(7, "ab", RunningInventory.RolledBack, 8, "no device") };
        var decoded = GatewayStatus.TryDecode(status.Encode(), Topics.Status("ras-1", "gw-aqua-01"), out var error);
        Assert.Equal("", error);
        Assert.Equal(status.Inventory, decoded!.Inventory);
        Assert.Null(GatewayStatus.TryDecode(new GatewayStatus("ras-1", "gw-aqua-01", GatewayStatus.Online, _time.GetUtcNow(), 0, null).Encode(), Topics.Status("ras-1", "gw-aqua-01"), out _)!.Inventory);
    }
}
