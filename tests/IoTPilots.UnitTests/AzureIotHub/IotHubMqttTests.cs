using System.Text;
using IoTPilots.Mqtt.AzureIotHub;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace IoTPilots.UnitTests.AzureIotHub;

/// <summary>Expected strings are the ones in "Communicate with an IoT hub using the MQTT protocol" (the MQTT article).</summary>
public sealed class IotHubMqttTests
{
    private const string Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    // The MQTT article's own example: hub contoso.azure-devices.net, device MyDevice01.
    private static readonly IotHubConnectionString Device =
        IotHubConnectionString.Parse($"HostName=contoso.azure-devices.net;DeviceId=MyDevice01;SharedAccessKey={Key}");

    private static readonly IotHubConnectionString Module =
        IotHubConnectionString.Parse($"HostName=contoso.azure-devices.net;DeviceId=MyDevice01;ModuleId=uplink;SharedAccessKey={Key}");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Device_connects_with_its_id_and_the_documented_username()
    {
        Assert.Equal("MyDevice01", IotHubMqtt.ClientId(Device));
        Assert.Equal("contoso.azure-devices.net/MyDevice01/?api-version=2021-04-12", IotHubMqtt.Username(Device));
    }

    [Fact]
    public void Module_connects_as_device_slash_module()
    {
        Assert.Equal("MyDevice01/uplink", IotHubMqtt.ClientId(Module));
        Assert.Equal("contoso.azure-devices.net/MyDevice01/uplink/?api-version=2021-04-12", IotHubMqtt.Username(Module));
    }

    [Fact]
    public void Username_names_the_hub_even_through_a_gateway()
    {
        var viaGateway = IotHubConnectionString.Parse($"HostName=contoso.azure-devices.net;DeviceId=MyDevice01;GatewayHostName=edge-gw.local;SharedAccessKey={Key}");

        Assert.Equal("contoso.azure-devices.net/MyDevice01/?api-version=2021-04-12", IotHubMqtt.Username(viaGateway));
        Assert.Equal("contoso.azure-devices.net/devices/MyDevice01", viaGateway.ResourceUri);
    }

    [Fact]
    public void Telemetry_and_cloud_to_device_topics_for_a_device()
    {
        Assert.Equal("devices/MyDevice01/messages/events/", IotHubMqtt.TelemetryTopic(Device));
        Assert.Equal("devices/MyDevice01/messages/devicebound/#", IotHubMqtt.CloudToDeviceFilter(Device));
    }

    [Fact]
    public void Telemetry_and_receive_topics_for_a_module()
    {
        // The embedded C SDK pins the same: azure-sdk-for-c test_az_iot_hub_client_telemetry.c,
        // "devices/my_device/modules/my_module_id/messages/events/key=value&key_two=value2".
        Assert.Equal(
            "devices/MyDevice01/modules/uplink/messages/events/key=value&key_two=value2",
            IotHubMqtt.TelemetryTopic(Module, [new("key", "value"), new("key_two", "value2")]));
        Assert.Equal("devices/MyDevice01/modules/uplink/#", IotHubMqtt.CloudToDeviceFilter(Module));
    }

    [Fact]
    public void Json_property_bag_is_the_documented_one_plus_custom_properties()
    {
        var topic = IotHubMqtt.TelemetryTopic(Device, [.. IotHubMqtt.JsonUtf8Properties, new("pilot", "aquaculture")]);

        Assert.Equal("devices/MyDevice01/messages/events/$.ct=application%2Fjson&$.ce=utf-8&pilot=aquaculture", topic);
    }

    [Fact]
    public void Routing_content_type_matches_the_documented_example()
    {
        // MQTT article: devices/{device-id}/messages/events/$.ct=application%2Fjson%3Bcharset%3Dutf-8
        Assert.Equal(
            "$.ct=application%2Fjson%3Bcharset%3Dutf-8",
            IotHubMqtt.PropertyBag([new(IotHubMqtt.ContentTypeProperty, "application/json;charset=utf-8")]));
    }

    [Fact]
    public void Property_bag_escapes_separators_spaces_wildcards_and_non_ascii()
    {
        var bag = IotHubMqtt.PropertyBag([new("site name", "Hải Phòng & co=1"), new("a+b", "#/~._-"), new("empty", "")]);

        Assert.Equal("site%20name=H%E1%BA%A3i%20Ph%C3%B2ng%20%26%20co%3D1&a%2Bb=%23%2F~._-&empty=", bag);
    }

    [Fact]
    public void Property_bag_rejects_an_empty_name()
    {
        Assert.Throws<ArgumentException>(() => IotHubMqtt.PropertyBag([new("", "x")]));
    }

    [Fact]
    public void ConfigureClient_builds_hub_options_over_MqttSession_style_defaults()
    {
        // What MqttSession sets before calling its configure callback: MQTT 5, a session expiry, another server.
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", 1883)
            .WithClientId("something-else")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(7 * 24 * 3600);

        var credentials = IotHubMqtt.ConfigureClient(builder, Device, _time, TimeSpan.FromHours(1));
        var options = builder.Build();

        Assert.Equal(MqttProtocolVersion.V311, options.ProtocolVersion);
        Assert.Equal(0u, options.SessionExpiryInterval);
        Assert.False(options.CleanSession);
        Assert.Equal("MyDevice01", options.ClientId);
        var tcp = Assert.IsType<MqttClientTcpOptions>(options.ChannelOptions);
        var endpoint = Assert.IsType<System.Net.DnsEndPoint>(tcp.RemoteEndpoint);
        Assert.Equal("contoso.azure-devices.net", endpoint.Host);
        Assert.Equal(8883, endpoint.Port);
        Assert.True(tcp.TlsOptions.UseTls);
        Assert.Equal("contoso.azure-devices.net", tcp.TlsOptions.TargetHost);
        Assert.Same(credentials, options.Credentials);
        Assert.Equal("contoso.azure-devices.net/MyDevice01/?api-version=2021-04-12", options.Credentials.GetUserName(options));
    }

