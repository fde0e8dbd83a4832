using System.Text;
using IoTPilots.Mqtt;

namespace IoTPilots.UnitTests.Fakes;

/// <summary>The broker for a consumer under test: every subscription it opens, to deliver messages to by hand.</summary>
public sealed class FakeMessageSources : IMessageSources
{
    private readonly Lock _gate = new();
    private readonly List<FakeMessageSource> _opened = [];

    public IReadOnlyList<FakeMessageSource> Opened
    {
        get
        {
            lock (_gate)
            {
                return [.. _opened];
            }
        }
    }

    public IMessageSource Open(MessageSourceOptions options)
    {
        var source = new FakeMessageSource(options);
        lock (_gate)
        {
            _opened.Add(source);
        }

        return source;
    }
}

/// <summary>One subscription: runs until cancelled, and hands <see cref="DeliverAsync"/>'s messages to the consumer's handler.</summary>
public sealed class FakeMessageSource(MessageSourceOptions options) : IMessageSource
{
    private Func<InboundMessage, CancellationToken, ValueTask>? _handler;

    public MessageSourceOptions Options { get; } = options;

    public bool Stopped { get; private set; }

    public async Task RunAsync(Func<InboundMessage, CancellationToken, ValueTask> handler, CancellationToken cancellationToken)
    {
        _handler = handler;
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Stopped = true;
        }
    }

    public async Task DeliverAsync(string topic, string payload)
    {
        await Until(() => _handler is not null);
        await _handler!(new InboundMessage(topic, Encoding.UTF8.GetBytes(payload), _ => ValueTask.CompletedTask), CancellationToken.None);
    }

    /// <summary>The consumer's loops run on their own: give them a moment (never a fixed sleep as the answer).</summary>
    public static async Task Until(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(5);
        }

        Assert.True(condition());
    }
}
