using System.Text;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;

namespace IoTPilots.UnitTests;

/// <summary>The points the fleet-health dashboard reads: gateway status from its topic, and the ingestion counters.</summary>
public sealed class FleetHealthLineTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_online_status_with_a_queue_becomes_one_point_stamped_when_received()
    {
        var status = new GatewayStatus("hp-port-1", "gw-port-01", GatewayStatus.Online, At, 900, At.AddMinutes(-10)).Encode();

        var line = GatewayStatusWriter.Line("pilots/v1/hp-port-1/gw-port-01/status", status, 1_700_000_000_000, out var error);

        Assert.Equal("gateway_status,gateway=gw-port-01,site=hp-port-1 online=1i,queue=900i,oldest_unsent_s=600 1700000000000", line);
        Assert.Empty(error);
    }

    [Fact]
    public void An_offline_status_with_an_empty_queue_has_no_oldest_unsent()
    {
        var status = new GatewayStatus("s", "gw-1", GatewayStatus.Offline, At, 0, null).Encode();

        Assert.Equal("gateway_status,gateway=gw-1,site=s online=0i,queue=0i 5", GatewayStatusWriter.Line("pilots/v1/s/gw-1/status", status, 5, out _));
    }

    [Theory]
    [InlineData("pilots/v1/s/gw-1/status", "{\"state\":\"online\"", "is not JSON")]
    [InlineData("pilots/v1/s/gw-1/status", "[1,2]", "lacks state")]
    [InlineData("pilots/v1/s/gw-1/status", "{\"state\":\"asleep\",\"ts\":1,\"queue\":0}", "lacks state")]
    [InlineData("pilots/v1/s/gw-1/status", "{\"state\":\"online\",\"ts\":null,\"queue\":0}", "lacks state")]
    [InlineData("pilots/v1/s/gw-1/status", "{\"state\":\"online\",\"ts\":1,\"queue\":-3}", "lacks state")]
    [InlineData("pilots/v1/s/gw-1/status", "{\"site\":\"other\",\"state\":\"online\",\"ts\":1,\"queue\":0}", "names another site or gateway")]
    [InlineData("pilots/v1/s/gw-1/gap", "{}", "is not pilots/v1/{site}/{gateway}/status")]
    public void A_wrong_status_is_refused_with_the_reason_naming_its_topic(string topic, string payload, string reason)
    {
        var line = GatewayStatusWriter.Line(topic, Encoding.UTF8.GetBytes(payload), 5, out var error);

        Assert.Null(line);
        Assert.Contains(topic, error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_ingestion_counters_are_integers_per_worker()
    {
        Assert.Equal(
            "ingest,worker=cloud\\ 1 messages=1i,readings=2i,lines_written=3i,rejected=4i,write_errors=5i,pending_lines=6i 7",
            IngestStatsWriter.Line("cloud 1", 1, 2, 3, 4, 5, 6, 7));
    }
}
