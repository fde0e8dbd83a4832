using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using IoTPilots.Edge;

namespace IoTPilots.UnitTests.Uplinks;

/// <summary>The edge's environment is read once at start; a value given but wrong is refused naming its variable, never replaced by a default.</summary>
public sealed class EdgeSettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    private string WriteCertificate(string password)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var cert = new CertificateRequest("CN=gw-aqua-01", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var file = Path.Combine(_dir, "gw.p12");
        File.WriteAllBytes(file, cert.Export(X509ContentType.Pkcs12, password));
        return file;
    }

    [Fact]
    public void Defaults_apply_only_to_variables_not_given()
    {
        var settings = EdgeSettings.FromEnvironment(Env());
        Assert.Equal("mqtt://127.0.0.1:1883", settings.Uplink.Broker.ToString());
        Assert.Null(settings.Uplink.ClientCertificate);
        Assert.Equal("state", settings.StateDir);
    }

    [Fact]
    public void Broker_url_state_dir_and_client_certificate_are_read_at_start()
    {
        var file = WriteCertificate("s3cret");
        var settings = EdgeSettings.FromEnvironment(Env(
            ("PILOTS_MQTT_URL", "mqtts://broker.example:8883"),
            ("PILOTS_EDGE_STATE_DIR", "/var/lib/iotpilots"),
            ("PILOTS_MQTT_CLIENT_CERT", file),
            ("PILOTS_MQTT_CLIENT_CERT_PASSWORD", "s3cret")));
        Assert.Equal(("broker.example", 8883, true), (settings.Uplink.Broker.Host, settings.Uplink.Broker.Port, settings.Uplink.Broker.Tls));
        Assert.Equal("CN=gw-aqua-01", settings.Uplink.ClientCertificate!.Subject);
        Assert.Equal("/var/lib/iotpilots", settings.StateDir);
    }

    [Theory]
    [InlineData("PILOTS_MQTT_URL", "http://broker.example", "PILOTS_MQTT_URL")]
    [InlineData("PILOTS_MQTT_URL", "mqtt://broker.example:99999", "PILOTS_MQTT_URL")]
    [InlineData("PILOTS_UPLINK", "carrier-pigeon", "PILOTS_UPLINK")]
    [InlineData("PILOTS_MQTT_CLIENT_CERT", "/nonexistent/gw.p12", "PILOTS_MQTT_CLIENT_CERT")]
    [InlineData("PILOTS_EDGE_STATE_DIR", "state\0dir", "PILOTS_EDGE_STATE_DIR")]
    public void A_wrong_value_is_refused_naming_its_variable(string name, string value, string named)
    {
        var ex = Assert.Throws<FormatException>(() => EdgeSettings.FromEnvironment(Env((name, value))));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_certificate_password_is_refused_naming_the_password_variable()
    {
        var file = WriteCertificate("s3cret");
        var ex = Assert.Throws<FormatException>(() => EdgeSettings.FromEnvironment(Env(("PILOTS_MQTT_CLIENT_CERT", file), ("PILOTS_MQTT_CLIENT_CERT_PASSWORD", "wrong"))));
        Assert.Contains("PILOTS_MQTT_CLIENT_CERT_PASSWORD", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_certificate_is_refused_naming_the_variable()
    {
        var file = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(file, "not a certificate");
        var ex = Assert.Throws<FormatException>(() => EdgeSettings.FromEnvironment(Env(("PILOTS_MQTT_CLIENT_CERT", file))));
        Assert.Contains("PILOTS_MQTT_CLIENT_CERT", ex.Message, StringComparison.Ordinal);
        Assert.Contains("notes.txt", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_iot_hub_connection_string_is_refused_naming_its_variable()
    {
        var ex = Assert.Throws<FormatException>(() => EdgeSettings.FromEnvironment(Env(("PILOTS_UPLINK", "azure-iothub"), ("PILOTS_IOTHUB_CONNECTION_STRING", "HostName=;DeviceId=x"))));
        Assert.Contains("PILOTS_IOTHUB_CONNECTION_STRING", ex.Message, StringComparison.Ordinal);
    }
}
