using System.Net;
using IoTPilots.Cloud.Influx;
using IoTPilots.Edge.Modbus;
using IoTPilots.Edge.Queue;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// A gateway on a cellular link: the real edge publishes through the simulator's uplink relay at a 200 ms round
/// trip, the link is cut and restored, and every message the edge numbered is stored with no sequence number
/// missing, its backlog drained while the test waits. The rate (2 messages/s) stays under what a publisher
/// that waits for each PUBACK can carry at that round trip (5/s), so the test holds for it and for a pipelined one.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class SlowLinkDeliveryTests(Servers servers) : IAsyncLifetime
{
    private static readonly TimeSpan RoundTrip = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-slow-link-").FullName;
    private readonly string _gateway = $"gw-s{Guid.NewGuid():N}"[..12];
    private readonly int _cloudPort = Servers.FreePort();
    private ModbusTcpServer _sim = null!;
    private UplinkProxy _link = null!;
    private InfluxWriter _influx = null!;
    private ChildProcess _edge = null!;
    private ChildProcess _cloud = null!;

    private string QueueDir => Path.Combine(_dir, "queue");

    public async Task InitializeAsync()
    {
        _sim = FaultRig.StartTank();
        _link = new UplinkProxy(_gateway, IPAddress.Loopback, servers.Mqtt.Host, servers.Mqtt.Port) { OneWayDelay = RoundTrip / 2 };
        var inventory = await FaultRig.WriteInventoryAsync(_dir, _gateway, "slow-site", _sim, "500ms", QueueDir);
        _influx = await servers.NewDatabaseAsync("slow");
        _edge = new ChildProcess("edge/IoTPilots.Edge", ["--inventory", inventory], new() { ["PILOTS_MQTT_URL"] = $"mqtt://127.0.0.1:{_link.Port}" });
        _cloud = FaultRig.Cloud(servers, _influx, "g" + _gateway, "1", Path.Combine(_dir, "alerts.db"), _cloudPort);
    }

    public async Task DisposeAsync()
    {
        _edge.Dispose();
        _cloud.Dispose();
        await _link.DisposeAsync();
        await _sim.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The delivery summary's latest figures for this gateway: distinct messages stored, and sequence numbers never seen.</summary>
    private async Task<(long Received, long Missing)> DeliveryAsync() =>
        await _influx.RowsAsync($"SELECT last(received), last(missing) FROM delivery WHERE gateway = '{_gateway}'") is [var row]
            ? ((long)row["last"].GetDouble(), (long)row["last_1"].GetDouble())
            : (0, 0);

    private async Task<long> PointsAsync() =>
        await _influx.RowsAsync($"SELECT count(do_mg_l) FROM telemetry WHERE gateway = '{_gateway}' AND device = 'tank-01'") is [var row]
            ? (long)row["count"].GetDouble()
            : 0;

    private async Task<bool> ReadyAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{_cloudPort}/healthz"));
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private string Logs => $"\nedge log:\n{_edge.Log}\ncloud log:\n{_cloud.Log}";

    [Fact]
    public async Task A_cut_slow_link_loses_nothing_and_its_backlog_drains()
    {
        _cloud.Start();
        // The cloud is ready when its ingestion subscription exists: before that a message would have nowhere to go.
        using var http = new HttpClient();
        await Eventually.TrueAsync(
            async () => _cloud.Running && await ReadyAsync(http),
            TimeSpan.FromSeconds(60),
            $"the cloud's /healthz to say ready{Logs}");
        _edge.Start();
        await Eventually.TrueAsync(async () => (await DeliveryAsync()).Received >= 10, TimeSpan.FromSeconds(60), $"messages flowing over the slow link{Logs}");

        var beforeCut = (await DeliveryAsync()).Received;
        _link.Down = true;
        // The outage is the fault itself, as in DeliveryTests: the edge keeps polling (2 messages/s) into its queue.
        await Task.Delay(Outage);
        _link.Down = false;
        Assert.True(_link.Cut > 0, "the relay cut the edge's connection");

        // Drained: the stored messages include those numbered during the outage, and none is missing; the live lane
        // jumps ahead at reconnect, so holes stay open until the backlog has filled them.
        var atLeast = beforeCut + (long)(Outage.TotalSeconds * 2 * 0.8);
        await Eventually.TrueAsync(
            async () => await DeliveryAsync() is var (received, missing) && received >= atLeast && missing == 0,
            TimeSpan.FromSeconds(120),
            $"the backlog to drain past {atLeast} messages with none missing{Logs}");

        // Stopped cleanly, the edge sends what little is live; then every message it ever numbered must be stored.
        _edge.Terminate();
        long last;
        using (var queue = DiskQueue.Open(new DiskQueueOptions { Directory = QueueDir }, TimeProvider.System, NullLogger.Instance))
        {
            Assert.Equal(0, queue.Count);
            last = queue.LastSeq;
        }

        await Eventually.TrueAsync(
            async () => await DeliveryAsync() == (last, 0),
            TimeSpan.FromSeconds(30),
            $"the delivery summary to count all {last} messages with none missing{Logs}");
        // One poll of one device per message, one timestamp per poll: one point per message.
        Assert.Equal(last, await PointsAsync());
    }
}
