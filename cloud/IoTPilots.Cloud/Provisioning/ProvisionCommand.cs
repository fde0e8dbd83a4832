using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using IoTPilots.Config;
using IoTPilots.Devices;

namespace IoTPilots.Cloud.Provisioning;

/// <summary>
/// <c>IoTPilots.Cloud provision</c> (<c>./run provision</c>): from the edge inventories, everything a TLS broker with
/// a login per gateway needs, written into one folder (deploy/README.md, "Broker security"):
/// <code>
/// ca/ca.crt, ca/ca.key            the development CA (keep ca.key off the broker)
/// credentials                     user:password, the source of the passwords on the next run
/// mosquitto/                      mosquitto.conf, acl, passwords, ca.crt, server.crt, server.key: the broker's folder
/// nats/                           security.conf, users.conf, mqtt-tls.conf, route-tls.conf, ca.crt, server.crt/.key,
///                                 route.crt/.key: each NATS node's folder (the NATS mode, deploy/nats/nats.conf)
/// edge/GATEWAY.env                each gateway's PILOTS_MQTT_URL and PILOTS_MQTT_CA (+ GATEWAY.p12/.crt/.key with --client-certs)
/// cloud/cloud.env, cloud/viewer.env   the same for the cloud workers and the read-only viewer (with --broker nats: MQTT
///                                 3.1.1 to the NATS nodes, and the cloud's PILOTS_NATS_URL, _USER, _PASSWORD, _CA)
/// cloud/command-keys              the key the cloud signs each gateway's commands with (its edge env has it as PILOTS_COMMAND_KEY)
/// </code>
/// A re-run keeps the CA, the server certificate (unless its names changed or it nears its end), every password and
/// client certificate, and adds what new gateways need; <c>--rotate</c> makes everything anew. Secrets and private
/// keys are mode 0600. Exit 0, or 2 on bad input naming the option, file or field.
/// </summary>
public static class ProvisionCommand
{
    public const string Usage = """
        usage: provision --inventory FILE|DIR [--inventory ...] --out DIR [--host NAME]... [--cloud-host NAME]
                         [--client-certs] [--rotate] [--port 8883] [--cert-port 8884] [--bind ADDRESS]
                         [--broker-dir /etc/mosquitto/iotpilots] [--data-dir /var/lib/mosquitto] [--client-dir /etc/iotpilots]
                         [--broker mosquitto|nats] [--nats-port 4222] [--nats-dir /etc/nats/iotpilots]
        """;

