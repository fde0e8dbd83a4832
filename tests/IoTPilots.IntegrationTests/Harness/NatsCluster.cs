using System.Diagnostics;
using IoTPilots.Cloud.Nats;
using IoTPilots.Mqtt;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>
/// A NATS cluster of real <c>nats-server</c> processes (Debian's 2.9), each with JetStream and MQTT on free loopback
/// ports and a throwaway store, as deploy/local/cluster.sh starts one: the NATS mode's servers (docs/scaling.md).
/// A node can be killed with SIGKILL and started again on the same ports and store.
/// With <see cref="NatsSecurity"/>, each node includes the fragments <c>./run provision --broker nats</c> wrote, as
/// deploy/local/cluster.sh --secure does: TLS on every port and the provisioned users.
/// </summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-nats-").FullName;
    private readonly Node[] _nodes;
    private readonly NatsSecurity? _security;

    private sealed record Node(string Name, int Client, int Route, int Mqtt, string Config)
    {
        public Process? Process { get; set; }
    }

    private NatsCluster(int nodes, NatsSecurity? security)
    {
        _security = security;
        var ports = Enumerable.Range(0, nodes).Select(_ => (Client: Servers.FreePort(), Route: Servers.FreePort(), Mqtt: Servers.FreePort())).ToList();
        var routes = string.Join(", ", ports.Select(p => $"nats-route://127.0.0.1:{p.Route}"));
        _nodes = [.. ports.Select((p, i) =>
        {
            var name = $"n{i + 1}";
            var store = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
            var config = Path.Combine(store, "nats.conf");
            // nats-server 2.9 reads an include relative to the including file (deploy/nats/nats.conf).
            string Include(string fragment) => security is null ? "" : $", include \"{Path.GetRelativePath(store, Path.Combine(security.NatsDir, fragment))}\"";
            // MQTT needs a server name and JetStream; stream_replicas sets the replicas of $MQTT_msgs (MqttStream).
            File.WriteAllText(config, $$"""
                server_name: {{name}}
                listen: 127.0.0.1:{{p.Client}}
                {{(security is null ? "" : Include("security.conf")[2..])}}
                jetstream { store_dir: "{{store}}/js" }
                {{(nodes > 1 ? $"cluster {{ name: pilots, listen: 127.0.0.1:{p.Route}, routes: [ {routes} ]{Include("route-tls.conf")} }}" : "")}}
                mqtt { listen: 127.0.0.1:{{p.Mqtt}}, stream_replicas: {{Math.Min(nodes, 3)}}{{Include("mqtt-tls.conf")}} }
                """);
            return new Node(name, p.Client, p.Route, p.Mqtt, config);
        })];
    }

    /// <summary>The client URLs of every node, comma-separated (<c>PILOTS_NATS_URL</c>); <c>tls://</c> when secured.</summary>
    public string ClientUrls => string.Join(',', _nodes.Select(n => $"{(_security is null ? "nats" : "tls")}://127.0.0.1:{n.Client}"));

    /// <summary>
    /// Node <paramref name="index"/>'s MQTT gateway (0-based), as a gateway in 3.1.1 mode names it; when secured, over TLS
    /// to the name the certificate carries, trusting the provisioned CA, without a login.
    /// </summary>
    public MqttEndpoint Mqtt(int index) => _security is { } security
        ? MqttEndpoint.Parse($"mqtts://localhost:{_nodes[index].Mqtt}?protocol=3.1.1").WithTlsFromEnvironment(n => n == "PILOTS_MQTT_CA" ? security.CaFile : null)
        : MqttEndpoint.Parse($"mqtt://127.0.0.1:{_nodes[index].Mqtt}?protocol=3.1.1");

    public int Count => _nodes.Length;

    public static async Task<NatsCluster> StartAsync(int nodes = 3, NatsSecurity? security = null)
    {
        var cluster = new NatsCluster(nodes, security);
        for (var i = 0; i < nodes; i++)
        {
            cluster.Start(i);
        }

        await cluster.WaitJetStreamAsync();
        return cluster;
    }

    public void Kill(int index)
    {
        var p = _nodes[index].Process!;
        p.Kill();
        p.WaitForExit();
    }

    /// <summary>Starts a killed node again, same ports and store, and waits until it serves clients and MQTT.</summary>
    public async Task RestartAsync(int index)
    {
        Start(index);
        await WaitListeningAsync(_nodes[index]);
    }

    /// <summary>Which node (0-based) leads <paramref name="stream"/> now; -1 when none does.</summary>
    public async Task<int> LeaderOfAsync(string stream = MqttStream.Name)
    {
        await using var nats = Connect();
        var info = await new NatsJSContext(nats).GetStreamAsync(stream);
        var leader = info.Info.Cluster?.Leader;
        return Array.FindIndex(_nodes, n => n.Name == leader);
    }

    private void Start(int index)
    {
        var node = _nodes[index];
        var info = new ProcessStartInfo(Find()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(node.Config);
        var log = Path.Combine(_dir, node.Name + ".log");
        var p = Process.Start(info) ?? throw new InvalidOperationException("could not start nats-server");
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (node) { File.AppendAllText(log, e.Data + "\n"); } } };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (node) { File.AppendAllText(log, e.Data + "\n"); } } };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        node.Process = p;
    }

    private Task WaitListeningAsync(Node n) =>
        Task.WhenAll(
            Listening.WaitAsync(n.Process!, n.Client, n.Name, TimeSpan.FromSeconds(30), () => Log(n)),
            Listening.WaitAsync(n.Process!, n.Mqtt, n.Name + " (MQTT)", TimeSpan.FromSeconds(30), () => Log(n)));

    private string Log(Node n)
    {
        lock (n)
        {
            var path = Path.Combine(_dir, n.Name + ".log");
            return File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(20)) : "";
        }
    }

    private async Task WaitJetStreamAsync()
    {
        foreach (var n in _nodes)
        {
            await WaitListeningAsync(n);
        }

        // JetStream answers once the cluster has elected its meta leader.
        await using var nats = Connect();
        var js = new NatsJSContext(nats);
        await Eventually.TrueAsync(
            async () =>
            {
                try
                {
                    await js.GetAccountInfoAsync();
                    return true;
                }
                catch (NatsException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(60),
            "JetStream to answer on the NATS cluster");
    }

    /// <summary>The harness's own connection: anonymous, or with <see cref="NatsSecurity.Client"/>'s login and CA.</summary>
    private NatsConnection Connect() => new(_security is { } security
        ? (security.Client with { Url = ClientUrls }).ClientOptions("it-harness", Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance)
        : new NatsOpts { Url = ClientUrls });

    private static string Find() =>
        new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("nats-server is not installed (apt-get install nats-server; ./run test installs it)");

    public async ValueTask DisposeAsync()
    {
        foreach (var n in _nodes)
        {
            if (n.Process is { HasExited: false } p)
            {
                p.Kill();
                await p.WaitForExitAsync();
            }

            n.Process?.Dispose();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// A secured cluster's setup: the <c>nats/</c> folder <c>./run provision --broker nats</c> wrote (its fragments are
/// included by every node), the CA clients trust, and the login the harness itself uses (the cloud's).
/// </summary>
public sealed record NatsSecurity(string NatsDir, string CaFile, NatsOptions Client);
