using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using IoTPilots.Mqtt;
using MQTTnet;

namespace IoTPilots.UnitTests;

public sealed class ClientCertificateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-cert-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Pkcs12_client_certificate_is_loaded_and_put_on_the_tls_options()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=gw-aqua-01", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var file = Path.Combine(_dir, "gw.p12");
        File.WriteAllBytes(file, cert.Export(X509ContentType.Pkcs12, "s3cret"));
        var builder = new MqttClientOptionsBuilder().WithTcpServer("broker.example", 8883);

        var loaded = ClientCertificate.Apply(builder, n => n switch { "PILOTS_MQTT_CLIENT_CERT" => file, "PILOTS_MQTT_CLIENT_CERT_PASSWORD" => "s3cret", _ => null });

        Assert.Equal("CN=gw-aqua-01", loaded!.Subject);
        var tls = builder.Build().ChannelOptions.TlsOptions;
        Assert.True(tls.UseTls);
        Assert.Contains(tls.ClientCertificatesProvider!.GetCertificates().Cast<X509Certificate2>(), c => c.Thumbprint == cert.Thumbprint);
    }

    [Fact]
    public void No_certificate_configured_changes_nothing() =>
        Assert.Null(ClientCertificate.Apply(new MqttClientOptionsBuilder(), _ => null));

    [Fact]
    public void Wrong_password_or_missing_file_names_the_variable_and_file()
    {
        var ex = Assert.Throws<FormatException>(() => ClientCertificate.Apply(new MqttClientOptionsBuilder(), n => n == "PILOTS_MQTT_CLIENT_CERT" ? Path.Combine(_dir, "absent.p12") : null));
        Assert.Contains("PILOTS_MQTT_CLIENT_CERT", ex.Message, StringComparison.Ordinal);
        Assert.Contains("absent.p12", ex.Message, StringComparison.Ordinal);
    }
}
