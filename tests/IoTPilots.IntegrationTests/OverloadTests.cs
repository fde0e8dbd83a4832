using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.FirmwareSim.Load;
using IoTPilots.IntegrationTests.Harness;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// The cloud falls behind while gateways keep publishing (an InfluxDB stall under load, as after an outage or a
/// burst of backfill), so the broker holds a backlog for a connected cloud. Every message must be stored, and soon:
/// the bound below is what a cloud storing thousands a second meets easily, and what the collapse this guards
/// against (cloud README, "Overload": tens of messages a second with every CPU idle) cannot meet.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class OverloadTests(Servers servers)
{
    [Fact]
    public async Task A_cloud_that_fell_behind_under_load_catches_up_and_stores_every_message()
    {
        var influx = await servers.NewDatabaseAsync("overload");
        var log = new ErrorLog();
        var stalled = new StalledWriter();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().AddProvider(log);
        builder.Services.AddIngestion(new IngestionOptions(servers.Mqtt, influx.Endpoint, $"ov{Guid.NewGuid():N}"[..12], "1"));
        // As shipped: worker 1 also runs the rules engine on its own subscription to every telemetry topic.
        var alerts = Directory.CreateTempSubdirectory("pilots-overload-").FullName;
        builder.Services.AddAlerts(RulesOptions.FromEnvironment(name => name == "PILOTS_ALERT_DB" ? Path.Combine(alerts, "alerts.db") : null, "1"));
        builder.Services.AddSingleton<IPointWriter>(sp => stalled.Over(sp.GetRequiredService<InfluxWriter>()));
        using var cloud = builder.Build();
        await cloud.StartAsync();
        try
        {
            var subscription = cloud.Services.GetRequiredService<IngestionSubscription>();
            await Eventually.TrueAsync(() => Task.FromResult(subscription.IsActive), TimeSpan.FromSeconds(30), "the ingestion subscription");

            // 21,000 messages while InfluxDB takes nothing, then 45,000 more while the cloud works off the backlog.
            var run = $"ov{Guid.NewGuid():N}"[..10];
            var acked = await LoadAsync($"{run}-a", rate: 3000, seconds: 7);
            stalled.Resume();
            acked += await LoadAsync($"{run}-b", rate: 3000, seconds: 15);

            // The bound is generous, for a CI box whose two cores are shared: the collapse stored tens of messages a
            // second, so the 45,000-odd still queued here would take it a quarter of an hour. The figure a healthy cloud
            // reaches is ./run bench ingest's, not this test's.
            long stored = 0;
            try
            {
                await Eventually.TrueAsync(
                    async () => (stored = await StoredAsync(influx, $"{run}-a") + await StoredAsync(influx, $"{run}-b")) == acked,
                    TimeSpan.FromSeconds(300),
                    $"all {acked:N0} messages the broker acknowledged stored");
            }
            catch (TimeoutException ex)
            {
                Assert.Fail($"{ex.Message}: {stored} stored; errors: {string.Join("; ", log.Errors)}");
            }

            Assert.Empty(log.Errors);
        }
        finally
        {
            // Stopped even when the test fails: a cloud left running would go on working off its backlog and load
            // the box under the tests that follow.
            await cloud.StopAsync();
            Directory.Delete(alerts, recursive: true);
        }
    }

    /// <summary>
    /// Runs the load generator and returns how many messages the broker acknowledged: those are the ones the
    /// platform answers for, as the edge deletes a message from its queue only on the PUBACK. On a busy box the
    /// generator may not send all it offers, since it stops at a hard bound of time (LoadGenerator.SendGrace).
    /// </summary>
    private async Task<long> LoadAsync(string site, double rate, double seconds)
    {
        var options = new LoadOptions(servers.Mqtt) { Site = site, Gateways = 10, Rate = rate, Duration = TimeSpan.FromSeconds(seconds) };
        using var output = new StringWriter();
        Assert.Equal(0, await LoadGenerator.RunAsync(options, output, CancellationToken.None));
        using var result = System.Text.Json.JsonDocument.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal("load", result.RootElement.GetProperty("result").GetString());
        return result.RootElement.GetProperty("acked").GetInt64();
    }

    private static async Task<long> StoredAsync(InfluxWriter influx, string site)
    {
        var rows = await influx.RowsAsync($"SELECT count(do_mg_l) FROM telemetry WHERE site = '{site}'");
        return rows.Count == 0 ? 0 : rows[0]["count"].GetInt64();
    }

    /// <summary>InfluxDB that takes nothing (each write waits) until <see cref="Resume"/>.</summary>
    private sealed class StalledWriter
    {
        private readonly TaskCompletionSource _resumed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Resume() => _resumed.TrySetResult();

        public IPointWriter Over(IPointWriter inner) => new Writer(inner, _resumed.Task);

        private sealed class Writer(IPointWriter inner, Task resumed) : IPointWriter
        {
            public async Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
            {
                await resumed.WaitAsync(cancellationToken);
                await inner.WriteAsync(lines, cancellationToken);
            }
        }
    }
}
