using System.Net;
using IoTPilots.Cloud.Alerts;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Notifications;

/// <summary>How one attempt went.</summary>
public enum SendStatus
{
    Sent,

    /// <summary>Worth trying again later: a network error, a timeout, a 5xx, a 408 or a 429.</summary>
    Retry,

    /// <summary>Refused for a reason a retry would not change (a 4xx): recorded with the reason, never retried.</summary>
    Failed,
}

public sealed record SendResult(SendStatus Status, string? Error = null)
{
    public static SendResult Sent { get; } = new(SendStatus.Sent);

    /// <summary>Classifies an HTTP answer: 2xx sent; 408, 429 and 5xx retried; any other 4xx failed for good.</summary>
    public static SendResult FromHttp(HttpStatusCode status, string body)
    {
        var code = (int)status;
        var reason = $"HTTP {code} {status}: {body.Trim()}";
        return code switch
        {
            >= 200 and < 300 => Sent,
            408 or 429 or >= 500 => new SendResult(SendStatus.Retry, reason),
            _ => new SendResult(SendStatus.Failed, reason),
        };
    }
}

/// <summary>A way to reach people: one send of one outbox row. Adapters (HTTP, SMTP) only; the text is <see cref="NotificationText"/>'s.</summary>
public interface INotificationChannel
{
    /// <summary>The channel name in contacts and the outbox (<see cref="Channels"/>).</summary>
    string Name { get; }

    Task<SendResult> SendAsync(OutboxItem item, Alert alert, CancellationToken cancellationToken);
}

/// <summary>When to try a row again: exponential backoff from <see cref="First"/>, at most <see cref="Longest"/>, up to <see cref="MaxAttempts"/> attempts.</summary>
public sealed record Backoff(TimeSpan First, TimeSpan Longest, int MaxAttempts)
{
    public static Backoff Default { get; } = new(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(10), 15);

    /// <returns>The delay before the next attempt after <paramref name="attempts"/> failed ones, or null to give up.</returns>
    public TimeSpan? After(int attempts) =>
        attempts >= MaxAttempts ? null : TimeSpan.FromTicks(Math.Min(Longest.Ticks, First.Ticks * (1L << Math.Min(attempts - 1, 30))));
}
