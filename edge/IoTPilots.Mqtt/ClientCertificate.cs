using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace IoTPilots.Mqtt;

/// <summary>
/// Client-certificate authentication to a TLS broker, configured from the environment:
/// <c>PILOTS_MQTT_CLIENT_CERT</c> (a PKCS#12 file with the private key) and <c>PILOTS_MQTT_CLIENT_CERT_PASSWORD</c>.
/// </summary>
public static class ClientCertificate
{
    /// <summary>Adds the certificate to the client's TLS options; returns it, or null when none is configured.</summary>
    /// <exception cref="FormatException">The file is missing or not a PKCS#12 certificate with a private key.</exception>
    public static X509Certificate2? Apply(MqttClientOptionsBuilder builder, Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (Load(env) is not { } certificate)
        {
            return null;
        }

        builder.WithTlsOptions(o => o.UseTls().WithClientCertificates([certificate]));
        return certificate;
    }

    /// <summary>Loads the certificate named by the environment, or null when none is configured.</summary>
    /// <exception cref="FormatException">The file is missing, unreadable, the password wrong, or there is no private key.</exception>
    public static X509Certificate2? Load(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (env("PILOTS_MQTT_CLIENT_CERT") is not { Length: > 0 } file)
        {
            return null;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(file, env("PILOTS_MQTT_CLIENT_CERT_PASSWORD"));
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new FormatException($"PILOTS_MQTT_CLIENT_CERT: cannot open '{file}' with PILOTS_MQTT_CLIENT_CERT_PASSWORD (wrong password, or not a PKCS#12 file): {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"PILOTS_MQTT_CLIENT_CERT: cannot load '{file}' as a PKCS#12 certificate: {ex.Message}", ex);
        }

        if (!certificate.HasPrivateKey)
        {
            throw new FormatException($"PILOTS_MQTT_CLIENT_CERT: '{file}' has no private key");
        }

        return certificate;
    }
}
