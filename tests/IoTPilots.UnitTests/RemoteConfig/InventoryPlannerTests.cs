using IoTPilots.Cloud.Commands;
using IoTPilots.Config;
using IoTPilots.Contract;
using IoTPilots.Devices;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.RemoteConfig;

/// <summary>The cloud's side of a push: what it refuses at once, the version it picks, and the signature the gateway checks.</summary>
public sealed class InventoryPlannerTests : IDisposable
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 2, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-planner-").FullName;
    private readonly GatewayDirectory _directory = new();
    private readonly InventoryPlanner _planner;

    public InventoryPlannerTests()
    {
        var registered = Load(InventoryRulesTests.Yaml);
        var keys = CommandKeys.Parse([$"gw-aqua-01 {Convert.ToBase64String(Key)}", $"gw-aqua-02 {Convert.ToBase64String(Key)}"], "keys");
        _planner = new InventoryPlanner([registered], keys, _directory, (_, yaml) => Load(yaml), _time);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Inventory Load(string yaml)
    {
        var file = Path.Combine(_dir, $"{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, yaml);
        return InventoryLoader.Load(file);
    }

    private (InventoryPush? Push, string? Error, bool NotFound) Plan(string yaml, string gateway = "gw-aqua-01", double hours = 24) =>
        _planner.Plan(gateway, yaml, "admin.tran", TimeSpan.FromHours(hours));

    [Fact]
    public void A_valid_inventory_becomes_a_signed_push_one_version_above_what_the_gateway_reports()
    {
        _directory.Seen(new GatewayStatus("ras-1", "gw-aqua-01", GatewayStatus.Online, _time.GetUtcNow(), 0, null) { Inventory = new RunningInventory(3, "x", RunningInventory.RolledBack, 4) });

        var (push, error, _) = Plan(InventoryRulesTests.Yaml);

        Assert.Null(error);
        Assert.Equal((5L, "ras-1", "admin.tran"), (push!.Version, push.Site, push.IssuedBy));
        Assert.Equal(InventoryPush.HashOf(InventoryRulesTests.Yaml), push.Sha256);
        Assert.Equal(_time.GetUtcNow().AddHours(24), push.ExpiresAt);
        Assert.True(InventorySignature.Verify(push, Key));

        // A push sent and not yet answered counts too: the next is above it.
        _directory.Pushed(new PushRecord(push.Id, push.Site, push.Gateway, push.Version, push.Sha256, push.IssuedBy, push.IssuedAt, push.ExpiresAt, CommandStates.Sent));
        Assert.Equal(6, Plan(InventoryRulesTests.Yaml).Push!.Version);
    }

    [Fact]
    public void Unknown_gateways_missing_keys_bad_lifetimes_invalid_texts_and_identity_changes_are_refused_at_once()
    {
        Assert.True(Plan(InventoryRulesTests.Yaml, gateway: "gw-none").NotFound);
        Assert.StartsWith("hours:", Plan(InventoryRulesTests.Yaml, hours: 200).Error, StringComparison.Ordinal);
        Assert.StartsWith("body:", Plan("  ").Error, StringComparison.Ordinal);
        Assert.StartsWith("body:", Plan(new string('#', InventoryPush.MaxContentBytes + 1)).Error, StringComparison.Ordinal);

        var invalid = Plan(InventoryRulesTests.Yaml.Replace("address: 127.0.0.1:5020", "address: nowhere", StringComparison.Ordinal)).Error;
        Assert.Contains(".yaml:7", invalid, StringComparison.Ordinal);
        Assert.Contains("address", invalid, StringComparison.Ordinal);
        Assert.Contains("may not change a gateway's identity", Plan(InventoryRulesTests.Yaml.Replace("site: ras-1", "site: ras-2", StringComparison.Ordinal)).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_directory_lists_registered_gateways_with_their_status_and_last_answer()
    {
        var answered = _directory.Answered(new InventoryResult("p9", "ras-1", "gw-aqua-01", 2, InventoryOutcomes.RolledBack, InventoryReasons.DevicesUnreachable, "no device", 1, _time.GetUtcNow()));
        Assert.Equal(InventoryOutcomes.RolledBack, answered.State);
        _directory.Seen(new GatewayStatus("ras-1", "gw-aqua-01", GatewayStatus.Online, _time.GetUtcNow(), 0, null) { Inventory = new RunningInventory(1, "x", RunningInventory.RolledBack, 2) });

        var list = _directory.List([("ras-1", "gw-aqua-01"), ("ras-2", "gw-aqua-02")]);

        Assert.Equal(["gw-aqua-01", "gw-aqua-02"], list.Select(g => g.Gateway));
        Assert.Equal((GatewayStatus.Online, 1L, "p9"), (list[0].State, list[0].Inventory!.Version, list[0].LastPush!.Id));
        Assert.Equal(("unknown", (RunningInventory?)null), (list[1].State, list[1].Inventory));
    }
}
