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
    private readonly Dictionary<string, Func<ReadOnlyMemory<byte>, CancellationToken, Task>> _subscriptions = [];
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MqttSession(MqttEndpoint endpoint, string clientId, ILogger logger, Action<MqttClientOptionsBuilder>? configure = null, bool cleanStart = false)
    {
        _endpoint = endpoint;
        _logger = logger;
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(endpoint.Host, endpoint.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(endpoint.Mqtt311 ? MqttProtocolVersion.V311 : MqttProtocolVersion.V500)
            .WithCleanStart(cleanStart)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (!cleanStart && !endpoint.Mqtt311)
        {
            // Keep the broker-side session (subscriptions and queued QoS 1 messages) for a week of outage.
            builder.WithSessionExpiryInterval(7 * 24 * 3600);
        }

        if (endpoint.Username is not null)
        {
            builder.WithCredentials(endpoint.Username, endpoint.Password ?? "");
        }

        if (endpoint.Tls || endpoint.ClientCertificate is not null)
        {
            builder.WithTlsOptions(o =>
            {
                o.UseTls();
                if (endpoint.ClientCertificate is { } certificate)
                {
                    o.WithClientCertificates([certificate]);
                }

                if (endpoint.TrustedCa is { } roots)
                {
                    o.WithCertificateValidationHandler(e => BrokerTrust.Validate(e.Certificate, e.Chain, e.SslPolicyErrors, roots));
                }
            });
        }

        configure?.Invoke(builder);
        if (endpoint.Mqtt311)
        {
            // MQTT 3.1.1 has no receive maximum (MQTTnet refuses one there); a 3.1.1 persistent session never expires.
            builder.WithReceiveMaximum(0);
        }

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

    /// <summary>
    /// The MQTTnet client, for adapters inside this assembly only: MQTTnet types stay in IoTPilots.Mqtt, so the
    /// code above the seams (<see cref="IUplink"/> on the edge) can be tested with plain fakes.
    /// </summary>
    internal IMqttClient Client { get; }

    public bool IsConnected => Client.IsConnected;

    /// <summary>The server's Receive Maximum on the current connection: QoS 1 publishes it accepts unacknowledged.</summary>
    public int ReceiveMaximum { get; private set; } = ushort.MaxValue;

    /// <summary>Successful connects so far; a new value means a new connection.</summary>
    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>Runs after each successful connect, before <see cref="WaitConnectedAsync"/> completes.</summary>
    public Func<IMqttClient, CancellationToken, Task>? OnConnected { get; set; }

    public long Reconnects { get; private set; }

    private long _connections;

    /// <summary>Raised after each successful connect, once <see cref="Connections"/> counts it.</summary>
    internal event EventHandler? Connected;

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
                var result = await Client.ConnectAsync(_options, cancellationToken).ConfigureAwait(false);
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                {
                    // MQTTnet 5 returns a refused CONNACK instead of throwing (MqttClient.ConnectAsync).
                    throw new ConnectRefusedException(result.ResultCode, result.ReasonString);
                }

                // CONNACK's Receive Maximum; absent (always on MQTT 3.1.1) means 65535 (MQTT 5.0 §3.2.2.3.3).
                ReceiveMaximum = result.ReceiveMaximum is > 0 and { } max ? max : ushort.MaxValue;
                await SubscribeAllAsync(cancellationToken).ConfigureAwait(false);
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
                Interlocked.Increment(ref _connections);
                Connected?.Invoke(this, EventArgs.Empty);
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
                    if (Refusal(ex) is { } refused)
                    {
                        // Not a link problem: retrying cannot help until someone fixes the credentials or the CA, so say so
                        // as an error. Still retried (the broker's password file may be reloaded), and nothing queued is lost.
                        _logger.LogError("MQTT broker {Broker} refused the connection as {User}: {Reason}; attempt {Failures}, next in {Delay:0.0} s", _endpoint, _endpoint.Username ?? "(anonymous)", refused, failures, delay.TotalSeconds);
                    }
                    else
                    {
                        _logger.LogWarning("MQTT broker {Broker} unreachable ({Error}); attempt {Failures}, next in {Delay:0.0} s", _endpoint, ex.Message, failures, delay.TotalSeconds);
                    }
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

    /// <summary>
    /// Subscribes to <paramref name="topic"/> at QoS 1 on every connection from now on, and hands each message on it to
    /// <paramref name="handler"/>. MQTTnet acknowledges the message when the handler returns (AutoAcknowledge).
    /// </summary>
    internal void Subscribe(string topic, Func<ReadOnlyMemory<byte>, CancellationToken, Task> handler)
    {
        lock (_subscriptions)
        {
            if (_subscriptions.Count == 0)
            {
                Client.ApplicationMessageReceivedAsync += DispatchAsync;
            }

            _subscriptions[topic] = handler;
        }
    }

    private Task DispatchAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        Func<ReadOnlyMemory<byte>, CancellationToken, Task>? handler;
        lock (_subscriptions)
        {
            _subscriptions.TryGetValue(e.ApplicationMessage.Topic, out handler);
        }

        return handler is null ? Task.CompletedTask : handler(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload), CancellationToken.None);
    }

    /// <summary>
    /// Renews the subscriptions after each connect. A persistent session would keep them, but a clean one, a broker
    /// that lost its state, or an expired session would not. A SUBACK refusal (an ACL, MQTT 5.0 §3.9.3) is logged as an
    /// error and not retried; a failed exchange drops the connection, so the loop reconnects and tries again.
    /// </summary>
    private async Task SubscribeAllAsync(CancellationToken cancellationToken)
    {
        List<string> topics;
        lock (_subscriptions)
        {
            topics = [.. _subscriptions.Keys];
        }

        if (topics.Count == 0)
        {
            return;
        }

        var options = new MqttClientSubscribeOptionsBuilder();
        foreach (var topic in topics)
        {
            options.WithTopicFilter(topic, MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        }

        try
        {
            var result = await Client.SubscribeAsync(options.Build(), cancellationToken).ConfigureAwait(false);
            foreach (var item in result.Items.Where(i => (int)i.ResultCode > (int)MqttClientSubscribeResultCode.GrantedQoS2))
            {
                _logger.LogError("MQTT broker {Broker} refused the subscription to {Topic}: {Reason}", _endpoint, item.TopicFilter.Topic, item.ResultCode);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await ReconnectAsync(cancellationToken).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Why the broker, or its certificate, refused us, in words an operator can act on; null for a link problem.</summary>
    internal static string? Refusal(Exception ex)
    {
        if (ex is ConnectRefusedException refused)
        {
            return refused.Code is MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized
                ? $"login refused ({refused.Code}): check the user and password in PILOTS_MQTT_URL against the broker's password file"
                : $"connection refused ({refused.Code}{(refused.Reason is { Length: > 0 } r ? ": " + r : "")})";
        }

        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Security.Authentication.AuthenticationException tls)
            {
                return $"TLS handshake failed ({tls.Message}): the broker's certificate does not chain to PILOTS_MQTT_CA or does not name the host, or the broker refused the client certificate";
            }
        }

        return null;
    }

    /// <summary>
    /// Publishes one message and maps the answer to a <see cref="PublishOutcome"/>. MQTTnet 5 allocates packet ids
    /// under a lock and matches each PUBACK to its waiter by id (MqttClient.PublishAtLeastOnce, MqttPacketDispatcher),
    /// so many of these may be awaited at once. It has no publish timeout of its own (a PUBACK that never comes
    /// waits until the connection drops), hence <paramref name="ackTimeout"/>.
    /// </summary>
    internal async Task<PublishOutcome> PublishAsync(MqttApplicationMessage message, TimeSpan ackTimeout, CancellationToken cancellationToken)
    {
        if (_endpoint.Mqtt311)
        {
            // MQTT 3.1.1 has no message properties, and MQTTnet refuses to send one there (MqttApplicationMessageValidator).
            message.ContentType = null;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ackTimeout);
        try
        {
            var result = await Client.PublishAsync(message, timeout.Token).ConfigureAwait(false);
            if (result.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers)
            {
                return PublishOutcome.NoSubscriber;
            }

            if (result.IsSuccess)
            {
                return PublishOutcome.Acked;
            }

            _logger.LogWarning("Broker refused a message on {Topic}: {Reason}", message.Topic, result.ReasonCode);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // The link dropped mid-publish, or no PUBACK within the timeout: the caller keeps the record.
            _logger.LogDebug("Publish on {Topic} failed: {Error}", message.Topic, ex.Message);
        }

        return PublishOutcome.Failed;
    }

    /// <summary>Closes the connection; <see cref="RunAsync"/> then connects again (a fresh CONNECT, e.g. to renew credentials).</summary>
    internal async Task ReconnectAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Client.DisconnectAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogDebug("MQTT disconnect failed: {Error}", ex.Message);
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

/// <summary>The broker answered CONNECT with a refusal (CONNACK reason code, MQTT 5.0 §3.2.2.2).</summary>
internal sealed class ConnectRefusedException(MqttClientConnectResultCode code, string? reason)
    : Exception($"the broker refused the connection: {code}")
{
    public MqttClientConnectResultCode Code { get; } = code;

    public string? Reason { get; } = reason;
}
