using System.Text;
using IoTPilots.Edge.Serial;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.Testing;

/// <summary>
/// A serial line that plays a script against a <see cref="FakeTimeProvider"/>: bytes the device sends, pauses
/// that move the clock, failures, and replies triggered by the commands written. Waiting for bytes that are not
/// coming advances the clock by the whole timeout and returns 0, as silence on a real line would.
/// </summary>
public sealed class ScriptedSerialLine(FakeTimeProvider time) : ISerialLine
{
    private readonly LinkedList<Step> _incoming = new();
    private readonly Dictionary<string, object[]> _replies = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name => "/dev/ttyFAKE0";

    public int BaudRate => 9600;

    public int BitsPerCharacter => 10;

    /// <summary>Commands written, without their <c>\r</c>.</summary>
    public List<string> Written { get; } = [];

    public int Discards { get; private set; }

    /// <summary>
    /// When set, a read that finds the script exhausted blocks until cancelled instead of reporting silence, and
    /// <see cref="Drained"/> completes: a listener test can then wait for the script to be consumed.
    /// </summary>
    public bool BlockWhenDrained { get; init; }

    public Task Drained => _drained.Task;

    /// <summary>Queues what the device sends: a string (ASCII), a byte[] (raw), a TimeSpan (a pause) or an Exception (thrown by the read).</summary>
    public ScriptedSerialLine Send(params object[] steps)
    {
        foreach (var step in steps)
        {
            _incoming.AddLast(Step.From(step));
        }

        return this;
    }

    /// <summary>Queues <paramref name="steps"/> each time <paramref name="command"/> is written.</summary>
    public ScriptedSerialLine On(string command, params object[] steps)
    {
        _replies[command] = steps;
        return this;
    }

    public Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var text = Encoding.ASCII.GetString(data.Span);
        Assert.EndsWith("\r", text, StringComparison.Ordinal);
        foreach (var command in text.Split('\r', StringSplitOptions.RemoveEmptyEntries))
        {
            Written.Add(command);
            if (_replies.TryGetValue(command, out var steps))
            {
                Send(steps);
            }
        }

        return Task.CompletedTask;
    }

    public async Task<int> ReadAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var budget = timeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_incoming.First is not { } first)
            {
                if (BlockWhenDrained)
                {
                    _drained.TrySetResult();
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                time.Advance(budget);
                return 0;
            }

            var step = first.Value;
            _incoming.RemoveFirst();
            switch (step)
            {
                case Pause pause when pause.Length <= budget:
                    time.Advance(pause.Length);
                    budget -= pause.Length;
                    continue;
                case Pause pause:
                    time.Advance(budget);
                    _incoming.AddFirst(new Pause(pause.Length - budget));
                    return 0;
                case Failure failure:
                    throw failure.Exception;
                case Bytes bytes:
                    var n = Math.Min(bytes.Data.Length, buffer.Length);
                    bytes.Data.AsSpan(0, n).CopyTo(buffer.Span);
                    if (n < bytes.Data.Length)
                    {
                        _incoming.AddFirst(new Bytes(bytes.Data[n..]));
                    }

                    return n;
            }
        }
    }

    /// <summary>Drops the bytes that have already arrived: those queued before the next pause.</summary>
    public void DiscardInput()
    {
        Discards++;
        while (_incoming.First?.Value is Bytes)
        {
            _incoming.RemoveFirst();
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private abstract record Step
    {
        public static Step From(object step) => step switch
        {
            string s => new Bytes(Encoding.ASCII.GetBytes(s)),
            byte[] b => new Bytes(b),
            TimeSpan t => new Pause(t),
            Exception e => new Failure(e),
            _ => throw new ArgumentException($"cannot script {step}", nameof(step)),
        };
    }

    private sealed record Bytes(byte[] Data) : Step;

    private sealed record Pause(TimeSpan Length) : Step;

    private sealed record Failure(Exception Exception) : Step;
}
