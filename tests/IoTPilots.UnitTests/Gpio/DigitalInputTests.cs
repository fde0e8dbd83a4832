using System.Device.Gpio;
using IoTPilots.Edge.Gpio;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Gpio;

public sealed class DigitalInputTests
{
    private static readonly TimeSpan Debounce = Debouncer.DefaultDebounceTime;
    private static readonly TimeSpan SamplePeriod = TimeSpan.FromMilliseconds(10);

    private readonly FakeTimeProvider _time = new();
    private readonly FakePin _pin = new();

    [Fact]
    public void Chatter_shorter_than_the_debounce_time_is_ignored()
    {
        var input = new DigitalInput(_pin, _time);
        Sample(input, PinValue.Low);

        // A bouncing contact: the level flips every 20 ms for 200 ms, never holding for 50 ms.
        for (var i = 0; i < 10; i++)
        {
            Sample(input, PinValue.High);
            Sample(input, PinValue.High);
            Sample(input, PinValue.Low);
            Sample(input, PinValue.Low);
        }

        Assert.False(input.IsActive);
        Assert.Equal(0, input.Transitions);
    }

    [Fact]
    public void A_stable_change_is_accepted_exactly_once()
    {
        var input = new DigitalInput(_pin, _time);
        Sample(input, PinValue.Low);

        for (var i = 0; i < 30; i++)
        {
            Sample(input, PinValue.High);
        }

        Assert.True(input.IsActive);
        Assert.Equal(1, input.Transitions);
        Assert.Equal(1, input.Activations);
    }

    [Fact]
    public void Change_is_accepted_when_it_has_held_for_the_debounce_time()
    {
        var debouncer = new Debouncer(_time);
        debouncer.Update(false);

        Assert.False(debouncer.Update(true));
        _time.Advance(Debounce - TimeSpan.FromMilliseconds(1));
        Assert.False(debouncer.Update(true));
        Assert.False(debouncer.State);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(debouncer.Update(true));
        Assert.True(debouncer.State);
    }

    [Fact]
    public void A_glitch_restarts_the_debounce_time()
    {
        var debouncer = new Debouncer(_time);
        debouncer.Update(false);

        debouncer.Update(true);
        _time.Advance(TimeSpan.FromMilliseconds(40));
        debouncer.Update(false);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        debouncer.Update(true);
        _time.Advance(TimeSpan.FromMilliseconds(40));

        Assert.False(debouncer.Update(true));
        _time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.True(debouncer.Update(true));
    }

    [Fact]
    public void Active_low_inverts_the_pin_level()
    {
        // A contact closing to ground against a pull-up: low means running.
        var input = new DigitalInput(_pin, _time, activeLow: true);

        Assert.True(Sample(input, PinValue.Low));
        Assert.True(input.IsActive);

        for (var i = 0; i < 10; i++)
        {
            Sample(input, PinValue.High);
        }

        Assert.False(input.IsActive);
        Assert.Equal(1, input.Transitions);
        Assert.Equal(0, input.Activations);
    }

    [Fact]
    public void First_sample_sets_the_state_without_counting()
    {
        var input = new DigitalInput(_pin, _time);

        Assert.True(Sample(input, PinValue.High));
        Assert.Equal(0, input.Transitions);
        Assert.Equal(0, input.Activations);
    }

    [Fact]
    public void Activations_count_run_cycles()
    {
        var input = new DigitalInput(_pin, _time);
        Sample(input, PinValue.Low);

        foreach (var level in new[] { PinValue.High, PinValue.Low, PinValue.High, PinValue.Low })
        {
            for (var i = 0; i < 10; i++)
            {
                Sample(input, level);
            }
        }

        Assert.Equal(4, input.Transitions);
        Assert.Equal(2, input.Activations);
    }

    [Fact]
    public void Pin_read_failure_is_reported_not_thrown()
    {
        _pin.Failure = new IOException("gpiochip0: line busy");
        var input = new DigitalInput(_pin, _time);

        Assert.False(input.TryRead(out _, out var failure));

        Assert.Equal(DigitalInputError.BusError, failure.Reason);
        Assert.Contains("line busy", failure.Detail, StringComparison.Ordinal);
    }

    /// <summary>Sets the pin, reads once, then lets one sample period pass.</summary>
    private bool Sample(DigitalInput input, PinValue level)
    {
        _pin.Level = level;
        Assert.True(input.TryRead(out var active, out var failure), failure.ToString());
        _time.Advance(SamplePeriod);
        return active;
    }

    private sealed class FakePin : IPinReader
    {
        public PinValue Level { get; set; } = PinValue.Low;

        public IOException? Failure { get; set; }

        public PinValue Read() => Failure is null ? Level : throw Failure;
    }
}
