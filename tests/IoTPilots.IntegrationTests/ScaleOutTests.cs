using System.Text;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.IntegrationTests;

[Collection(ServersCollection.Name)]
public sealed class ScaleOutTests(Servers servers)
{
    private static TelemetryMessage Message(string gateway, long seq, DateTimeOffset t) =>
        new(Pilots.Port, "scale-site", gateway, "crane-1", seq, [new Reading("vib_mm_s", t, 1.0 + (seq % 100 / 100.0), "mm/s", Quality.Good)]);

    /// <summary>
    /// Publishes probes until every worker has received one; returns how many probes the broker delivered (one
    /// published before any worker had subscribed is refused with "no matching subscribers" and reaches nobody).
    /// </summary>
    private static async Task<int> WaitSubscribedAsync(IEnumerable<IHost> workers, MqttSession publisher, string gateway)
    {
        var probe = Message(gateway, 0, DateTimeOffset.UtcNow.AddMinutes(-5));
        var stats = workers.Select(w => w.Services.GetRequiredService<IngestionStats>()).ToList();
        var sent = 0;
        await Eventually.TrueAsync(
            async () =>
            {
                var result = await publisher.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(probe.Topic).WithPayload(TelemetryCodec.Encode(probe))
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                if (result.ReasonCode != MqttClientPublishReasonCode.NoMatchingSubscribers)
                {
                    sent++;
                }

                return stats.All(s => s.Messages > 0);
            },
            TimeSpan.FromSeconds(60),
            "every worker to receive from the shared subscription");
        return sent;
    }

    [Fact]
    public async Task Three_workers_sharing_a_subscription_store_every_reading_exactly_once()
    {
        var influx = await servers.NewDatabaseAsync("scale");
        var log = new ErrorLog();
        var group = $"sh{Guid.NewGuid():N}"[..10];
        var gateway = $"gw-s{Guid.NewGuid():N}"[..10];
        var workers = Enumerable.Range(1, 3).Select(w => Hosts.Cloud(servers.Mqtt, influx.Endpoint, log, group, w.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        foreach (var w in workers)
        {
            await w.StartAsync();
        }

        await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        var probes = await WaitSubscribedAsync(workers, publisher, gateway);
        var stats = workers.Select(w => w.Services.GetRequiredService<IngestionStats>()).ToList();
        var probesSeen = stats.Sum(s => s.Messages);

        const int count = 600;
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        for (var seq = 1; seq <= count; seq++)
        {
            var m = Message(gateway, seq, start.AddMilliseconds(seq * 10));
            await publisher.PublishAsync(m.Topic, TelemetryCodec.Encode(m));
        }

        await Eventually.TrueAsync(
            async () => (await influx.LedgerSeqsAsync(gateway, "telemetry")).Count == count,
            TimeSpan.FromSeconds(60),
            $"all {count} messages in the ledger");
        var points = await influx.RowsAsync($"SELECT count(vib_mm_s) FROM telemetry WHERE gateway = '{gateway}' AND time > '{start.AddSeconds(-1):O}'");
        Assert.Equal(count, (long)points.Single()["count"].GetDouble());
        // Exactly once: the workers between them received each message once, and shared the load. A probe the broker
        // acknowledged may still have gone only to another test's subscriber of the same topics (one full run waited
        // for such a probe in vain), so the probes bound the count from both sides instead of fixing it.
        await Eventually.TrueAsync(() => Task.FromResult(stats.Sum(s => s.Messages) >= count + probesSeen), TimeSpan.FromSeconds(30), "the messages at the workers");
        Assert.InRange(stats.Sum(s => s.Messages), count + probesSeen, count + probes);
        Assert.True(stats.Count(s => s.Messages > 1) >= 2, $"messages per worker: {string.Join(", ", stats.Select(s => s.Messages))}");
        foreach (var w in workers)
        {
            await w.StopAsync();
            w.Dispose();
        }

        Assert.Empty(log.Errors);
    }

    [Fact]
    public async Task A_burst_of_10000_malformed_messages_is_quarantined_and_the_valid_stream_still_lands()
    {
        var influx = await servers.NewDatabaseAsync("burst");
        var log = new ErrorLog();
        var gateway = $"gw-b{Guid.NewGuid():N}"[..10];
        using var cloud = Hosts.Cloud(servers.Mqtt, influx.Endpoint, log);
        await cloud.StartAsync();
        await using var publisher = await TestPublisher.ConnectAsync(servers.Mqtt);
        await WaitSubscribedAsync([cloud], publisher, gateway);
        var stats = cloud.Services.GetRequiredService<IngestionStats>();
        var topic = Topics.Telemetry("scale-site", gateway, "crane-1");

        const int valid = 100;
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        var garbage = Encoding.UTF8.GetBytes("{\"v\":1,\"pilot\":\"port\",\"readings\":[");
        for (var i = 0; i < 10_000; i++)
        {
            await publisher.PublishAsync(topic, garbage);
            if (i % 100 == 0)
            {
                var m = Message(gateway, (i / 100) + 1, start.AddMilliseconds(i));
                await publisher.PublishAsync(topic, TelemetryCodec.Encode(m));
            }
        }

        await Eventually.TrueAsync(
            async () => (await influx.RowsAsync($"SELECT count(vib_mm_s) FROM telemetry WHERE gateway = '{gateway}' AND time > '{start.AddSeconds(-1):O}'")) is [var r] && (long)r["count"].GetDouble() == valid,
            TimeSpan.FromSeconds(120),
            "every valid message to be stored");
        await Eventually.TrueAsync(() => Task.FromResult(stats.Rejected == 10_000), TimeSpan.FromSeconds(60), "all garbage counted");
        await Eventually.TrueAsync(
            async () => (await influx.RowsAsync("SELECT count(bytes) FROM quarantine WHERE reason = 'MalformedJson'")) is [var r] && (long)r["count"].GetDouble() == 10_000,
            TimeSpan.FromSeconds(60),
            "every malformed message in quarantine");
        await cloud.StopAsync();
        Assert.Empty(log.Errors);
    }
}
