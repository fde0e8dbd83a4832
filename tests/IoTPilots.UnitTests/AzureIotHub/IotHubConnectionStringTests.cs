using IoTPilots.Mqtt.AzureIotHub;

namespace IoTPilots.UnitTests.AzureIotHub;

public sealed class IotHubConnectionStringTests
{
    // A made-up device key, shaped like the 44-character primary keys the portal shows.
    private const string Key = "dGhpcy1pcy1ub3QtYS1yZWFsLWtleS0xMjM0NTY3OA==";
    private const string Device = "HostName=pilots-hub.azure-devices.net;DeviceId=gw-aqua-01;SharedAccessKey=" + Key;

    [Fact]
    public void Device_connection_string_from_the_portal_parses()
    {
        var cs = IotHubConnectionString.Parse(Device);

        Assert.Equal("pilots-hub.azure-devices.net", cs.HostName);
        Assert.Equal("gw-aqua-01", cs.DeviceId);
        Assert.Equal(Key, cs.SharedAccessKey);
        Assert.Null(cs.ModuleId);
        Assert.Null(cs.SharedAccessKeyName);
        Assert.Null(cs.GatewayHostName);
        Assert.Equal("pilots-hub.azure-devices.net/devices/gw-aqua-01", cs.ResourceUri);
        Assert.Equal("pilots-hub.azure-devices.net", cs.ConnectHost);
    }

    [Fact]
    public void Optional_parts_parse_in_any_order_and_any_case_with_a_trailing_semicolon()
    {
        var cs = IotHubConnectionString.Parse(
            $" gatewayhostname=edge-gw.local ; SharedAccessKey={Key};ModuleId=uplink;DeviceId=gw-aqua-01;SharedAccessKeyName=device;HostName=pilots-hub.azure-devices.net;");

        Assert.Equal("uplink", cs.ModuleId);
        Assert.Equal("device", cs.SharedAccessKeyName);
        Assert.Equal("edge-gw.local", cs.GatewayHostName);
        Assert.Equal("edge-gw.local", cs.ConnectHost);
        Assert.Equal("pilots-hub.azure-devices.net/devices/gw-aqua-01/modules/uplink", cs.ResourceUri);
    }

    [Fact]
    public void ToString_leaves_the_key_out()
    {
        var cs = IotHubConnectionString.Parse(Device + ";ModuleId=uplink");

        Assert.Equal("HostName=pilots-hub.azure-devices.net;DeviceId=gw-aqua-01;ModuleId=uplink;SharedAccessKey=<redacted>", cs.ToString());
    }

    [Fact]
    public void Reads_PILOTS_IOTHUB_CONNECTION_STRING()
    {
        var cs = IotHubConnectionString.FromEnvironment(name => name == "PILOTS_IOTHUB_CONNECTION_STRING" ? Device : null);

        Assert.Equal("gw-aqua-01", cs.DeviceId);
        var error = Assert.Throws<FormatException>(() => IotHubConnectionString.FromEnvironment(_ => null));
        Assert.Contains("PILOTS_IOTHUB_CONNECTION_STRING is not set", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DeviceId=gw-aqua-01;SharedAccessKey=" + Key, "HostName is missing")]
    [InlineData("HostName=pilots-hub.azure-devices.net;SharedAccessKey=" + Key, "DeviceId is missing")]
    [InlineData("HostName=pilots-hub.azure-devices.net;DeviceId=gw-aqua-01", "SharedAccessKey is missing")]
    [InlineData("HostName=;DeviceId=gw-aqua-01;SharedAccessKey=" + Key, "HostName is empty")]
    [InlineData("HostName=https://pilots-hub.azure-devices.net/;DeviceId=gw-aqua-01;SharedAccessKey=" + Key, "HostName 'https://pilots-hub.azure-devices.net/' is not a host name")]
    [InlineData("HostName=pilots-hub.azure-devices.net;DeviceId=tank/01;SharedAccessKey=" + Key, "DeviceId 'tank/01' contains '/'")]
    [InlineData("HostName=pilots-hub.azure-devices.net;DeviceId=tank#1;SharedAccessKey=" + Key, "DeviceId 'tank#1' contains '#'")]
    [InlineData(Device + ";ModuleId=up+link", "ModuleId 'up+link' contains '+'")]
    [InlineData(Device + ";DeviceId=gw-aqua-02", "DeviceId is given twice")]
    [InlineData(Device + ";Transport=Mqtt", "unknown part 'Transport'")]
    [InlineData(Device + ";x509=true", "only SharedAccessKey authentication is supported")]
    [InlineData("HostName=pilots-hub.azure-devices.net;DeviceId=gw-aqua-01;SharedAccessSignature=SharedAccessSignature sr=x&sig=y&se=1", "unknown part 'SharedAccessSignature'")]
    [InlineData("   ", "is empty")]
    public void Bad_input_names_the_part(string connectionString, string expected)
    {
        var error = Assert.Throws<FormatException>(() => IotHubConnectionString.Parse(connectionString));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("PILOTS_IOTHUB_CONNECTION_STRING", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bm90IGJhc2U2NCE*")]
    [InlineData("c2VjcmV0LWtleS13aXRoLWEtdHlwbw")]
    [InlineData("=")]
    public void Bad_base64_key_is_named_and_never_echoed(string badKey)
    {
        var error = Assert.Throws<FormatException>(() => IotHubConnectionString.Parse(
            $"HostName=pilots-hub.azure-devices.net;DeviceId=gw-aqua-01;SharedAccessKey={badKey}", "edge.env"));

        Assert.Equal("edge.env: SharedAccessKey is not valid base64 (copy the primary or secondary key as the portal shows it)", error.Message);
    }

    [Fact]
    public void A_stray_piece_of_key_is_reported_by_position_not_content()
    {
        // A key pasted with a ';' inside splits into a segment that looks like Name=value; its "name" is secret.
        var error = Assert.Throws<FormatException>(() => IotHubConnectionString.Parse(
            "HostName=pilots-hub.azure-devices.net;DeviceId=gw-aqua-01;SharedAccessKey=dGhpcy1p;cy1ub3QtYS1yZWFsLWtleS0xMjM0NTY3OA=="));

        Assert.Contains("unknown part number 4", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("cy1ub3Q", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_part_without_equals_is_reported_by_position()
    {
        var error = Assert.Throws<FormatException>(() => IotHubConnectionString.Parse(Device + ";" + Key.TrimEnd('=')));

        Assert.Contains("part 4 is not Name=value", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Key.TrimEnd('='), error.Message, StringComparison.Ordinal);
    }
}