    private const string CaName = "IoT Pilots development CA";

    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            var arguments = ProvisionArguments.Parse(args);
            var gateways = BrokerAccess.FromInventories(LoadInventories(arguments.Inventories));
            Provision(arguments, gateways, output, time.GetUtcNow());
            return 0;
        }
        catch (Exception ex) when (ex is FormatException or ConfigException)
        {
            error.WriteLine($"provision: {ex.Message}");
            if (ex is FormatException && ex.Message.StartsWith("--", StringComparison.Ordinal))
            {
                error.WriteLine(Usage);
            }

            return 2;
        }
    }

    /// <summary>Every inventory of the given files and folders (<c>*.yaml</c>, <c>*.yml</c>), checked as the edge checks them.</summary>
    public static IReadOnlyList<Inventory> LoadInventories(IEnumerable<string> paths)
    {
        var inventories = new List<Inventory>();
        foreach (var path in paths)
        {
            List<string> files;
            if (Directory.Exists(path))
            {
                files = [.. Directory.GetFiles(path, "*.yaml").Concat(Directory.GetFiles(path, "*.yml")).Order(StringComparer.Ordinal)];
                if (files.Count == 0)
                {
                    throw new FormatException($"--inventory: '{path}' is a folder without edge inventories (*.yaml)");
                }
            }
            else if (File.Exists(path))
            {
                files = [path];
            }
            else
            {
                throw new FormatException($"--inventory: '{path}' is neither a file nor a folder");
            }

            foreach (var file in files)
            {
                try
                {
                    inventories.Add(InventoryLoader.Load(file));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new FormatException($"{file}: cannot read: {ex.Message}", ex);
                }
            }
        }

        return inventories;
    }

    private static void Provision(ProvisionArguments arguments, IReadOnlyList<GatewayAccess> gateways, TextWriter output, DateTimeOffset now)
    {
        var outDir = Path.GetFullPath(arguments.Out);
        try
        {
            foreach (var sub in new[] { "ca", "mosquitto", "nats", "edge", "cloud" })
            {
                Directory.CreateDirectory(Path.Combine(outDir, sub));
            }

            // Probe: a folder that exists but is read-only fails here, before anything is half written.
            var probe = Path.Combine(outDir, ".write-test");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"--out: cannot write into '{outDir}': {ex.Message}", ex);
        }

        var files = new OutputFolder(outDir, output);
        using var ca = CertificateAuthority(files, arguments.Rotate, now);
        files.Write("mosquitto/ca.crt", ca.Certificate.ExportCertificatePem() + "\n", secret: false);
        ServerCertificate(files, ca, arguments, "mosquitto/server", route: false, now);

        var users = gateways.Select(g => (User: g.Gateway, Folder: "edge", Host: arguments.Hosts[0]))
            .Append((User: BrokerAccess.CloudUser, Folder: "cloud", Host: arguments.CloudHost))
            .Append((User: BrokerAccess.ViewerUser, Folder: "cloud", Host: arguments.Hosts[0]))
            .ToList();
        var passwords = Passwords(files, users.Select(u => u.User), arguments.Rotate);
        files.Write("credentials", "# user:password for each broker user, written by ./run provision and read again by it: keep it secret.\n"
            + string.Concat(users.Select(u => $"{u.User}:{passwords[u.User]}\n")), secret: true);
        files.Write("mosquitto/passwords", PasswordFile(files.Read("mosquitto/passwords"), users.Select(u => (u.User, passwords[u.User]))), secret: true);
        files.Write("mosquitto/acl", BrokerAccess.Acl(gateways), secret: false);
        files.Write("mosquitto/mosquitto.conf", BrokerConfig.Render(arguments.Broker), secret: false);
        var nats = arguments.NatsNodes ?? new NatsLayout(MqttPort: arguments.Broker.Port);
        NatsFiles(files, ca, arguments, nats, users.Select(u => u.User).ToList(), passwords, BrokerAccess.Users(gateways), now);

        // Command keys (cloud README, "Commands"): one per gateway, kept across runs like the passwords.
        var commandKeys = CommandKeysOf(files, gateways.Select(g => g.Gateway), arguments.Rotate);
        files.Write("cloud/command-keys", "# GATEWAY BASE64-KEY: the keys the cloud signs commands with, written by ./run provision. Keep it secret.\n"
            + string.Concat(commandKeys.Select(k => $"{k.Key} {k.Value}\n")), secret: true);

        foreach (var (user, folder, host) in users)
        {
            var certificate = arguments.Broker.ClientCerts && ClientCertificate(files, ca, $"{folder}/{user}", user, arguments.Rotate, now);
            var extra = commandKeys.TryGetValue(user, out var key) ? $"PILOTS_COMMAND_KEY={key}\n"
                : user == BrokerAccess.CloudUser ? $"PILOTS_COMMAND_KEYS={arguments.ClientDir.TrimEnd('/')}/command-keys\n" : "";
            var env = arguments.NatsMode ? NatsEnvFile(user, passwords[user], host, arguments, nats) : EnvFile(user, passwords[user], host, arguments, certificate);
            files.Write($"{folder}/{user}.env", env + extra, secret: true);
        }

        RemoveGone(files, gateways);
        output.WriteLine($"provision: {gateways.Count} gateway(s), users {BrokerAccess.CloudUser} and {BrokerAccess.ViewerUser}, in {outDir}");
        output.WriteLine(arguments.NatsMode
            ? $"provision: install {outDir}/nats as {nats.Dir} on every NATS node (deploy/nats/nats.conf), each edge/GATEWAY.env as /etc/iotpilots/edge.env with ca/ca.crt as {arguments.ClientDir}/ca.crt (deploy/README.md, \"The NATS mode\")"
            : $"provision: install {outDir}/mosquitto as {arguments.Broker.BrokerDir} on the broker, each edge/GATEWAY.env as /etc/iotpilots/edge.env with ca/ca.crt as {arguments.ClientDir}/ca.crt (deploy/README.md)");
    }

    private static DevelopmentCa CertificateAuthority(OutputFolder files, bool rotate, DateTimeOffset now)
    {
        if (!rotate && files.Exists("ca/ca.crt") && files.Exists("ca/ca.key"))
        {
            var loaded = files.LoadCertificate("ca/ca.crt", "ca/ca.key");
            if (loaded.NotAfter.ToUniversalTime() - now.UtcDateTime >= DevelopmentCa.RenewBefore)
            {
                files.Say("ca/ca.crt", "kept");
                return new DevelopmentCa(loaded);
            }

            loaded.Dispose();
            files.Say("ca/ca.crt", "expires soon: made anew; every client needs the new ca.crt");
        }
        else if (!rotate && files.Exists("ca/ca.crt") != files.Exists("ca/ca.key"))
        {
            throw new FormatException($"{files.Full(files.Exists("ca/ca.crt") ? "ca/ca.key" : "ca/ca.crt")}: is missing while its pair is there: restore it, or make a new CA with --rotate");
        }

        var ca = DevelopmentCa.Create(CaName, now);
        files.Write("ca/ca.key", ca.Certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n", secret: true);
        files.Write("ca/ca.crt", ca.Certificate.ExportCertificatePem() + "\n", secret: false);
        return ca;
    }

    /// <summary>Issues (or keeps) a server certificate at <paramref name="stem"/>.crt/.key; <paramref name="route"/>: also for TLS clients.</summary>
    private static void ServerCertificate(OutputFolder files, DevelopmentCa ca, ProvisionArguments arguments, string stem, bool route, DateTimeOffset now)
    {
        if (!arguments.Rotate && files.Exists(stem + ".crt") && files.Exists(stem + ".key"))
        {
            using var existing = files.LoadCertificate(stem + ".crt", stem + ".key");
            if (ca.Signed(existing, now) && DevelopmentCa.Names(existing).SetEquals(arguments.Hosts))
            {
                files.Say(stem + ".crt", "kept");
                return;
            }
        }

        using var server = ca.IssueServer(arguments.Hosts, now, route);
        files.Write(stem + ".key", server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n", secret: true);
        files.Write(stem + ".crt", server.ExportCertificatePem() + "\n", secret: false);
    }

    /// <summary>
    /// The NATS nodes' folder (<see cref="NatsServerConfig"/>): the broker's certificate and the CA as for Mosquitto, a
    /// route certificate, the config fragments, and the users with bcrypt hashes, each kept while it still matches.
    /// </summary>
    private static void NatsFiles(OutputFolder files, DevelopmentCa ca, ProvisionArguments arguments, NatsLayout nats, IReadOnlyList<string> users,
        IReadOnlyDictionary<string, string> passwords, IReadOnlyList<UserAccess> access, DateTimeOffset now)
    {
        files.Write("nats/ca.crt", ca.Certificate.ExportCertificatePem() + "\n", secret: false);
        files.Write("nats/server.crt", files.Read("mosquitto/server.crt")!, secret: false);
        files.Write("nats/server.key", files.Read("mosquitto/server.key")!, secret: true);
        ServerCertificate(files, ca, arguments, "nats/route", route: true, now);
        var known = arguments.Rotate ? new Dictionary<string, string>() : NatsServerConfig.HashesIn(files.Read("nats/users.conf"));
        var hashes = users.ToDictionary(
            u => u,
            u => known.TryGetValue(u, out var hash) && NatsPassword.Verifies(hash, passwords[u]) ? hash : NatsPassword.Hash(passwords[u]),
            StringComparer.Ordinal);
        files.Write("nats/users.conf", NatsServerConfig.Users(access, u => hashes[u]), secret: true);
        files.Write("nats/security.conf", NatsServerConfig.Security(nats), secret: false);
        files.Write("nats/mqtt-tls.conf", NatsServerConfig.MqttTls(nats), secret: false);
        files.Write("nats/route-tls.conf", NatsServerConfig.RouteTls(nats), secret: false);
    }

    /// <summary>Issues (or keeps) a client certificate at <paramref name="stem"/>.crt/.key/.p12; returns true.</summary>
    private static bool ClientCertificate(OutputFolder files, DevelopmentCa ca, string stem, string user, bool rotate, DateTimeOffset now)
    {
        if (!rotate && files.Exists(stem + ".crt") && files.Exists(stem + ".key") && files.Exists(stem + ".p12"))
        {
            using var existing = files.LoadCertificate(stem + ".crt", stem + ".key");
            if (ca.Signed(existing, now) && existing.GetNameInfo(X509NameType.SimpleName, forIssuer: false) == user)
            {
                files.Say(stem + ".crt", "kept");
                return true;
            }
        }

        using var client = ca.IssueClient(user, now);
        files.Write(stem + ".key", client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n", secret: true);
        files.Write(stem + ".crt", client.ExportCertificatePem() + "\n", secret: false);
        // PKCS#12 for .NET clients (PILOTS_MQTT_CLIENT_CERT), without a password: the file is 0600 like the PEM key.
        files.WriteBytes(stem + ".p12", client.Export(X509ContentType.Pkcs12), secret: true);
        return true;
    }

    private static Dictionary<string, string> Passwords(OutputFolder files, IEnumerable<string> users, bool rotate)
    {
        var known = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!rotate && files.Read("credentials") is { } text)
        {
            foreach (var line in text.Split('\n'))
            {
                if (line.Length > 0 && !line.StartsWith('#') && line.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon)
                {
                    known[line[..colon]] = line[(colon + 1)..];
                }
            }
        }

        return users.ToDictionary(u => u, u => known.TryGetValue(u, out var password) && password.Length > 0 ? password : MosquittoPassword.NewPassword(), StringComparer.Ordinal);
    }

    /// <summary>Each gateway's command key: the one already in <c>cloud/command-keys</c> unless rotating, else a new one.</summary>
    private static Dictionary<string, string> CommandKeysOf(OutputFolder files, IEnumerable<string> gateways, bool rotate)
    {
        var known = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!rotate && files.Read("cloud/command-keys") is { } text)
        {
            foreach (var line in text.Split('\n'))
            {
                if (line.Length > 0 && !line.StartsWith('#') && line.Split(' ') is [var gateway, var key])
                {
                    known[gateway] = key;
                }
            }
        }

        return gateways.ToDictionary(g => g, g => known.TryGetValue(g, out var key) ? key : Commands.CommandKeys.NewKey(), StringComparer.Ordinal);
    }

    /// <summary>The password file, keeping each line that still matches (so a re-run changes nothing).</summary>
    private static string PasswordFile(string? existing, IEnumerable<(string User, string Password)> users)
    {
        var old = (existing ?? "").Split('\n').Where(l => l.Contains(':', StringComparison.Ordinal)).ToList();
        var file = new StringBuilder();
        foreach (var (user, password) in users)
        {
            file.Append(old.FirstOrDefault(l => MosquittoPassword.Verifies(l, user, password)) ?? MosquittoPassword.Line(user, password)).Append('\n');
        }

        return file.ToString();
    }

    private static string EnvFile(string user, string password, string host, ProvisionArguments arguments, bool certificate)
    {
        var clientDir = arguments.ClientDir.TrimEnd('/');
        var env = new StringBuilder($"""
            # Broker credentials of '{user}', written by ./run provision. Install as /etc/iotpilots/{(user is BrokerAccess.CloudUser or BrokerAccess.ViewerUser ? "cloud" : "edge")}.env, chmod 640,
            # owner root:iotpilots, with ca/ca.crt as {clientDir}/ca.crt. Never commit it.

            """);
        if (certificate)
        {
            // Mutual TLS: the certificate's CN is the user, so the URL carries no password.
            env.Append($"PILOTS_MQTT_URL=mqtts://{host}:{arguments.Broker.CertPort}\n");
            env.Append($"PILOTS_MQTT_CLIENT_CERT={clientDir}/{user}.p12\n");
        }
        else
        {
            env.Append($"PILOTS_MQTT_URL=mqtts://{user}:{password}@{host}:{arguments.Broker.Port}\n");
        }

        env.Append($"PILOTS_MQTT_CA={clientDir}/ca.crt\n");
        return env.ToString();
    }

    /// <summary>
    /// A client's env file for the NATS mode: MQTT 3.1.1 over TLS to the NATS nodes' MQTT port (the gateways, the viewer,
    /// and the cloud's own MQTT subscriptions), and for the cloud its NATS login over TLS (its JetStream consumer).
    /// </summary>
    private static string NatsEnvFile(string user, string password, string host, ProvisionArguments arguments, NatsLayout nats)
    {
        var clientDir = arguments.ClientDir.TrimEnd('/');
        var env = new StringBuilder($"""
            # Credentials of '{user}' for the NATS mode (docs/scaling.md), written by ./run provision --broker nats. Install as
            # /etc/iotpilots/{(user is BrokerAccess.CloudUser or BrokerAccess.ViewerUser ? "cloud" : "edge")}.env, chmod 640, owner root:iotpilots, with ca/ca.crt as {clientDir}/ca.crt. Never commit it.
            # Every node serves MQTT on {nats.MqttPort}: for failover, let {host} resolve to all of them (docs/scaling.md, "Gateway failover").
            PILOTS_MQTT_URL=mqtts://{user}:{password}@{host}:{nats.MqttPort}?protocol=3.1.1
            PILOTS_MQTT_CA={clientDir}/ca.crt

            """);
        if (user == BrokerAccess.CloudUser)
        {
            // NATS.Net learns the cluster's other nodes from the first it reaches; list them all for a start with one down.
            env.Append($"PILOTS_NATS_URL=tls://{host}:{nats.ClientPort}\n");
            env.Append($"PILOTS_NATS_USER={user}\n");
            env.Append($"PILOTS_NATS_PASSWORD={password}\n");
            env.Append($"PILOTS_NATS_CA={clientDir}/ca.crt\n");
        }

        return env.ToString();
    }

    /// <summary>Files of gateways that left the inventories: their credentials are gone from the broker, so are these.</summary>
    private static void RemoveGone(OutputFolder files, IReadOnlyList<GatewayAccess> gateways)
    {
        var current = gateways.Select(g => g.Gateway).ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(files.Full("edge")))
        {
            var name = Path.GetFileName(file);
            var dot = name.IndexOf('.', StringComparison.Ordinal);
            var stem = dot > 0 ? name[..dot] : name;
            if (!current.Contains(stem))
            {
                File.Delete(file);
                files.Say("edge/" + name, "removed (the gateway is in no inventory any more)");
            }
        }
    }

    /// <summary>The output folder: writes only what changed, with the right modes, and says what it did.</summary>
    private sealed class OutputFolder(string root, TextWriter output)
    {
        private const UnixFileMode Secret = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        private const UnixFileMode Public = Secret | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

        public string Full(string relative) => Path.Combine(root, relative);

        public bool Exists(string relative) => File.Exists(Full(relative));

        public string? Read(string relative) => Exists(relative) ? File.ReadAllText(Full(relative)) : null;

        public void Say(string relative, string what) => output.WriteLine($"  {relative}: {what}");

        public X509Certificate2 LoadCertificate(string certificate, string key)
        {
            try
            {
                return X509Certificate2.CreateFromPemFile(Full(certificate), Full(key));
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw new FormatException($"{Full(certificate)}: cannot load it with {Full(key)} ({ex.Message}): restore the pair, or make everything anew with --rotate", ex);
            }
        }

        public void Write(string relative, string content, bool secret) => WriteBytes(relative, Encoding.UTF8.GetBytes(content), secret);

        public void WriteBytes(string relative, byte[] content, bool secret)
        {
            var path = Full(relative);
            var mode = secret ? Secret : Public;
            try
            {
                if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(content))
                {
                    SetMode(path, mode);
                    return;
                }

                var temporary = path + ".new";
                File.Delete(temporary);
                using (var stream = OperatingSystem.IsWindows()
                    ? new FileStream(temporary, FileMode.CreateNew)
                    : new FileStream(temporary, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
                {
                    stream.Write(content);
                }

                File.Move(temporary, path, overwrite: true);
                SetMode(path, mode);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new FormatException($"--out: cannot write '{path}': {ex.Message}", ex);
            }

            Say(relative, "written");
        }

        private static void SetMode(string path, UnixFileMode mode)
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, mode);
            }
        }
    }
}
