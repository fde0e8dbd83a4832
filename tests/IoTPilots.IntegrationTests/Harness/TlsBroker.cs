using System.Diagnostics;
using IoTPilots.Cloud.Provisioning;
using IoTPilots.Mqtt;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>
/// A real Mosquitto run with exactly what <c>./run provision</c> generated (the same <see cref="ProvisionCommand"/>)
/// for the given inventories, in a throwaway folder: TLS with passwords on one free loopback port, mutual TLS on
/// another. One line is added to the generated mosquitto.conf: <c>user root</c>, because the tests run as root and
/// the generated secrets are 0600 (on a real broker they belong to the mosquitto user).
/// </summary>
public sealed class TlsBroker : IAsyncDisposable
{
    private readonly Process _process;

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log;

    private TlsBroker(string dir, int port, int certPort, Process process, System.Collections.Concurrent.ConcurrentQueue<string> log)
    {
        _log = log;
        Dir = dir;
        Port = port;
        CertPort = certPort;
        _process = process;
    }

    /// <summary>The provisioning output folder.</summary>
    public string Dir { get; }

    public int Port { get; }

    public int CertPort { get; }

    public string CaFile => Path.Combine(Dir, "ca", "ca.crt");

    /// <summary>What Mosquitto logged (connections, refusals), for failure messages.</summary>
    public string Log => string.Join('\n', _log);

    public static async Task<TlsBroker> StartAsync(string inventoryDir)
    {
        var dir = Directory.CreateTempSubdirectory("pilots-tls-").FullName;
        var data = Directory.CreateDirectory(Path.Combine(dir, "data")).FullName;
        var port = Servers.FreePort();
        var certPort = Servers.FreePort();
        // Twice, as an integrator switching modes would: passwords first (their env files are kept for the tests),
        // then with client certificates, which keeps the CA and the passwords and adds the mutual-TLS listener.
        foreach (var mode in new[] { "password", "certificate" })
        {
            var output = new StringWriter();
            string[] common =
            [
                "--inventory", inventoryDir, "--out", dir, "--broker-dir", Path.Combine(dir, "mosquitto"), "--data-dir", data,
                "--port", $"{port}", "--cert-port", $"{certPort}", "--bind", "127.0.0.1", "--client-dir", Path.Combine(dir, "ca"),
            ];
            var code = ProvisionCommand.Run(mode == "password" ? common : [.. common, "--client-certs"], output, output, TimeProvider.System);
            Assert.True(code == 0, $"provision exited {code}: {output}");
            if (mode == "password")
            {
                CopyEnvFiles(dir);
            }
        }

        var config = Path.Combine(dir, "mosquitto.test.conf");
        await File.WriteAllTextAsync(config, "user root\n" + await File.ReadAllTextAsync(Path.Combine(dir, "mosquitto", "mosquitto.conf")));
        var process = Process.Start(new ProcessStartInfo("/usr/sbin/mosquitto", ["-c", config]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })
            ?? throw new InvalidOperationException("could not start mosquitto");
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var broker = new TlsBroker(dir, port, certPort, process, log);
        foreach (var p in new[] { port, certPort })
        {
            await Listening.WaitAsync(process, p, "the TLS mosquitto", TimeSpan.FromSeconds(30), () => string.Join('\n', log));
        }

        return broker;
    }

    private static void CopyEnvFiles(string dir)
    {
        var copy = Directory.CreateDirectory(Path.Combine(dir, "password-mode")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(dir, "edge"), "*.env").Concat(Directory.GetFiles(Path.Combine(dir, "cloud"), "*.env")))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }
    }

    /// <summary>The generated credentials of <paramref name="user"/> (its line in the <c>credentials</c> file).</summary>
    public string Password(string user) =>
        File.ReadAllLines(Path.Combine(Dir, "credentials")).Single(l => l.StartsWith(user + ":", StringComparison.Ordinal))[(user.Length + 1)..];

    /// <summary>
    /// The environment a client gets from its generated env file (<c>edge/GATEWAY.env</c>, <c>cloud/cloud.env</c>,
    /// <c>cloud/viewer.env</c>) in password mode: its PILOTS_MQTT_URL as written, with the host the certificate names.
    /// </summary>
    public Dictionary<string, string> Env(string user) =>
        File.ReadAllLines(Path.Combine(Dir, "password-mode", user + ".env"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv[1]);

    /// <summary>A password-mode endpoint over TLS, trusting the generated CA.</summary>
    public MqttEndpoint Endpoint(string? user, string? password, string? caFile = null) =>
        new MqttEndpoint("localhost", Port, Tls: true, user, password).WithTlsFromEnvironment(n => n == "PILOTS_MQTT_CA" ? caFile ?? CaFile : null);

    public ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
