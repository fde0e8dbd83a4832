using IoTPilots.Edge.Publishing;

namespace IoTPilots.UnitTests;

public class UplinkTests
{
    [Fact]
    public void Default_uplink_is_the_mqtt_broker_named_by_the_environment()
    {
        var uplink = Uplink.FromEnvironment(n => n == "PILOTS_MQTT_URL" ? "mqtt://gw-1:secret@broker.example:1884" : null);
        Assert.Null(uplink.Hub);
        Assert.Equal(("broker.example", 1884, "gw-1"), (uplink.Broker.Host, uplink.Broker.Port, uplink.Broker.Username));
    }

    [Fact]
    public void Azure_iot_hub_uplink_uses_tls_on_8883_to_the_hub()
    {
        var uplink = Uplink.FromEnvironment(n => n switch
        {
            "PILOTS_UPLINK" => "azure-iothub",
            "PILOTS_IOTHUB_CONNECTION_STRING" => "HostName=pilots.azure-devices.net;DeviceId=gw-aqua-01;SharedAccessKey=cGFzc3dvcmQ=",
            _ => null,
        });
        Assert.Equal(("pilots.azure-devices.net", 8883, true), (uplink.Broker.Host, uplink.Broker.Port, uplink.Broker.Tls));
        Assert.Equal("gw-aqua-01", uplink.Hub!.DeviceId);
        Assert.DoesNotContain("cGFzc3dvcmQ", uplink.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("carrier-pigeon", "PILOTS_UPLINK")]
    public void Unknown_uplink_is_refused_naming_the_variable(string kind, string variable)
    {
        var ex = Assert.Throws<FormatException>(() => Uplink.FromEnvironment(n => n == "PILOTS_UPLINK" ? kind : null));
        Assert.Contains(variable, ex.Message, StringComparison.Ordinal);
    }
}
