using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace IoTPilots.Cloud.Provisioning;

/// <summary>
/// A small certificate authority for one deployment, made with .NET's <see cref="CertificateRequest"/> (no openssl):
/// ECDSA P-256 keys and SHA-256 signatures, which Mosquitto (OpenSSL), .NET's SslStream and mosquitto_pub accept.
/// The CA signs the broker's server certificate and, optionally, one client certificate per MQTT user.
/// </summary>
public sealed class DevelopmentCa(X509Certificate2 certificate) : IDisposable
{
    /// <summary>The CA lives ten years; what it signs lives 825 days, the longest Apple platforms accept for TLS servers.</summary>
    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan LeafLifetime = TimeSpan.FromDays(825);

    /// <summary>Reissued when it has less than this left.</summary>
    public static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    public X509Certificate2 Certificate { get; } = certificate.HasPrivateKey ? certificate : throw new ArgumentException("the CA certificate has no private key", nameof(certificate));

    public static DevelopmentCa Create(string name, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return new DevelopmentCa(request.CreateSelfSigned(now.AddMinutes(-5), now + CaLifetime));
    }

    /// <summary>The broker's certificate: the first name is its CN, every name a subject alternative name (DNS or IP).</summary>
    /// <param name="route">
    /// Also for TLS clients (extended key usage clientAuth besides serverAuth): what a NATS node presents on its cluster
    /// routes, where each node dials the others and the server side requires and verifies the dialler's certificate
    /// (nats-server 2.9.10 server/opts.go, <c>getTLSConfig</c>: "For clusters/gateways, we will force strict verification").
    /// </param>
    public X509Certificate2 IssueServer(IReadOnlyList<string> names, DateTimeOffset now, bool route = false)
    {
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        return Issue(names[0], X509KeyUsageFlags.DigitalSignature, route ? ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"] : ["1.3.6.1.5.5.7.3.1"], san.Build(), now);
    }

    /// <summary>A client certificate whose CN is the MQTT user (Mosquitto's <c>use_identity_as_username</c>).</summary>
    public X509Certificate2 IssueClient(string user, DateTimeOffset now) =>
        Issue(user, X509KeyUsageFlags.DigitalSignature, ["1.3.6.1.5.5.7.3.2"], null, now);

    /// <summary>Whether <paramref name="leaf"/> was signed by this CA and is still good for a while.</summary>
    public bool Signed(X509Certificate2 leaf, DateTimeOffset now)
    {
        if (leaf.NotAfter.ToUniversalTime() - now.UtcDateTime < RenewBefore)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        return chain.Build(leaf);
    }

    /// <summary>The DNS names and IP addresses a certificate names, as text.</summary>
    public static IReadOnlySet<string> Names(X509Certificate2 certificate)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var extension in certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            names.UnionWith(extension.EnumerateDnsNames());
            names.UnionWith(extension.EnumerateIPAddresses().Select(ip => ip.ToString()));
        }

        return names;
    }

    public void Dispose() => Certificate.Dispose();

    private X509Certificate2 Issue(string commonName, X509KeyUsageFlags usage, string[] extendedUsages, X509Extension? san, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(commonName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. extendedUsages.Select(o => new Oid(o))], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        var notAfter = now + LeafLifetime < Certificate.NotAfter.ToUniversalTime() ? now + LeafLifetime : new DateTimeOffset(Certificate.NotAfter.ToUniversalTime());
        using var issued = request.Create(Certificate, now.AddMinutes(-5), notAfter, Serial());
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>A positive 16-byte random serial (RFC 5280 §4.1.2.2: at most 20 octets, positive).</summary>
    private static byte[] Serial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        return serial;
    }
}
