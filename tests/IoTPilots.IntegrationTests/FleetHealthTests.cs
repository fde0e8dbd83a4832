using System.Text;
using IoTPilots.Cloud.Influx;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// What the fleet-health dashboard reads that only the cloud process writes: each gateway's status from its status
/// topic (online, queue, oldest unsent), and the ingestion's counters.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class FleetHealthTests(Servers servers)
{
    [Fact]
    public async Task The_cloud_stores_gateway_status_and_its_ingest_counters()
    {
        var influx = await servers.NewDatabaseAsync("fleet");
        using var cloud = CloudProcess.Start(servers, influx);
        await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        var (site, gateway) = ("s-fleet", $"gw-{Guid.NewGuid():N}"[..12]);
        var topic = Topics.Status(site, gateway);
        var query = $"SELECT \"online\", \"queue\", \"oldest_unsent_s\" FROM \"gateway_status\" WHERE \"gateway\" = '{gateway}'";

        // Published until stored: the cloud subscribes some time after it starts.
        var now = DateTimeOffset.UtcNow;
        var online = await Eventually.ValueAsync(async () =>
        {
            await publisher.PublishAsync(topic, new GatewayStatus(site, gateway, GatewayStatus.Online, now, 42, now.AddSeconds(-30)).Encode());
            return (await influx.RowsAsync(query)).FirstOrDefault();
        }, TimeSpan.FromSeconds(60), "the gateway's status in InfluxDB");

        Assert.Equal((1, 42, 30.0), (online["online"].GetInt32(), online["queue"].GetInt32(), online["oldest_unsent_s"].GetDouble()));

        // A broken status is said and skipped; the offline one after it (the broker's last will) is stored.
        await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes("{\"state\":\"online\""));
        await publisher.PublishAsync(topic, new GatewayStatus(site, gateway, GatewayStatus.Offline, now, 50, now.AddSeconds(-40)).Encode());
        await Eventually.TrueAsync(async () => (await influx.RowsAsync(query + " ORDER BY time DESC LIMIT 1")).Single()["online"].GetInt32() == 0, TimeSpan.FromSeconds(30), "the offline status");
        Assert.Contains($"Gateway status not stored: status on {topic} is not JSON", cloud.Log, StringComparison.Ordinal);

        var counters = await Eventually.ValueAsync(async () => (await influx.RowsAsync($"SELECT * FROM \"{IngestStatsWriter.Measurement}\"")).FirstOrDefault(), TimeSpan.FromSeconds(60), "the ingestion counters");
        Assert.Equal("1", counters["worker"].GetString());
        Assert.True(counters.ContainsKey("readings") && counters.ContainsKey("write_errors") && counters.ContainsKey("pending_lines"));
        cloud.Terminate();
    }
}
