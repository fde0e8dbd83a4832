using System.Diagnostics;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>Waits on a condition, never on a fixed sleep: polls until true or fails naming what it waited for.</summary>
public static class Eventually
{
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) => TrueAsync(condition, timeout, () => what);

    /// <summary>As above, with <paramref name="what"/> read when it gives up: a process's log as it was then, not as it was at the start of the wait.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"gave up after {timeout.TotalSeconds:0} s waiting for: {what()}");
            }

            await Task.Delay(100);
        }
    }

    public static async Task<T> ValueAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
        where T : class
    {
        T? value = null;
        await TrueAsync(async () => (value = await probe()) is not null, timeout, what);
        return value!;
    }
}
