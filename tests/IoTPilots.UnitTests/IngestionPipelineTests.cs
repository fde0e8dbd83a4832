using System.Collections.Concurrent;
using System.Text;
using IoTPilots.Cloud.Influx;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.Mqtt;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests;

/// <summary>The ingestion's no-loss rules, on an in-memory writer and messages with recorded acks: milliseconds, no broker.</summary>
public sealed class IngestionPipelineTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
    private readonly ScriptedWriter _writer = new();
    private readonly Acks _acks = new();
    private readonly IngestionStats _stats = new();

    private IngestionPipeline Pipeline(int writers = 2) =>
        new(new IngestionOptions(MqttEndpoint.Parse("mqtt://127.0.0.1:1883"), InfluxEndpoint.FromEnvironment(_ => null), "g", "1") { Writers = writers },
            _writer, _stats, DeviceRegistry.Open, _time, NullLogger.Instance);

    private InboundMessage Telemetry(long seq)
    {
        var m = new TelemetryMessage(Pilots.Aquaculture, "site-1", "gw-1", "tank-01", seq, [new Reading("do_mg_l", _time.GetUtcNow().AddMilliseconds(seq), 6.5, "mg/L", Quality.Good)]);
        return _acks.Message(m.Topic, TelemetryCodec.Encode(m), $"seq {seq}");
    }

    [Fact]
    public async Task A_message_is_acknowledged_only_after_its_lines_are_stored()
    {
        using var stop = new CancellationTokenSource();
        var pipeline = Pipeline();
        var running = pipeline.RunAsync(stop.Token);
        _writer.Hold();

        await pipeline.AcceptAsync(Telemetry(1), stop.Token);
        await _writer.NextCall.WaitAsync(Wait);

        Assert.Contains(_writer.LastLines, l => l.StartsWith("telemetry,device=tank-01,gateway=gw-1", StringComparison.Ordinal));
        Assert.Empty(_acks.Acked);
        _writer.Release();
        Assert.Equal(["seq 1"], await _acks.WaitForAsync(1));
        Assert.Equal(1, _stats.MessagesStored);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task Invalid_messages_are_quarantined_stored_and_acknowledged()
    {
        using var stop = new CancellationTokenSource();
        var pipeline = Pipeline();
        var running = pipeline.RunAsync(stop.Token);

        await pipeline.AcceptAsync(_acks.Message(Topics.Telemetry("site-1", "gw-1", "tank-01"), Encoding.UTF8.GetBytes("{not json"), "garbage"), stop.Token);
        await pipeline.AcceptAsync(_acks.Message("pilots/v1/site-1/gw-1/gap", Encoding.UTF8.GetBytes("[]"), "bad gap"), stop.Token);

        Assert.Equal(["garbage", "bad gap"], await _acks.WaitForAsync(2));
        var stored = _writer.Stored.SelectMany(w => w).ToList();
        Assert.Equal(2, stored.Count);
        Assert.All(stored, l => Assert.StartsWith("quarantine,reason=", l, StringComparison.Ordinal));
        Assert.Contains(stored, l => l.Contains("reason=MalformedJson", StringComparison.Ordinal));
        Assert.DoesNotContain(stored, l => l.Contains("not json", StringComparison.Ordinal));
        Assert.Equal(2, _stats.Rejected);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task While_influxdb_is_down_the_batch_is_held_and_retried_and_never_acknowledged()
    {
        using var stop = new CancellationTokenSource();
        var pipeline = Pipeline(writers: 1);
        var running = pipeline.RunAsync(stop.Token);
        _writer.FailNext(3);

        var call = _writer.NextCall;
        await pipeline.AcceptAsync(Telemetry(1), stop.Token);
        await call.WaitAsync(Wait);
        for (var retry = 1; retry <= 3; retry++)
        {
            Assert.Empty(_acks.Acked);
            // The retry waits on the clock (backoff 0.25, 0.5, 1 s): move it on until the next attempt comes.
            call = _writer.NextCall;
            await AdvanceUntilAsync(call);
        }

        Assert.Equal(["seq 1"], await _acks.WaitForAsync(1));
        Assert.Equal(4, _writer.Calls);
        Assert.Equal(3, _stats.WriteErrors);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task Stopping_acknowledges_nothing_that_is_not_stored()
    {
        using var stop = new CancellationTokenSource();
        var pipeline = Pipeline();
        var running = pipeline.RunAsync(stop.Token);
        _writer.Hold();

        await pipeline.AcceptAsync(Telemetry(1), stop.Token);
        await _writer.NextCall.WaitAsync(Wait);
        await pipeline.AcceptAsync(Telemetry(2), stop.Token);
        await stop.CancelAsync();
        await running.WaitAsync(Wait);

        Assert.Empty(_acks.Acked);
        Assert.Equal(0, _stats.MessagesStored);
    }

    [Fact]
    public async Task Acknowledgements_keep_arrival_order_when_a_later_write_finishes_first()
    {
        using var stop = new CancellationTokenSource();
        var pipeline = Pipeline(writers: 2);
        var running = pipeline.RunAsync(stop.Token);
        _writer.Hold();

        await pipeline.AcceptAsync(Telemetry(1), stop.Token);
        await _writer.NextCall.WaitAsync(Wait);
        await pipeline.AcceptAsync(Telemetry(2), stop.Token);
        await _writer.NextCall.WaitAsync(Wait);
        _writer.Release(1);
        await _writer.StoredCountAsync(1, Wait);
        Assert.Empty(_acks.Acked);
        _writer.Release(0);

        // MQTT 5, 4.6: PUBACKs go in the order the PUBLISHes came.
        Assert.Equal(["seq 1", "seq 2"], await _acks.WaitForAsync(2));
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task Messages_arriving_during_a_write_go_out_together_in_the_next_one()
    {
        using var stop = new CancellationTokenSource();
        var pipeline = Pipeline(writers: 1);
        var running = pipeline.RunAsync(stop.Token);
        _writer.Hold();

        await pipeline.AcceptAsync(Telemetry(1), stop.Token);
        await _writer.NextCall.WaitAsync(Wait);
        for (var seq = 2; seq <= 5; seq++)
        {
            await pipeline.AcceptAsync(Telemetry(seq), stop.Token);
        }

        _writer.Release();
        Assert.Equal(5, (await _acks.WaitForAsync(5)).Count);
        Assert.Equal(2, _writer.Calls);
        Assert.Equal(8, _writer.Stored[1].Count); // four messages: a point and a ledger line each
        await stop.CancelAsync();
        await running;
    }

    private async Task AdvanceUntilAsync(Task done)
    {
        using var cts = new CancellationTokenSource(Wait);
        while (!done.IsCompleted)
        {
            _time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.WhenAny(done, Task.Delay(2, cts.Token));
            cts.Token.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Messages whose acknowledgements are recorded in order.</summary>
    private sealed class Acks
    {
        private readonly ConcurrentQueue<string> _acked = new();
        private readonly SemaphoreSlim _signal = new(0);

        public IReadOnlyList<string> Acked => [.. _acked];

        public InboundMessage Message(string topic, byte[] payload, string name) => new(topic, payload, _ =>
        {
            _acked.Enqueue(name);
            _signal.Release();
            return ValueTask.CompletedTask;
        });

        public async Task<IReadOnlyList<string>> WaitForAsync(int count)
        {
            while (_acked.Count < count)
            {
                Assert.True(await _signal.WaitAsync(Wait), $"{count} acknowledgements expected, {_acked.Count} came");
            }

            return Acked;
        }
    }

    /// <summary>An <see cref="IPointWriter"/> that can hold writes until released, or fail the next few.</summary>
    private sealed class ScriptedWriter : IPointWriter
    {
        private readonly Lock _gate = new();
        private readonly List<TaskCompletionSource> _held = [];
        private readonly SemaphoreSlim _calls = new(0);
        private bool _hold;
        private int _failures;

        public List<IReadOnlyList<string>> Stored { get; } = [];

        public int Calls { get; private set; }

        public IReadOnlyList<string> LastLines { get; private set; } = [];

        public Task NextCall => _calls.WaitAsync();

        public void Hold() => _hold = true;

        public void FailNext(int count) => _failures = count;

        /// <summary>Lets held write <paramref name="index"/> finish (all of them, and later ones, without an index).</summary>
        public void Release(int? index = null)
        {
            lock (_gate)
            {
                if (index is { } i)
                {
                    _held[i].TrySetResult();
                    return;
                }

                _hold = false;
                foreach (var h in _held)
                {
                    h.TrySetResult();
                }
            }
        }

        public async Task StoredCountAsync(int count, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                lock (_gate)
                {
                    if (Stored.Count >= count)
                    {
                        return;
                    }
                }

                await Task.Delay(1, cts.Token);
            }
        }

        public async Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
        {
            TaskCompletionSource? held = null;
            bool fail;
            lock (_gate)
            {
                Calls++;
                LastLines = [.. lines];
                fail = _failures > 0;
                if (fail)
                {
                    _failures--;
                }
                else if (_hold)
                {
                    held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _held.Add(held);
                }
            }

            _calls.Release();
            if (fail)
            {
                throw new InfluxUnavailableException("InfluxDB at test unreachable", null);
            }

            if (held is not null)
            {
                await held.Task.WaitAsync(cancellationToken);
            }

            lock (_gate)
            {
                Stored.Add([.. lines]);
            }
        }
    }
}
