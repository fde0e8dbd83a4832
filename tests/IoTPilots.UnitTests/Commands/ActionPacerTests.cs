using IoTPilots.Cloud.Commands;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Commands;

public sealed class ActionPacerTests
{
    [Fact]
    public void At_most_one_automatic_action_per_asset_per_its_interval_and_assets_are_paced_apart()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 2, 0, 0, TimeSpan.Zero));
        var pacer = new ActionPacer(time);
        var every = TimeSpan.FromMinutes(10);

        Assert.True(pacer.TryTake("gw-aqua-01", "tank-03", "backup_aerator_on", every));
        Assert.False(pacer.TryTake("gw-aqua-01", "tank-03", "backup_aerator_on", every));
        // Another tank is another asset.
        Assert.True(pacer.TryTake("gw-aqua-01", "tank-04", "backup_aerator_on", every));

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(pacer.TryTake("gw-aqua-01", "tank-03", "backup_aerator_on", every));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(pacer.TryTake("gw-aqua-01", "tank-03", "backup_aerator_on", every));
    }
}
