using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;

namespace IoTPilots.Mqtt;

/// <summary>
/// Keeps one MQTT client connected: MQTTnet 5 has no managed client, so this owns the reconnect loop, with
/// exponential backoff (0.5 s doubling to 30 s) and ±25 % jitter so a fleet of gateways does not reconnect in
/// lock-step after a broker restart. <see cref="OnConnected"/> runs after every (re)connect, to subscribe or
/// publish a birth message. Persistent sessions (clean start off) are the default, so QoS 1 traffic queued
/// by the broker survives a reconnect.
/// </summary>
public sealed class MqttSession : IAsyncDisposable
{
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly MqttEndpoint _endpoint;
    private readonly ILogger _logger;
    private readonly MqttClientOptions _options;
    private readonly SemaphoreSlim _disconnected = new(0, 1);
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MqttSession(MqttEndpoint endpoint, string clientId, ILogger logger, Action<MqttClientOptionsBuilder>? configure = null, bool cleanStart = false)
    {
        _endpoint = endpoint;
        _logger = logger;
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(endpoint.Host, endpoint.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(cleanStart)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (!cleanStart)
        {
            // Keep the broker-side session (subscriptions and queued QoS 1 messages) for a week of outage.
            builder.WithSessionExpiryInterval(7 * 24 * 3600);
        }

        if (endpoint.Username is not null)
        {
            builder.WithCredentials(endpoint.Username, endpoint.Password ?? "");
        }

        if (endpoint.Tls)
        {
            builder.WithTlsOptions(o => o.UseTls());
        }

        configure?.Invoke(builder);
        _options = builder.Build();
        Client = new MqttClientFactory().CreateMqttClient();
        Client.DisconnectedAsync += e =>
        {
            if (_connected.Task.IsCompleted)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (_disconnected.CurrentCount == 0)
            {
                _disconnected.Release();
            }

            return Task.CompletedTask;
        };
    }

    public IMqttClient Client { get; }

    public bool IsConnected => Client.IsConnected;

    /// <summary>Runs after each successful connect, before <see cref="WaitConnectedAsync"/> completes.</summary>
    public Func<IMqttClient, CancellationToken, Task>? OnConnected { get; set; }

    public long Reconnects { get; private set; }

    public Task WaitConnectedAsync(CancellationToken cancellationToken) => _connected.Task.WaitAsync(cancellationToken);

    /// <summary>Connects, and reconnects whenever the link drops, until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = MinBackoff;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (Client.IsConnected)
            {
                try
                {
                    await _disconnected.WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                continue;
            }

            try
            {
                await Client.ConnectAsync(_options, cancellationToken).ConfigureAwait(false);
                if (OnConnected is not null)
                {
                    await OnConnected(Client, cancellationToken).ConfigureAwait(false);
                }

                if (failures > 0 || Reconnects > 0)
                {
                    _logger.LogInformation("MQTT connected to {Broker} after {Failures} failed attempts", _endpoint, failures);
                }
                else
                {
                    _logger.LogInformation("MQTT connected to {Broker}", _endpoint);
                }

                Reconnects++;
                failures = 0;
                backoff = MinBackoff;
                _connected.TrySetResult();
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failures++;
                var delay = backoff * (0.75 + (Random.Shared.NextDouble() * 0.5));
                if (failures == 1 || failures % 10 == 0)
                {
                    _logger.LogWarning("MQTT broker {Broker} unreachable ({Error}); attempt {Failures}, next in {Delay:0.0} s", _endpoint, ex.Message, failures, delay.TotalSeconds);
                }

                try
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Client.IsConnected)
        {
            try
            {
                await Client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build()).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogDebug(ex, "MQTT disconnect failed");
            }
        }

        Client.Dispose();
        _disconnected.Dispose();
    }
}
