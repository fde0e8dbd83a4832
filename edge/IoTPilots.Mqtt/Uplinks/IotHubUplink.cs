using System.Buffers;
using IoTPilots.Mqtt.AzureIotHub;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;

namespace IoTPilots.Mqtt.Uplinks;

/// <summary>How the gateway meets Azure IoT Hub. <paramref name="UseTls"/>, <paramref name="Host"/> and <paramref name="Port"/> are for tests against a local broker.</summary>
public sealed record IotHubUplinkOptions(IotHubConnectionString Hub, TimeProvider Time)
{
    public TimeSpan TokenTtl { get; init; } = IotHubMqtt.DefaultTokenTtl;

    public TimeSpan AckTimeout { get; init; } = SessionUplink.DefaultAckTimeout;

    public bool UseTls { get; init; } = true;

    public string? Host { get; init; }

    public int? Port { get; init; }
}

/// <summary>
/// The uplink to Azure IoT Hub as a device, over MQTT 3.1.1 (see <see cref="IotHubMqtt"/>): each record goes to
/// the device's telemetry topic, with the JSON content-type properties and the record's own topic as the
/// <c>pilots-topic</c> property, which the cloud routes on. The hub keeps no retained status, so status is not
/// sent. The SAS token is minted at every CONNECT and 3.1.1 cannot refresh it in place, so this adapter
/// reconnects on its own before the token expires.
/// </summary>
public sealed class IotHubUplink : SessionUplink
{
    private static readonly TimeSpan RenewalCheck = TimeSpan.FromSeconds(1);
    private readonly IotHubUplinkOptions _options;
    private readonly ILogger _logger;
    private readonly IotHubSasCredentials _credentials;

    public IotHubUplink(IotHubUplinkOptions options, ILogger logger)
        : this(options, logger, new CredentialsBox())
    {
    }

    private IotHubUplink(IotHubUplinkOptions options, ILogger logger, CredentialsBox box)
        : base(new MqttSession(
            new MqttEndpoint(options.Host ?? options.Hub.ConnectHost, options.Port ?? IotHubMqtt.Port, options.UseTls, null, null),
            IotHubMqtt.ClientId(options.Hub),
            logger,
            b => box.Credentials = IotHubMqtt.ConfigureClient(b, options.Hub, options.Time, options.TokenTtl, options.UseTls, options.Host, options.Port)))
    {
        _options = options;
        _logger = logger;
        _credentials = box.Credentials!;
    }

    /// <summary>When the adapter will reconnect to present a fresh token.</summary>
    public DateTimeOffset? RenewAt => _credentials.RenewAt;

    public override async Task RunAsync(CancellationToken cancellationToken)
    {
        var session = Session.RunAsync(cancellationToken);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(RenewalCheck, _options.Time, cancellationToken).ConfigureAwait(false);
                if (Session.IsConnected && _credentials.MustRenew(_options.Time.GetUtcNow()))
                {
                    _logger.LogInformation("IoT Hub SAS token expires at {Expiry:O}; reconnecting to renew it", _credentials.ExpiresAt);
                    await Session.ReconnectAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        await session.ConfigureAwait(false);
    }

    public override Task<PublishOutcome> PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        Session.PublishAsync(
            new MqttApplicationMessageBuilder()
                .WithTopic(IotHubMqtt.TelemetryTopic(_options.Hub, [.. IotHubMqtt.JsonUtf8Properties, new("pilots-topic", topic)]))
                .WithPayload(new ReadOnlySequence<byte>(payload))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build(),
            _options.AckTimeout,
            cancellationToken);

    /// <summary>"IoT Hub doesn't persist Retain messages" (MQTT article), so there is nowhere to keep a status.</summary>
    public override Task PublishStatusAsync(ReadOnlyMemory<byte> status, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// IoT Hub has no free topics to subscribe to: what reaches a device comes as cloud-to-device messages on
    /// <c>devices/{id}/messages/devicebound/#</c>, which this uplink does not read yet. So a gateway on IoT Hub takes no
    /// commands; it says so once.
    /// </summary>
    public override bool Subscribe(string topic, Func<ReadOnlyMemory<byte>, CancellationToken, Task> handler)
    {
        _logger.LogWarning("Azure IoT Hub uplink: {Topic} is not subscribed (cloud-to-device messages are not read yet), so this gateway takes no commands", topic);
        return false;
    }

    /// <summary>The session runs its configure callback in its constructor; this carries the credentials it made out.</summary>
    private sealed class CredentialsBox
    {
        public IotHubSasCredentials? Credentials { get; set; }
    }
}
