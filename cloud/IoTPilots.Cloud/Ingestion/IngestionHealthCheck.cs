using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace IoTPilots.Cloud.Ingestion;

/// <summary>
/// Ready when this process's ingestion subscription exists on the broker: only then does a message an edge
/// publishes have somewhere to go. <c>GET /healthz</c> answers 200 then and 503 before (and while the broker is
/// away), so scripts and load balancers wait on this instead of on log text.
/// </summary>
public sealed class IngestionHealthCheck(IngestionSubscription subscription, IngestionOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(subscription.IsActive
            ? HealthCheckResult.Healthy($"subscribed to {options.Filter} at {options.Broker}")
            : HealthCheckResult.Unhealthy($"not subscribed at {options.Broker} yet"));
}
