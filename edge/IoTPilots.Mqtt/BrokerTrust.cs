using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace IoTPilots.Mqtt;

/// <summary>
/// The TLS settings a client takes from the environment, besides the URL: <c>PILOTS_MQTT_CA</c>, a PEM file with
/// the certificate authority of a broker with a private CA (what <c>./run provision</c> makes), and the client
/// certificate of <see cref="ClientCertificate"/>. With a CA file the broker's chain must end at one of its
/// certificates, and only there: the system's public roots are not consulted, so a certificate some public CA
/// issued for the same name does not pass.
/// </summary>
public static class BrokerTrust
{
    /// <summary>The broker endpoint with the CA and client certificate the environment names, checked now.</summary>
    /// <exception cref="FormatException">A file is missing, unreadable or not what it should be; the message names the variable.</exception>
    public static MqttEndpoint WithTlsFromEnvironment(this MqttEndpoint endpoint, Func<string, string?> env, string urlVariable = "PILOTS_MQTT_URL")
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var ca = LoadCa(env);
        var certificate = ClientCertificate.Load(env);
        if (ca is not null && !endpoint.Tls)
        {
            // A CA file means the operator expects TLS; a plain URL would send the password in clear.
            throw new FormatException($"PILOTS_MQTT_CA: is set but {urlVariable} is not an mqtts:// URL ({endpoint}): the broker would be reached without TLS");
        }

        return endpoint with { TrustedCa = ca, ClientCertificate = certificate };
    }

    /// <summary>The certificates of <paramref name="variable"/> (<c>PILOTS_MQTT_CA</c>; the NATS mode's <c>PILOTS_NATS_CA</c>), or null when it is unset.</summary>
    /// <exception cref="FormatException">Missing, unreadable, or holding no PEM certificate; the message names the variable and file.</exception>
    public static X509Certificate2Collection? LoadCa(Func<string, string?> env, string variable = "PILOTS_MQTT_CA")
    {
        ArgumentNullException.ThrowIfNull(env);
        if (env(variable) is not { Length: > 0 } file)
        {
            return null;
        }

        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{variable}: cannot read '{file}': {ex.Message}", ex);
        }
        catch (CryptographicException ex)
        {
            throw new FormatException($"{variable}: '{file}' is not a PEM certificate file: {ex.Message}", ex);
        }

        return certificates.Count > 0
            ? certificates
            : throw new FormatException($"{variable}: '{file}' holds no certificate (expected PEM, '-----BEGIN CERTIFICATE-----')");
    }

    /// <summary>
    /// Whether the broker's certificate chains to one of <paramref name="roots"/> and names the host dialled
    /// (<paramref name="errors"/> as TLS found them against the system's roots: a name mismatch or a missing
    /// certificate still fails; an untrusted chain is judged again here against the CA file alone).
    /// </summary>
    public static bool Validate(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        // A development CA publishes no revocation list; revoking a gateway means removing it from the password file.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (certificate is X509Certificate2 leaf)
        {
            return chain.Build(leaf);
        }

        using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(copy);
    }
}
