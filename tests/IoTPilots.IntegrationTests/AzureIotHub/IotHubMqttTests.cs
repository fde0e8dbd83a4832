using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using IoTPilots.Contract;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;
using IoTPilots.Mqtt.AzureIotHub;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace IoTPilots.IntegrationTests.AzureIotHub;

/// <summary>
/// The hub helper's client against the harness's Mosquitto, standing in for IoT Hub: plain TCP (useTls: false),
/// anonymous, any username and password accepted. What it proves is the MQTT side (3.1.1 CONNECT with the
/// hub's client id, username and SAS password, the exact telemetry topic and payload on the wire, the
/// cloud-to-device filter); that the hub accepts the token is covered by the SAS known-answer unit tests.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class IotHubMqttTests(Servers servers)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    // A made-up key: Mosquitto ignores the password, but the token is still minted from it on every CONNECT.
    private const string Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    private static IotHubConnectionString NewDevice() =>
        IotHubConnectionString.Parse($"HostName=pilots-it.azure-devices.net;DeviceId=gw-it-{Guid.NewGuid():N};SharedAccessKey={Key}");

    [Fact]
    public async Task Json_telemetry_on_the_hub_topic_reaches_a_plain_subscriber_with_exact_topic_and_payload()
    {
        var log = new ErrorLog();
        var received = new ConcurrentQueue<(string Topic, byte[] Payload)>();
        await using var cloud = new MqttSession(servers.Mqtt, $"it-hub-cloud-{Guid.NewGuid():N}", log.CreateLogger("cloud"), cleanStart: true)
        {
            OnConnected = (client, ct) => client.SubscribeAsync("devices/+/messages/events/#", MqttQualityOfServiceLevel.AtLeastOnce, ct),
        };
        cloud.Client.ApplicationMessageReceivedAsync += e =>
        {
            received.Enqueue((e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray()));
            return Task.CompletedTask;
        };
        using var stop = new CancellationTokenSource();
        var cloudRun = cloud.RunAsync(stop.Token);
        await cloud.WaitConnectedAsync(CancellationToken.None).WaitAsync(Timeout);

        var hub = NewDevice();
        var builder = new MqttClientOptionsBuilder();
        var credentials = IotHubMqtt.ConfigureClient(builder, hub, TimeProvider.System, IotHubMqtt.DefaultTokenTtl, useTls: false, host: servers.Mqtt.Host, port: servers.Mqtt.Port);
        var options = builder.Build();
        using var device = new MqttClientFactory().CreateMqttClient();
        var connect = await device.ConnectAsync(options).WaitAsync(Timeout);

        Assert.Equal(MqttClientConnectResultCode.Success, connect.ResultCode);
        Assert.Equal(MqttProtocolVersion.V311, device.Options.ProtocolVersion);
        Assert.Equal(hub.DeviceId, device.Options.ClientId);
        Assert.Equal($"pilots-it.azure-devices.net/{hub.DeviceId}/?api-version=2021-04-12", credentials.UserName);
        Assert.NotNull(credentials.ExpiresAt);

        var telemetry = new TelemetryMessage(
            Pilots.Aquaculture, "haiphong-ras-1", hub.DeviceId, "tank-01", 42,
            [new Reading("do_mg_l", DateTimeOffset.UtcNow, 6.52, "mg/L", Quality.Good)]);
        var payload = TelemetryCodec.Encode(telemetry);
        var topic = IotHubMqtt.TelemetryTopic(hub, [.. IotHubMqtt.JsonUtf8Properties, new("pilot", telemetry.Pilot)]);
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build();
        Assert.True(IotHubMqtt.IsSendable(message, out var reason), reason);

        var published = await device.PublishAsync(message).WaitAsync(Timeout);

        Assert.True(published.IsSuccess, published.ReasonString);
        await Eventually.TrueAsync(() => Task.FromResult(!received.IsEmpty), Timeout, "the telemetry on devices/+/messages/events/#");
        var (gotTopic, gotPayload) = Assert.Single(received);
        Assert.Equal($"devices/{hub.DeviceId}/messages/events/$.ct=application%2Fjson&$.ce=utf-8&pilot=aquaculture", gotTopic);
        Assert.Equal(payload, gotPayload);

        await device.DisconnectAsync();
        await stop.CancelAsync();
        await cloudRun;
        Assert.Empty(log.Errors);
    }

    [Fact]
    public async Task Cloud_to_device_filter_receives_messages_with_a_property_bag()
    {
        var hub = NewDevice();
        var builder = new MqttClientOptionsBuilder().WithCleanSession(true);
        IotHubMqtt.ConfigureClient(builder, hub, TimeProvider.System, IotHubMqtt.DefaultTokenTtl, useTls: false, host: servers.Mqtt.Host, port: servers.Mqtt.Port);
        using var device = new MqttClientFactory().CreateMqttClient();
        var received = new ConcurrentQueue<(string Topic, string Payload)>();
        device.ApplicationMessageReceivedAsync += e =>
        {
            received.Enqueue((e.ApplicationMessage.Topic, Encoding.UTF8.GetString(e.ApplicationMessage.Payload)));
            return Task.CompletedTask;
        };
        await device.ConnectAsync(builder.Build()).WaitAsync(Timeout);
        var subscribed = await device.SubscribeAsync(IotHubMqtt.CloudToDeviceFilter(hub), MqttQualityOfServiceLevel.AtLeastOnce).WaitAsync(Timeout);
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, Assert.Single(subscribed.Items).ResultCode);

        using var sender = new MqttClientFactory().CreateMqttClient();
        await sender.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(servers.Mqtt.Host, servers.Mqtt.Port).WithClientId($"it-hub-c2d-{Guid.NewGuid():N}").Build()).WaitAsync(Timeout);
        var c2dTopic = $"devices/{hub.DeviceId}/messages/devicebound/{IotHubMqtt.PropertyBag([new("$.mid", "1"), new("cmd", "flush queue")])}";
        await sender.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(c2dTopic).WithPayload("{}").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build()).WaitAsync(Timeout);

        await Eventually.TrueAsync(() => Task.FromResult(!received.IsEmpty), Timeout, "the cloud-to-device message on the devicebound filter");
        Assert.Equal(($"devices/{hub.DeviceId}/messages/devicebound/$.mid=1&cmd=flush%20queue", "{}"), Assert.Single(received));
        await sender.DisconnectAsync();
        await device.DisconnectAsync();
    }

    [Fact]
    public async Task MqttSession_with_the_hub_settings_connects_over_3_1_1_and_mints_a_fresh_token_on_reconnect()
    {
        // MqttSession defaults to MQTT 5; the helper, run as its configure callback, must turn that into the
        // hub's 3.1.1 CONNECT. MqttSession builds its options once, so this also shows MQTTnet asking the
        // credentials for a new password on every CONNECT. Renewal is the publisher's job: when the credentials
        // say so, drop the connection and let the session reconnect.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
        var hub = NewDevice();
        var log = new ErrorLog();
        IotHubSasCredentials? credentials = null;
        await using var session = new MqttSession(
            servers.Mqtt,
            "replaced-by-the-hub-client-id",
            log.CreateLogger("device"),
            configure: b => credentials = IotHubMqtt.ConfigureClient(b, hub, time, TimeSpan.FromHours(1), useTls: false, host: servers.Mqtt.Host, port: servers.Mqtt.Port));
        using var stop = new CancellationTokenSource();
        var run = session.RunAsync(stop.Token);
        await session.WaitConnectedAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.NotNull(credentials);
        Assert.Equal(MqttProtocolVersion.V311, session.Client.Options.ProtocolVersion);
        Assert.Equal(hub.DeviceId, session.Client.Options.ClientId);
        Assert.Equal(time.GetUtcNow().AddHours(1), credentials.ExpiresAt);
        Assert.False(credentials.MustRenew(time.GetUtcNow()));

        time.Advance(TimeSpan.FromMinutes(52));
        Assert.True(credentials.MustRenew(time.GetUtcNow()));
        await session.Client.DisconnectAsync();
        await Eventually.TrueAsync(() => Task.FromResult(session.Reconnects >= 2 && session.IsConnected), Timeout, "the session to reconnect");

        Assert.Equal(time.GetUtcNow().AddHours(1), credentials.ExpiresAt);
        Assert.False(credentials.MustRenew(time.GetUtcNow()));
        await stop.CancelAsync();
        await run;
        Assert.Empty(log.Errors);
    }
}
