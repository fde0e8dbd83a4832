using IoTPilots.Cloud.Nats;
using IoTPilots.Cloud.Provisioning;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;

namespace IoTPilots.UnitTests.Nats;

/// <summary>
/// The NATS mode's security: the cloud's login and TLS settings (<see cref="NatsOptions"/>), and what
/// <c>./run provision --broker nats</c> writes (<see cref="NatsServerConfig"/>, nats-server 2.9.10 semantics).
/// </summary>
public sealed class NatsSecurityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-natssec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    private string CaFile()
    {
        var file = Path.Combine(_dir, "ca.crt");
        using var ca = DevelopmentCa.Create("test CA", DateTimeOffset.UtcNow);
        File.WriteAllText(file, ca.Certificate.ExportCertificatePem());
        return file;
    }

    [Fact]
    public void The_login_comes_from_its_own_variables_or_from_the_urls_which_then_carry_no_credentials()
    {
        var separate = NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "nats://a:4222,nats://b:4222"), ("PILOTS_NATS_USER", "cloud"), ("PILOTS_NATS_PASSWORD", "s3cret")))!;
        Assert.Equal(("cloud", "s3cret"), (separate.User, separate.Password));
        Assert.Equal("nats://a:4222,nats://b:4222", separate.Url);

        var inUrl = NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "tls://cloud:s%40cret@a:4222, tls://cloud:s%40cret@b:4222")))!;
        Assert.Equal(("cloud", "s@cret"), (inUrl.User, inUrl.Password));
        Assert.Equal("tls://a:4222,tls://b:4222", inUrl.Url);
        Assert.True(inUrl.Tls);

        var anonymous = NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "nats://a:4222")))!;
        Assert.Null(anonymous.User);
        Assert.False(anonymous.Tls);
    }

    [Fact]
    public void Client_options_log_in_require_tls_for_tls_urls_and_a_ca_and_trust_only_that_ca()
    {
        var ca = CaFile();
        var secured = NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "tls://h:4222"), ("PILOTS_NATS_USER", "cloud"), ("PILOTS_NATS_PASSWORD", "pw"), ("PILOTS_NATS_CA", ca)))!;
        var opts = secured.ClientOptions("pilots-cloud", NullLoggerFactory.Instance);
        Assert.Equal("tls://h:4222", opts.Url);
        Assert.Equal("pilots-cloud", opts.Name);
        Assert.Equal(("cloud", "pw"), (opts.AuthOpts.Username, opts.AuthOpts.Password));
        Assert.Equal(TlsMode.Require, opts.TlsOpts.Mode);
        Assert.NotNull(opts.TlsOpts.ConfigureClientAuthentication);
        Assert.True(opts.RetryOnInitialConnect);
        // A refused login is retried (the servers' users may be fixed and reloaded), and said as an error each time.
        Assert.True(opts.IgnoreAuthErrorAbort);

        var tlsOnly = NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "tls://h:4222")))!.ClientOptions("c", NullLoggerFactory.Instance);
        Assert.Equal(TlsMode.Require, tlsOnly.TlsOpts.Mode);
        Assert.Null(tlsOnly.TlsOpts.ConfigureClientAuthentication);

        var plain = NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "nats://h:4222")))!.ClientOptions("c", NullLoggerFactory.Instance);
        Assert.Equal(NatsTlsOpts.Default.Mode, plain.TlsOpts.Mode);
        Assert.Null(plain.AuthOpts.Username);
    }

    [Theory]
    [InlineData("PILOTS_NATS_URL", "nats://a:4222/path")]
    [InlineData("PILOTS_NATS_URL", "nats://a:4222?x=1")]
    [InlineData("PILOTS_NATS_URL", "tls://u1:p1@a:4222,tls://u2:p2@b:4222")]
    [InlineData("PILOTS_NATS_USER", "tls://cloud:pw@a:4222")]
    [InlineData("PILOTS_NATS_PASSWORD", "tls://cloud:pw@a:4222")]
    [InlineData("PILOTS_NATS_PASSWORD", "tls://a:4222")]
    public void Bad_logins_stop_the_start_naming_the_variable_and_never_the_password(string variable, string url)
    {
        var values = new List<(string, string)> { ("PILOTS_NATS_URL", url) };
        switch (variable, url)
        {
            case ("PILOTS_NATS_USER", _):
                values.Add(("PILOTS_NATS_USER", "someone-else"));
                break;
            case ("PILOTS_NATS_PASSWORD", "tls://a:4222"):
                values.Add(("PILOTS_NATS_PASSWORD", "lonely-pw"));
                break;
            case ("PILOTS_NATS_PASSWORD", _):
                values.Add(("PILOTS_NATS_USER", "cloud"));
                values.Add(("PILOTS_NATS_PASSWORD", "other-pw"));
                break;
        }

        var error = Assert.Throws<FormatException>(() => NatsOptions.FromEnvironment(Env([.. values])));
        Assert.StartsWith(variable + ":", error.Message, StringComparison.Ordinal);
        foreach (var secret in new[] { "p1", "p2", ":pw@", "lonely-pw", "other-pw" })
        {
            Assert.DoesNotContain(secret, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_ca_must_be_a_readable_pem_certificate_and_needs_tls_urls()
    {
        var missing = Assert.Throws<FormatException>(() => NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "tls://a:4222"), ("PILOTS_NATS_CA", Path.Combine(_dir, "nope.crt")))));
        Assert.StartsWith("PILOTS_NATS_CA:", missing.Message, StringComparison.Ordinal);

        var notPem = Path.Combine(_dir, "not.crt");
        File.WriteAllText(notPem, "hello");
        Assert.StartsWith("PILOTS_NATS_CA:", Assert.Throws<FormatException>(() => NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "tls://a:4222"), ("PILOTS_NATS_CA", notPem)))).Message, StringComparison.Ordinal);

        // nats:// would let the client go on in plain text when a server (or someone between) offers no TLS.
        var plain = Assert.Throws<FormatException>(() => NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "tls://a:4222,nats://b:4222"), ("PILOTS_NATS_CA", CaFile()))));
        Assert.StartsWith("PILOTS_NATS_URL:", plain.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_options_never_print_the_password()
    {
        var options = NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "tls://cloud:hunter2@a:4222")))!;
        Assert.DoesNotContain("hunter2", options.ToString(), StringComparison.Ordinal);
        Assert.Contains("cloud", options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_gateway_may_publish_only_its_own_subjects_and_receive_only_its_commands_and_pushes_over_MQTT_only()
    {
        var users = BrokerAccess.Users([new GatewayAccess("gw-a", "site-a", ["site-a", "site-x"], "a.yaml")]);
        var gateway = NatsServerConfig.Permissions(users.Single(u => u.User == "gw-a"));

        Assert.Equal(
            [
                "pilots.v1.site-a.gw-a.*.telemetry", "pilots.v1.site-x.gw-a.*.telemetry", "pilots.v1.site-a.gw-a.status",
                "pilots.v1.site-a.gw-a.gap", "pilots.v1.site-a.gw-a.command.result", "pilots.v1.site-a.gw-a.config.result",
            ],
            gateway.Publish);
        // $MQTT.sub.>: the MQTT gateway delivers QoS 1 subscriptions there (nats-server docs, MQTT configuration).
        Assert.Equal(["pilots.v1.site-a.gw-a.command", "pilots.v1.site-a.gw-a.config", "$MQTT.sub.>"], gateway.Subscribe);
        Assert.Equal(["MQTT"], gateway.ConnectionTypes);
    }

    [Fact]
    public void The_viewer_publishes_nothing_and_the_cloud_may_use_JetStream_on_the_MQTT_stream_only()
    {
        var users = BrokerAccess.Users([]);
        var viewer = NatsServerConfig.Permissions(users.Single(u => u.User == BrokerAccess.ViewerUser));
        Assert.Empty(viewer.Publish);
        // pilots/v1/# matches pilots/v1 itself in MQTT, so the gateway subscribes both subjects (mqttNeedSubForLevelUp).
        Assert.Equal(["pilots.v1.>", "pilots.v1", "$MQTT.sub.>"], viewer.Subscribe);

        var cloud = NatsServerConfig.Permissions(users.Single(u => u.User == BrokerAccess.CloudUser));
        Assert.Equal(["STANDARD", "MQTT"], cloud.ConnectionTypes);
        Assert.Contains("pilots.v1.*.*.command", cloud.Publish);
        Assert.Contains("$JS.ACK.$MQTT_msgs.>", cloud.Publish);
        Assert.Contains("$JS.API.CONSUMER.*.$MQTT_msgs.>", cloud.Publish);
        Assert.DoesNotContain(cloud.Publish, s => s.StartsWith("pilots.v1.", StringComparison.Ordinal) && s.EndsWith("telemetry", StringComparison.Ordinal));
        Assert.DoesNotContain(cloud.Publish, s => s.Contains("STREAM.DELETE", StringComparison.Ordinal) || s.Contains("STREAM.PURGE", StringComparison.Ordinal) || s == ">");
        Assert.Contains("_INBOX.>", cloud.Subscribe);
        Assert.Contains("pilots.v1.*.*.*.telemetry", cloud.Subscribe);

        var text = NatsServerConfig.Users(users, u => "$2a$06$" + u);
        Assert.Contains("{ user: \"viewer\", password: \"$2a$06$viewer\", allowed_connection_types: [\"MQTT\"],\n      permissions: {\n        publish: { deny: [\">\"] }\n", text, StringComparison.Ordinal);
        Assert.Equal("$2a$06$cloud", NatsServerConfig.HashesIn(text)["cloud"]);
    }

    [Fact]
    public void Passwords_are_bcrypt_as_nats_server_checks_them()
    {
        // jBCrypt's test vectors (TestBCrypt.java, the OpenBSD bcrypt reference), at work factor 6.
        Assert.True(NatsPassword.Verifies("$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.", ""));
        Assert.True(NatsPassword.Verifies("$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe", "a"));

        var hash = NatsPassword.Hash("correct horse");
        // nats-server takes a password as bcrypt when it matches ^\$2[abxy]\$\d{2}\$ (server/auth.go, validBcryptPrefix).
        Assert.Matches(@"^\$2[abxy]\$06\$", hash);
        Assert.True(NatsPassword.Verifies(hash, "correct horse"));
        Assert.False(NatsPassword.Verifies(hash, "wrong horse"));
        Assert.False(NatsPassword.Verifies("not a hash", "correct horse"));
    }

    [Fact]
    public void Provision_for_nats_writes_the_nodes_fragments_and_env_files_for_the_nats_mode_and_keeps_them_on_a_rerun()
    {
        var inventories = Directory.CreateDirectory(Path.Combine(_dir, "inv")).FullName;
        File.WriteAllText(Path.Combine(inventories, "a.yaml"), """
            gateway: gw-a
            site: site-a
            pilot: aquaculture
            devices:
              - id: tank-01
                bus: modbus-tcp
                address: 127.0.0.1:5020
                profile: ras-tank-sim
            """);
        var outDir = Path.Combine(_dir, "out");
        string[] args = ["--inventory", inventories, "--out", outDir, "--broker", "nats", "--host", "nats.example.org", "--nats-port", "4333"];
        Assert.Equal(0, ProvisionCommand.Run(args, TextWriter.Null, TextWriter.Null, TimeProvider.System));
        string Read(string file) => File.ReadAllText(Path.Combine(outDir, file));

        var gateway = Read("edge/gw-a.env");
        Assert.Matches(@"PILOTS_MQTT_URL=mqtts://gw-a:[A-Za-z0-9_-]+@nats\.example\.org:8883\?protocol=3\.1\.1\n", gateway);
        Assert.DoesNotContain("PILOTS_NATS", gateway, StringComparison.Ordinal);
        var cloud = Read("cloud/cloud.env");
        Assert.Contains("PILOTS_NATS_URL=tls://nats.example.org:4333\nPILOTS_NATS_USER=cloud\nPILOTS_NATS_PASSWORD=", cloud, StringComparison.Ordinal);
        Assert.Contains("PILOTS_NATS_CA=/etc/iotpilots/ca.crt\n", cloud, StringComparison.Ordinal);
        // What the cloud reads from it parses (its CA path is on the target machine, so not here).
        var env = cloud.Split('\n').Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#')).Select(l => l.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        var options = NatsOptions.FromEnvironment(n => n == "PILOTS_NATS_CA" ? null : env.GetValueOrDefault(n))!;
        Assert.Equal("cloud", options.User);

        Assert.Contains("include users.conf", Read("nats/security.conf"), StringComparison.Ordinal);
        Assert.Contains("cert_file: \"/etc/nats/iotpilots/server.crt\"", Read("nats/security.conf"), StringComparison.Ordinal);
        Assert.Contains("cert_file: \"/etc/nats/iotpilots/route.crt\"", Read("nats/route-tls.conf"), StringComparison.Ordinal);
        Assert.Equal(Read("mosquitto/server.crt"), Read("nats/server.crt"));
        var users = Read("nats/users.conf");
        var password = Read("credentials").Split('\n').Single(l => l.StartsWith("gw-a:", StringComparison.Ordinal))[5..];
        Assert.DoesNotContain(password, users, StringComparison.Ordinal);
        Assert.True(NatsPassword.Verifies(NatsServerConfig.HashesIn(users)["gw-a"], password));
        if (!OperatingSystem.IsWindows())
        {
            foreach (var secret in new[] { "nats/users.conf", "nats/server.key", "nats/route.key" })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(outDir, secret)));
            }
        }

        // The route certificate serves and dials (clientAuth as well as serverAuth), for nats-server's mutual route TLS.
        using (var route = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Path.Combine(outDir, "nats", "route.crt")))
        {
            var usages = route.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value);
            Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], usages);
        }

        var before = Directory.GetFiles(outDir, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllText);
        Assert.Equal(0, ProvisionCommand.Run(args, TextWriter.Null, TextWriter.Null, TimeProvider.System));
        Assert.All(before, file => Assert.True(File.ReadAllText(file.Key) == file.Value, $"{file.Key} changed on a re-run"));
    }

    [Theory]
    [InlineData("--broker", "kafka", "--broker")]
    [InlineData("--broker", "nats", "--client-certs", "--client-certs")]
    [InlineData("--broker", "nats", "--nats-port", "8883", "--nats-port")]
    [InlineData("--nats-dir", "relative", "--nats-dir")]
    public void Bad_nats_options_exit_2_naming_the_option(params string[] argsThenOption)
    {
        var error = new StringWriter();
        var code = ProvisionCommand.Run(["--inventory", _dir, "--out", Path.Combine(_dir, "o"), .. argsThenOption[..^1]], TextWriter.Null, error, TimeProvider.System);
        Assert.Equal(2, code);
        Assert.StartsWith($"provision: {argsThenOption[^1]}:", error.ToString(), StringComparison.Ordinal);
    }
}
