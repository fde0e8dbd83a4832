using IoTPilots.Cloud.Influx;
using IoTPilots.Devices;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Queue;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Fault tests on real servers and the real edge and cloud executables: each breaks something on purpose and
/// then proves that no reading was lost, by sequence (every seq 1..L in the delivery ledger, delivery.missing = 0)
/// and by per-device point count in InfluxDB.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class DeliveryTests(Servers servers) : IAsyncLifetime
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-delivery-").FullName;
    private readonly string _gateway = $"gw-f{Guid.NewGuid():N}"[..12];
    private readonly List<ChildProcess> _processes = [];
    private ModbusTcpServer _sim = null!;
    private InfluxWriter _influx = null!;
    private ChildProcess _edge = null!;
    private ChildProcess _cloud = null!;

    private string QueueDir => Path.Combine(_dir, "queue");

    public async Task InitializeAsync()
    {
        _sim = FaultRig.StartTank();
        var inventory = await FaultRig.WriteInventoryAsync(_dir, _gateway, "fault-site", _sim, "200ms", QueueDir, "backfill_rate: 500");
        _influx = await servers.NewDatabaseAsync("fault");
        _edge = Track(new ChildProcess("edge/IoTPilots.Edge", ["--inventory", inventory], new() { ["PILOTS_MQTT_URL"] = $"mqtt://{servers.Mqtt.Host}:{servers.Mqtt.Port}" }));
        _cloud = Cloud("1");
    }

    private ChildProcess Cloud(string worker) =>
        Track(FaultRig.Cloud(servers, _influx, "g" + _gateway, worker, Path.Combine(_dir, $"alerts-{worker}.db"), Servers.FreePort()));

    private ChildProcess Track(ChildProcess p)
    {
        _processes.Add(p);
        return p;
    }

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }

        await _sim.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<long> ScalarAsync(string query)
    {
        var rows = await _influx.RowsAsync(query);
        return rows.Count == 0 ? 0 : (long)rows[0].Values.Skip(1).First().GetDouble();
    }

    /// <summary>Distinct messages stored, summed over the gateway's epochs.</summary>
    private async Task<long> LedgerCountAsync() => (await _influx.LedgerEpochsAsync(_gateway)).Values.Sum(s => s.Count);

    /// <summary>Starts the cloud, then the edge, and waits until readings are flowing into InfluxDB.</summary>
    private async Task StartFlowingAsync()
    {
        _cloud.Start();
        // The shared subscription must exist before the first message, or the broker has nobody to keep it for.
        await Eventually.TrueAsync(() => Task.FromResult(_cloud.Log.Contains("Subscribed to", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), "the cloud to subscribe");
        _edge.Start();
        await Eventually.TrueAsync(async () => await LedgerCountAsync() >= 10, TimeSpan.FromSeconds(60), $"readings flowing (edge log: {_edge.Log})");
    }

    /// <summary>
    /// Waits until the edge's outage backlog has drained: the ledger has no holes (count = max) and its max has
    /// passed <paramref name="atLeast"/> (the live lane jumps ahead at once; holes close as the backlog drains).
    /// </summary>
    private async Task WaitDrainedAsync(long atLeast)
    {
        try
        {
            await Eventually.TrueAsync(
                async () => await LedgerMaxAsync() is var max && max >= atLeast && await LedgerCountAsync() == max,
                TimeSpan.FromSeconds(180),
                $"the backlog to drain past seq {atLeast}");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}: ledger count {await LedgerCountAsync()}, max {await LedgerMaxAsync()}\nedge log:\n{_edge.Log}\ncloud log:\n{_cloud.Log}", ex);
        }
    }

    private async Task<long> LedgerMaxAsync() => (await _influx.LedgerEpochsAsync(_gateway)).Values.Select(s => s.Max).DefaultIfEmpty().Max();

    /// <summary>
    /// Stops the edge cleanly (it sends what is queued), reads how many messages it ever numbered, and proves
    /// that every one of them is stored: by sequence, by per-device point count, and in the delivery summary.
    /// </summary>
    private async Task AssertNothingLostAsync()
    {
        var (_, last) = StopAndReadQueue();
        try
        {
            await Eventually.TrueAsync(async () => await LedgerCountAsync() == last, TimeSpan.FromSeconds(120), $"all {last} messages in the ledger");
        }
        catch (TimeoutException)
        {
            Assert.Fail($"messages stored: {string.Join("; ", (await _influx.LedgerEpochsAsync(_gateway)).Select(e => $"epoch {e.Key}: {e.Value}"))} of 1-{last}; cloud log:\n{_cloud.Log}");
        }

        Assert.Equal(last, await LedgerMaxAsync());
        // One poll of one device per message, one timestamp per poll: one point per message.
        Assert.Equal(last, await ScalarAsync($"SELECT count(do_mg_l) FROM telemetry WHERE gateway = '{_gateway}' AND device = 'tank-01'"));
        await Eventually.TrueAsync(
            async () => (await _influx.RowsAsync($"SELECT last(received), last(missing) FROM delivery WHERE gateway = '{_gateway}'")) is [var row]
                && (long)row["last"].GetDouble() == last && (long)row["last_1"].GetDouble() == 0,
            TimeSpan.FromSeconds(30),
            "the delivery summary to report every message received and 0 missing");
    }

    [Fact]
    public async Task Retained_gateway_status_says_online_with_its_queue_and_the_last_will_says_offline_after_a_kill()
    {
        var statuses = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var watcher = await TestPublisher.ConnectAsync(servers.Mqtt);
        watcher.Client.ApplicationMessageReceivedAsync += e =>
        {
            statuses.Enqueue(System.Text.Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload)));
            return Task.CompletedTask;
        };
        await watcher.Client.SubscribeAsync(new MQTTnet.MqttClientSubscribeOptionsBuilder().WithTopicFilter($"pilots/v1/fault-site/{_gateway}/status").Build());
        await StartFlowingAsync();
        await Eventually.TrueAsync(() => Task.FromResult(statuses.Any(s => s.Contains("\"state\":\"online\"", StringComparison.Ordinal) && s.Contains("\"queue\":", StringComparison.Ordinal))), TimeSpan.FromSeconds(30), "an online status with the queue depth");

        _edge.Kill();

        // No goodbye from a killed process: the broker publishes the gateway's last will when its keep-alive lapses.
        await Eventually.TrueAsync(() => Task.FromResult(statuses.Any(s => s.Contains("\"state\":\"offline\"", StringComparison.Ordinal))), TimeSpan.FromSeconds(60), "the last will saying offline");
    }

    [SkippableFact]
    public async Task Broker_stopped_for_60_s_while_the_edge_keeps_polling_loses_nothing()
    {
        Skip.If(servers.External, "the broker is external; this test must stop and restart it");
        await StartFlowingAsync();

        var before = await LedgerMaxAsync();
        servers.Stop("mosquitto");
        await Task.Delay(Outage);
        await servers.RestartAsync("mosquitto");

        // The edge polls 5 times a second: at least 250 messages were numbered during the outage.
        await WaitDrainedAsync(before + 250);
        await AssertNothingLostAsync();
    }

    [SkippableFact]
    public async Task Influxdb_stopped_for_60_s_loses_nothing()
    {
        Skip.If(servers.External, "InfluxDB is external; this test must stop and restart it");
        await StartFlowingAsync();

        var before = await LedgerMaxAsync();
        servers.Stop("influxd");
        await Task.Delay(Outage);
        await servers.RestartAsync("influxd");

        // The edge polls 5 times a second: at least 250 messages were numbered during the outage.
        await WaitDrainedAsync(before + 250);
        await AssertNothingLostAsync();
    }

    [Fact]
    public async Task Cloud_worker_killed_mid_stream_and_restarted_loses_nothing()
    {
        await StartFlowingAsync();
        var before = await LedgerCountAsync();

        _cloud.Kill();
        await Eventually.TrueAsync(async () => { await Task.Yield(); return !_cloud.Running; }, TimeSpan.FromSeconds(10), "the worker to die");
        _cloud.Start();
        await Eventually.TrueAsync(async () => await LedgerCountAsync() > before + 10, TimeSpan.FromSeconds(60), "the restarted worker to store new messages");

        await AssertNothingLostAsync();
    }

    /// <summary>
    /// A gateway re-imaged (its queue folder gone) numbers from 1 again, in a new epoch: the cloud must count the
    /// new messages as new, not take them for the old numbers it already has.
    /// </summary>
    [Fact]
    public async Task A_gateway_whose_queue_was_wiped_numbers_anew_in_a_new_epoch_and_every_message_is_counted()
    {
        await StartFlowingAsync();
        var (firstEpoch, firstLast) = StopAndReadQueue();
        await Eventually.TrueAsync(async () => await LedgerCountAsync() == firstLast, TimeSpan.FromSeconds(60), $"all {firstLast} messages of the first epoch in the ledger");

        Directory.Delete(QueueDir, recursive: true);
        _edge.Start();
        await Eventually.TrueAsync(async () => await LedgerCountAsync() >= firstLast + 10, TimeSpan.FromSeconds(60), $"the re-imaged edge to send (log: {_edge.Log})");
        var (secondEpoch, secondLast) = StopAndReadQueue();
        var total = firstLast + secondLast;

        Assert.NotEqual(firstEpoch, secondEpoch);
        Assert.NotEqual("", secondEpoch);
        await Eventually.TrueAsync(async () => await LedgerCountAsync() == total, TimeSpan.FromSeconds(60), $"all {total} messages of both epochs in the ledger");
        Assert.Equal(total, await ScalarAsync($"SELECT count(do_mg_l) FROM telemetry WHERE gateway = '{_gateway}' AND device = 'tank-01'"));
        await Eventually.TrueAsync(
            async () => (await _influx.RowsAsync($"SELECT last(received), last(missing) FROM delivery WHERE gateway = '{_gateway}'")) is [var row]
                && (long)row["last"].GetDouble() == total && (long)row["last_1"].GetDouble() == 0,
            TimeSpan.FromSeconds(30),
            $"the delivery summary to report {total} received (both epochs) and 0 missing");
    }

    /// <summary>Stops the edge cleanly and reads its queue's epoch and last sequence number; nothing may be left unsent.</summary>
    private (string Epoch, long Last) StopAndReadQueue()
    {
        _edge.Terminate();
        using var queue = DiskQueue.Open(new DiskQueueOptions { Directory = QueueDir }, TimeProvider.System, NullLogger.Instance);
        Assert.Equal(0, queue.Count);
        return (queue.Epoch, queue.LastSeq);
    }

    [Fact]
    public async Task Edge_killed_mid_write_and_restarted_loses_nothing_it_had_stored()
    {
        await StartFlowingAsync();

        // Polling every 200 ms with an fsync per record: a kill lands in or near a write.
        for (var round = 0; round < 3; round++)
        {
            _edge.Kill();
            _edge.Start();
            var seen = await LedgerCountAsync();
            await Eventually.TrueAsync(async () => await LedgerCountAsync() > seen + 5, TimeSpan.FromSeconds(60), $"the restarted edge to send again (log: {_edge.Log})");
        }

        await AssertNothingLostAsync();
    }
}
