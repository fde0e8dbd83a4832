using System.Text;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Cloud.Live;
using IoTPilots.Contract;
using IoTPilots.Mqtt;
using IoTPilots.Rules;
using IoTPilots.UnitTests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Live;

/// <summary>The live view's subscription to the stream: made while someone watches, fed into the tiles, dropped a minute after the last viewer.</summary>
public sealed class LiveServiceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-live-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_stream_is_subscribed_only_while_someone_watches_and_feeds_the_tiles()
    {
        var ingestion = new IngestionOptions(MqttEndpoint.Parse("mqtt://127.0.0.1:1"), InfluxEndpoint.FromEnvironment(_ => null), "ingest", "2");
        var subscription = new IngestionSubscription();
        subscription.Subscribed();
        var sources = new FakeMessageSources();
        var state = new PlantState(new Zones(RuleSet.Load(RuleSet.DefaultFile)), DeviceRegistry.Open);
        var hub = new LiveHub();
        using var store = AlertStore.Open(Path.Combine(_dir, "alerts.db"), _time);
        using var service = new LiveService(ingestion, subscription, sources, state, hub, store, new NoInflux(), _time, NullLogger<LiveService>.Instance);
        await service.StartAsync(CancellationToken.None);

        await Tick(4);
        Assert.Empty(sources.Opened);

        var viewer = hub.Subscribe(_ => true);
        await Ticking(() => sources.Opened.Count == 1);
        var source = sources.Opened[0];
        Assert.Equal("cloud-live-ingest-2", source.Options.ClientId);
        Assert.Equal([Topics.AllTelemetry, GatewayStatus.AllTopics], source.Options.Filters);
        Assert.True(source.Options is { CleanStart: true, AtMostOnce: true, AutoAck: true });

        var reading = $"{{\"v\":1,\"pilot\":\"aquaculture\",\"site\":\"s\",\"gateway\":\"g\",\"device\":\"tank-03\",\"seq\":1,\"readings\":[{{\"field\":\"do_mg_l\",\"ts\":{_time.GetUtcNow().ToUnixTimeMilliseconds()},\"value\":2.5,\"unit\":\"mg/L\",\"q\":\"good\"}}]}}";
        await source.DeliverAsync("pilots/v1/s/g/tank-03/telemetry", reading);
        await source.DeliverAsync("pilots/v1/s/g/status", Encoding.UTF8.GetString(new GatewayStatus("s", "g", GatewayStatus.Offline, _time.GetUtcNow(), 3, null).Encode()));
        await Ticking(() => viewer.Pending == 2);
        var events = viewer.Take();
        Assert.Contains(events, e => e.Kind == "device" && e.Data.Contains("\"level\":\"critical\"", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Kind == "gateway" && e.Data.Contains("\"state\":\"offline\"", StringComparison.Ordinal));

        hub.Unsubscribe(viewer);
        await Tick((int)(LiveService.IdleGrace / LiveService.FlushInterval) - 2);
        Assert.False(source.Stopped);
        await Ticking(() => source.Stopped && !service.Subscribed);

        await service.StopAsync(CancellationToken.None);
    }

    private async Task Tick(int ticks)
    {
        for (var i = 0; i < ticks; i++)
        {
            _time.Advance(LiveService.FlushInterval);
            await Task.Yield();
        }
    }

    /// <summary>Moves the clock a tick at a time until <paramref name="condition"/> holds (the service loop runs on its own thread).</summary>
    private async Task Ticking(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Tick(1);
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    private sealed class NoInflux : ITelemetryQuery
    {
        public Task<IReadOnlyList<InfluxSeries>> SeriesAsync(string influxQl, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<InfluxSeries>>([]);
    }
}
