using System.Security.Cryptography.X509Certificates;
using IoTPilots.Config;
using IoTPilots.Mqtt;
using NATS.Client.Core;

namespace IoTPilots.Cloud.Nats;

/// <summary>
/// The clustered ingestion mode (docs/scaling.md): set <c>PILOTS_NATS_URL</c> to the NATS cluster's client URLs
/// (<c>nats://127.0.0.1:4222,nats://127.0.0.1:4223</c>) and the ingestion reads through a JetStream durable consumer
/// instead of an MQTT shared subscription. Unset: the Mosquitto mode.
/// A secured cluster (<c>./run provision --broker nats</c>, deploy/README.md) takes a login, <c>PILOTS_NATS_USER</c> and
/// <c>PILOTS_NATS_PASSWORD</c> (or <c>user:password@</c> in the URLs), and TLS: <c>tls://</c> URLs, and
/// <c>PILOTS_NATS_CA</c> for a private CA, which is then the only one trusted (as <c>PILOTS_MQTT_CA</c> is for MQTT).
/// </summary>
/// <param name="Url">The seed servers, comma-separated, as NATS.Net takes them, without credentials.</param>
public sealed record NatsOptions(string Url)
{
    /// <summary>
    /// How long a message handed to a worker may stay unacknowledged before JetStream gives it to another one. Long
    /// enough for a group commit held by a slow InfluxDB (the pipeline retries with backoff up to 10 s), short enough
    /// that a worker killed with -9 delays its messages by that much only (<c>PILOTS_NATS_ACK_WAIT_S</c>).
    /// </summary>
    public TimeSpan AckWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The NATS user (<c>PILOTS_NATS_USER</c>, or the URL's user); null: no login.</summary>
    public string? User { get; init; }

    /// <summary>Its password (<c>PILOTS_NATS_PASSWORD</c>, or the URL's); never logged.</summary>
    public string? Password { get; init; }

    /// <summary>The servers' CA (<c>PILOTS_NATS_CA</c>, PEM), the only one trusted; null: the system's roots.</summary>
    public X509Certificate2Collection? TrustedCa { get; init; }

    /// <summary>TLS is required: a <c>tls://</c> URL or a CA file. NATS.Net would otherwise upgrade only when the server offers it.</summary>
    public bool Tls => TrustedCa is not null || Url.Split(',').Any(u => u.Trim().StartsWith("tls://", StringComparison.OrdinalIgnoreCase));

    /// <returns>Null when <c>PILOTS_NATS_URL</c> is unset or empty (the Mosquitto mode).</returns>
    /// <exception cref="FormatException">
    /// A URL in the list is not <c>nats://host[:port]</c> or <c>tls://...</c>, the URLs name different logins, a password
    /// has no user, or <c>PILOTS_NATS_CA</c> is no readable PEM certificate; the message names the variable and never
    /// repeats a password.
    /// </exception>
    public static NatsOptions? FromEnvironment(Func<string, string?> env)
    {
        var settings = new SettingsReader(env);
        if (settings.Optional("PILOTS_NATS_URL") is not { } url)
        {
            return null;
        }

        var servers = new List<string>();
        var logins = new HashSet<(string User, string? Password)>();
        foreach (var part in url.Split(','))
        {
            if (!Uri.TryCreate(part.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls") || uri.Host.Length == 0
                || uri.AbsolutePath is not ("" or "/") || uri.Query.Length > 0)
            {
                throw SettingsReader.Error("PILOTS_NATS_URL", url, "is not a list of NATS URLs (expected nats://host[:port][,nats://host[:port]...], or tls://...)");
            }

            if (MqttEndpoint.SplitUserInfo(uri) is ({ } urlLogin, var urlSecret))
            {
                logins.Add((urlLogin, urlSecret));
            }

            servers.Add($"{uri.Scheme}://{uri.Authority}");
        }

        if (logins.Count > 1)
        {
            // NATS.Net would use the first URL's login for every server and ignore the others: say so rather than guess.
            throw SettingsReader.Error("PILOTS_NATS_URL", url, "names more than one user:password; give one login, or use PILOTS_NATS_USER and PILOTS_NATS_PASSWORD");
        }

        string? urlUser = null, urlPassword = null;
        if (logins.Count == 1)
        {
            (urlUser, urlPassword) = logins.Single();
        }

        var user = settings.Optional("PILOTS_NATS_USER");
        var password = settings.Optional("PILOTS_NATS_PASSWORD");
        if (urlUser is not null && (user ?? urlUser) != urlUser)
        {
            throw SettingsReader.Error("PILOTS_NATS_USER", user!, $"differs from the user in PILOTS_NATS_URL ('{urlUser}'); give it in one place");
        }

        if (urlPassword is not null && password is not null && password != urlPassword)
        {
            throw new FormatException("PILOTS_NATS_PASSWORD: differs from the password in PILOTS_NATS_URL; give it in one place");
        }

        user ??= urlUser;
        password ??= urlPassword;
        if (password is not null && user is null)
        {
            throw new FormatException("PILOTS_NATS_PASSWORD: is set but no user is (PILOTS_NATS_USER, or user:password@ in PILOTS_NATS_URL)");
        }

        var ca = BrokerTrust.LoadCa(env, "PILOTS_NATS_CA");
        if (ca is not null && servers.Any(s => s.StartsWith("nats://", StringComparison.Ordinal)))
        {
            // A CA file means the operator expects TLS. nats:// would let NATS.Net fall back to plain text when a
            // server (or someone between) does not offer TLS, and send the password in clear.
            throw SettingsReader.Error("PILOTS_NATS_URL", url, "must use tls:// URLs when PILOTS_NATS_CA is set: with nats:// the login could go out without TLS");
        }

        return new NatsOptions(string.Join(',', servers))
        {
            AckWait = settings.Seconds("PILOTS_NATS_ACK_WAIT_S", TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)),
            User = user,
            Password = password,
            TrustedCa = ca,
        };
    }

    /// <summary>
    /// The NATS.Net options of one connection to the cluster: its seeds, its login, and TLS required whenever a
    /// <c>tls://</c> URL or a CA is given, with the CA's chain checked as for MQTT (<see cref="BrokerTrust.Validate"/>).
    /// The connection retries for ever, the initial connect included, and does not give up after a refused login:
    /// the servers' users may be fixed and reloaded meanwhile; <see cref="LoginLog"/> says each refusal as an error.
    /// </summary>
    public NatsOpts ClientOptions(string name, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(loggers);
        var tls = NatsTlsOpts.Default;
        if (TrustedCa is { } roots)
        {
            tls = tls with
            {
                Mode = TlsMode.Require,
                ConfigureClientAuthentication = options =>
                {
                    options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => BrokerTrust.Validate(certificate, chain, errors, roots);
                    return ValueTask.CompletedTask;
                },
            };
        }
        else if (Tls)
        {
            tls = tls with { Mode = TlsMode.Require };
        }

        return new NatsOpts
        {
            Url = Url,
            Name = name,
            LoggerFactory = User is null ? loggers : new LoginLog(loggers, User),
            AuthOpts = User is null ? NatsAuthOpts.Default : NatsAuthOpts.Default with { Username = User, Password = Password ?? "" },
            TlsOpts = tls,
            RetryOnInitialConnect = true,
            MaxReconnectRetry = -1,
            IgnoreAuthErrorAbort = true,
        };
    }

    /// <summary>Without the password, so that logging the options never shows it.</summary>
    public override string ToString() =>
        $"NatsOptions {{ Url = {Url}, User = {User ?? "(none)"}, Password = {(Password is null ? "(none)" : "***")}, Tls = {Tls}, AckWait = {AckWait} }}";
}