    [Fact]
    public void ConfigureClient_without_tls_dials_the_given_host_and_port()
    {
        var builder = new MqttClientOptionsBuilder().WithTlsOptions(o => o.UseTls());

        IotHubMqtt.ConfigureClient(builder, Device, _time, TimeSpan.FromHours(1), useTls: false, host: "127.0.0.1", port: 18830);
        var tcp = Assert.IsType<MqttClientTcpOptions>(builder.Build().ChannelOptions);

        Assert.False(tcp.TlsOptions.UseTls);
        var endpoint = Assert.IsType<System.Net.DnsEndPoint>(tcp.RemoteEndpoint);
        Assert.Equal(("127.0.0.1", 18830), (endpoint.Host, endpoint.Port));
    }

    [Fact]
    public void Each_connect_gets_a_token_for_the_ttl_from_then()
    {
        var builder = new MqttClientOptionsBuilder();
        var credentials = IotHubMqtt.ConfigureClient(builder, Device, _time, TimeSpan.FromHours(1));
        var options = builder.Build();
        Assert.Null(credentials.ExpiresAt);
        Assert.False(credentials.MustRenew(_time.GetUtcNow()));

        var first = Encoding.UTF8.GetString(options.Credentials.GetPassword(options));
        _time.Advance(TimeSpan.FromMinutes(50));
        var second = Encoding.UTF8.GetString(options.Credentials.GetPassword(options));

        Assert.Equal(SasToken.Create("contoso.azure-devices.net/devices/MyDevice01", Key, _time.GetUtcNow().AddMinutes(-50).AddHours(1)), first);
        Assert.Equal(SasToken.Create("contoso.azure-devices.net/devices/MyDevice01", Key, _time.GetUtcNow().AddHours(1)), second);
        Assert.Equal(_time.GetUtcNow().AddHours(1), credentials.ExpiresAt);
    }

    [Fact]
    public void Renewal_is_due_when_15_percent_of_the_token_life_is_left()
    {
        var credentials = new IotHubSasCredentials(Module, _time, TimeSpan.FromHours(1));
        var token = credentials.CreatePassword();
        Assert.Contains("sr=contoso.azure-devices.net%2fdevices%2fMyDevice01%2fmodules%2fuplink&", token, StringComparison.Ordinal);

        Assert.Equal(_time.GetUtcNow().AddMinutes(51), credentials.RenewAt);
        _time.Advance(TimeSpan.FromMinutes(51) - TimeSpan.FromSeconds(1));
        Assert.False(credentials.MustRenew(_time.GetUtcNow()));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(credentials.MustRenew(_time.GetUtcNow()));
    }

    [Fact]
    public void Token_carries_the_policy_name_when_signing_with_a_hub_policy()
    {
        var viaPolicy = IotHubConnectionString.Parse($"HostName=contoso.azure-devices.net;DeviceId=MyDevice01;SharedAccessKeyName=device;SharedAccessKey={Key}");

        var token = new IotHubSasCredentials(viaPolicy, _time, TimeSpan.FromHours(1)).CreatePassword();

        Assert.EndsWith("&skn=device", token, StringComparison.Ordinal);
        Assert.StartsWith("SharedAccessSignature sr=contoso.azure-devices.net%2fdevices%2fMyDevice01&sig=", token, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_messages_the_hub_accepts_are_sendable()
    {
        var topic = IotHubMqtt.TelemetryTopic(Device, IotHubMqtt.JsonUtf8Properties);
        var room = IotHubMqtt.MaxMessageBytes - Encoding.UTF8.GetByteCount(topic);

        Assert.True(IotHubMqtt.IsSendable(Message(topic, room, MqttQualityOfServiceLevel.AtLeastOnce), out var reason), reason);
        Assert.False(IotHubMqtt.IsSendable(Message(topic, room + 1, MqttQualityOfServiceLevel.AtLeastOnce), out reason));
        Assert.Contains("at most 262144", reason, StringComparison.Ordinal);
        Assert.False(IotHubMqtt.IsSendable(Message(topic, 10, MqttQualityOfServiceLevel.ExactlyOnce), out reason));
        Assert.Contains("QoS 2", reason, StringComparison.Ordinal);
        Assert.False(IotHubMqtt.IsSendable(Message(topic, 10, MqttQualityOfServiceLevel.AtMostOnce, retain: true), out reason));
        Assert.Contains("retain", reason, StringComparison.Ordinal);
    }

    private static MqttApplicationMessage Message(string topic, int payloadBytes, MqttQualityOfServiceLevel qos, bool retain = false) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(new byte[payloadBytes])
            .WithQualityOfServiceLevel(qos)
            .WithRetainFlag(retain)
            .Build();
}
