using IoTPilots.Edge;
using IoTPilots.Edge.Publishing;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Uplinks;

/// <summary>
/// The pipelined drainer against an in-memory queue and uplink on a fake clock: windows, lanes, out-of-order and
/// lost acknowledgements, "no subscriber" holds, reconnects and the final drain, without a broker or a network.
/// </summary>
public sealed class UplinkDrainerTests : IAsyncDisposable
{
    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(200);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly InMemoryQueue _queue = new();
    private readonly FakeUplink _uplink;
    private readonly EdgeMetrics _metrics = new();
    private readonly CancellationTokenSource _stop = new();
    private UplinkDrainer? _drainer;
    private Task _running = Task.CompletedTask;

    public UplinkDrainerTests() => _uplink = new FakeUplink(_time);

    private UplinkDrainer Start(int window = 8, int backfillRate = 1000)
    {
        _drainer = new UplinkDrainer(_queue, _uplink, new DrainerOptions(window, backfillRate), state => System.Text.Encoding.UTF8.GetBytes(state), _metrics, _time, NullLogger.Instance);
        _running = Task.Run(() => _drainer.RunAsync(_stop.Token));
        return _drainer;
    }

    /// <summary>Waits (in real time, briefly) for the drainer's thread to catch up with what the test did.</summary>
    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(1);
        }
    }

    /// <summary>Waits for <paramref name="condition"/> and for the drainer to be asleep again, so the test may move the clock.</summary>
    private Task Settled(Func<bool> condition, string what) => Until(() => condition() && _drainer!.Asleep, what);

    [Fact]
    public async Task Keeps_a_full_window_in_flight_and_acks_the_queue_in_any_order()
    {
        _uplink.Connect();
        Start(window: 8);
        await Until(() => _uplink.Statuses.Count == 1, "the online status");
        _queue.Append(20);
        await Until(() => _uplink.InFlight == 8, "a full window");

        // PUBACKs come back out of order: each acks its own record, and the window refills behind them.
        _uplink.Answer([5, 2, 8]);
        await Until(() => _queue.Read(5) is null && _queue.Read(2) is null && _queue.Read(8) is null && _uplink.InFlight == 8, "three acks and a refill");
        Assert.NotNull(_queue.Read(1));
        while (_queue.Count > 0)
        {
            var owed = _uplink.PendingSeqs.Reverse().ToList();
            _uplink.Answer(owed);
            await Until(() => _uplink.InFlight == Math.Min(8, _queue.Count), "the window to refill");
        }

        Assert.Equal(8, _uplink.MaxInFlight);
        Assert.Equal(20, _uplink.Sent.Count);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), _uplink.Sent.Select(s => s.Seq).Order());
    }

    /// <summary>Queues <paramref name="records"/> live records on a 200 ms link and lets round trips pass, each carrying a full window.</summary>
    private async Task DrainInRoundTripsAsync(int window, int records, int expectedWindow)
    {
        _uplink.RoundTrip = Rtt;
        _uplink.Connect();
        Start(window);
        await Until(() => _uplink.Statuses.Count == 1, "the online status");
        _queue.Append(records);
        for (var trip = 1; trip <= records / expectedWindow; trip++)
        {
            await Until(() => _uplink.InFlight == expectedWindow, $"a window of {expectedWindow} on trip {trip}");
            _time.Advance(Rtt);
        }

        await Until(() => _queue.Count == 0, "the queue to drain");
        Assert.Equal(records, _uplink.Sent.Count);
        Assert.Equal(expectedWindow, _uplink.MaxInFlight);
    }

    // 64 in flight on a 200 ms round trip: 640 records in 10 round trips (320 messages/s), where one at a time would make 5.
    [Fact]
    public Task Sends_a_window_per_round_trip_on_a_slow_link() => DrainInRoundTripsAsync(window: 64, records: 640, expectedWindow: 64);

    // MQTT 5.0 §4.9: no more unacknowledged QoS 1 publishes than the server's Receive Maximum (Mosquitto sends its
    // max_inflight_messages, 20 by default, in CONNACK).
    [Fact]
    public Task The_window_never_exceeds_the_brokers_receive_maximum()
    {
        _uplink.ReceiveMaximum = 20;
        return DrainInRoundTripsAsync(window: 256, records: 100, expectedWindow: 20);
    }

    [Fact]
    public async Task Live_records_go_first_and_the_backlog_drains_at_the_backfill_rate()
    {
        _queue.Append(100); // an outage's backlog: queued before the link came up
        _uplink.RoundTrip = Rtt;
        _uplink.Connect();
        Start(window: 64, backfillRate: 20);
        await Until(() => _uplink.Statuses.Count == 1, "the online status");
        _queue.Append(10); // live
        await Until(() => _uplink.Sent.Count(s => s.Seq > 100) == 10, "the live records");
        Assert.DoesNotContain(_uplink.Sent, s => s.Seq <= 100);

        // One second later the bucket has let through at most one second's worth of backlog (20/s).
        await Settled(() => true, "the drainer to sleep");
        for (var i = 0; i < 10; i++)
        {
            var step = i;
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Settled(() => _uplink.Sent.Count(s => s.Seq <= 100) >= (2 * (step + 1)) - 1, "backlog at the backfill rate");
        }

        var backlogSent = _uplink.Sent.Count(s => s.Seq <= 100);
        Assert.InRange(backlogSent, 19, 21);
        Assert.Equal(Enumerable.Range(1, backlogSent).Select(i => (long)i), _uplink.Sent.Where(s => s.Seq <= 100).Select(s => s.Seq));
    }

    [Fact]
    public async Task A_failed_publish_is_sent_again_and_nothing_is_lost()
    {
        _uplink.Connect();
        Start(window: 4);
        await Until(() => _uplink.Statuses.Count == 1, "the online status");
        _queue.Append(4);
        await Until(() => _uplink.InFlight == 4, "a full window");
        _uplink.Answer([1, 2, 4]);
        _uplink.Answer([3], PublishOutcome.Failed);
        await Settled(() => _queue.Count == 1 && _drainer!.InFlight == 0, "three acks and a failure");
        Assert.Equal(4, _uplink.SentCount);

        _time.Advance(TimeSpan.FromMilliseconds(200)); // the retry pause
        await Until(() => _uplink.PendingSeqs.SequenceEqual([3L]), "record 3 sent again");
        _uplink.Answer([3]);
        await Until(() => _queue.Count == 0, "record 3 acked");
    }

    [Fact]
    public async Task After_a_reconnect_everything_that_was_in_flight_goes_out_again()
    {
        _uplink.Connect();
        Start(window: 8);
        await Until(() => _uplink.Statuses.Count == 1, "the online status");
        _queue.Append(12);
        await Until(() => _uplink.InFlight == 8, "a full window");
        _uplink.Answer([2, 7]);
        await Until(() => _queue.Count == 10, "two acks");

        // The link drops with six PUBACKs owed; they are lost, and the drainer must not wait for them.
        _uplink.Drop();
        _uplink.Connect();
        await Settled(() => _uplink.Statuses.Count == 2, "the online status on the new connection");

        // What was queued before the reconnect is backlog now, and goes out as the bucket refills.
        _time.Advance(TimeSpan.FromSeconds(1));
        await Until(() => _uplink.InFlight == 8, "a full window on the new connection");
        var second = _uplink.Sent.Where(s => s.Connection == 2).Select(s => s.Seq).ToList();
        Assert.Equal([1L, 3, 4, 5, 6, 8, 9, 10], second.Order());

        while (_queue.Count > 0)
        {
            _uplink.Answer(_uplink.PendingSeqs);
            await Settled(() => _uplink.InFlight == Math.Min(8, _queue.Count), "the window to refill");
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.DoesNotContain(_uplink.Sent, s => s.Connection == 2 && s.Seq is 2 or 7);
        Assert.Equal(12, _uplink.Sent.Where(s => s.Connection == 2).Select(s => s.Seq).Concat([2L, 7]).Distinct().Count());
    }

    [Fact]
    public async Task A_late_ack_from_the_old_connection_still_counts()
    {
        _uplink.Connect();
        Start(window: 8);
        await Until(() => _uplink.Statuses.Count == 1, "the online status");
        _queue.Append(3);
        await Until(() => _uplink.InFlight == 3, "three in flight");
        _uplink.Drop(failPending: false);
        _uplink.Connect();
        await Settled(() => _uplink.Statuses.Count == 2, "the online status on the new connection");
        _time.Advance(TimeSpan.FromSeconds(1));
        await Until(() => _uplink.Sent.Count(s => s.Connection == 2) == 3, "the three sent again");
        _uplink.Answer([1, 2, 3]);
        await Until(() => _queue.Count == 0, "the queue to empty");
    }

    [Fact]
    public async Task No_subscriber_holds_the_queue_and_probes_with_one_record_until_the_cloud_is_back()
    {
        _uplink.Outcome = _ => PublishOutcome.NoSubscriber;
        _uplink.RoundTrip = Rtt;
        _uplink.Connect();
        Start(window: 8);
        await Until(() => _uplink.Statuses.Count == 1, "the online status");
        _queue.Append(8);
        await Until(() => _uplink.InFlight == 8, "a full window");
        _time.Advance(Rtt);
        await Settled(() => _drainer!.InFlight == 0, "eight refusals");
        Assert.Equal(8, _queue.Count);

        // Holding: after the pause, one record at a time, and it is still the same queue.
        _uplink.MaxInFlight = 0;
        for (var probe = 0; probe < 3; probe++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Settled(() => _uplink.InFlight == 1, "one probe");
            _time.Advance(Rtt);
            await Settled(() => _drainer!.InFlight == 0, "the probe refused");
        }

        Assert.Equal(8 + 3, _uplink.SentCount);
        Assert.Equal(1, _uplink.MaxInFlight);
        Assert.Equal(8, _queue.Count);

        // The cloud is back: the next probe is acknowledged and the window opens again.
        _uplink.Outcome = _ => PublishOutcome.Acked;
        _time.Advance(TimeSpan.FromSeconds(1));
        await Settled(() => _uplink.InFlight == 1, "one probe");
        _time.Advance(Rtt);
        await Settled(() => _uplink.InFlight == 7, "the window open again");
        _time.Advance(Rtt);
        await Until(() => _queue.Count == 0, "the queue to drain");
    }

    [Fact]
    public async Task A_clean_stop_sends_what_is_queued_then_says_offline()
    {
        _uplink.Connect();
        _queue.Append(30); // backlog, which the bucket would otherwise hold back
        var drainer = Start(window: 8, backfillRate: 1);
        await Until(() => _uplink.Statuses.Count == 1, "the online status");
        _uplink.RoundTrip = TimeSpan.Zero;
        await _stop.CancelAsync();
        while (!_running.IsCompleted)
        {
            _uplink.Answer(_uplink.PendingSeqs);
            await Task.Yield();
        }

        await _running;
        Assert.Equal(0, _queue.Count);
        Assert.Equal(30, drainer.Acked);
        Assert.Equal(["online", "offline"], _uplink.Statuses);
        Assert.True(_queue.Saves > 0);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _uplink.Drop(failPending: true);
        await _running.WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
        _metrics.Dispose();
    }
}
