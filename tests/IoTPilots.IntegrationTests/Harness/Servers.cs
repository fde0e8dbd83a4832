using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IoTPilots.Cloud.Influx;
using IoTPilots.Mqtt;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>
/// Real Mosquitto and InfluxDB for the integration tests, started on free loopback ports with throwaway data
/// directories and stopped afterwards. When PILOTS_MQTT_URL / PILOTS_INFLUX_URL are set, those servers are
/// used instead and nothing is started. Every test gets its own InfluxDB database, so tests never see each
/// other's points.
/// </summary>
public sealed class Servers : IAsyncLifetime
{
    private readonly List<Process> _processes = [];
    private readonly Dictionary<string, (string File, string Arguments, int Port)> _commands = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-it-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly SemaphoreSlim _limitedGate = new(1, 1);
    private string? _influxUrl;
    private string? _limitedInfluxUrl;

    public MqttEndpoint Mqtt { get; private set; } = null!;

    /// <summary>The servers were named by PILOTS_MQTT_URL / PILOTS_INFLUX_URL: fault tests cannot stop them.</summary>
    public bool External { get; private set; }

    public string InfluxUrl => _influxUrl!;

    public int MqttPort => Mqtt.Port;

    public async Task InitializeAsync()
    {
        var mqttUrl = Environment.GetEnvironmentVariable("PILOTS_MQTT_URL");
        External = mqttUrl is not null || Environment.GetEnvironmentVariable("PILOTS_INFLUX_URL") is not null;
        Mqtt = MqttEndpoint.Parse(mqttUrl ?? $"mqtt://127.0.0.1:{await StartMosquittoAsync()}");
        _influxUrl = Environment.GetEnvironmentVariable("PILOTS_INFLUX_URL") ?? $"http://127.0.0.1:{await StartInfluxAsync()}";
    }

    /// <summary>A fresh, empty database on the test InfluxDB.</summary>
    public async Task<InfluxWriter> NewDatabaseAsync(string prefix)
    {
        var db = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];
        var endpoint = InfluxEndpoint.FromEnvironment(name => name switch
        {
            "PILOTS_INFLUX_URL" => _influxUrl,
            "PILOTS_INFLUX_DB" => db,
            _ => Environment.GetEnvironmentVariable(name),
        });
        var writer = new InfluxWriter(_http, endpoint);
        await writer.EnsureDatabaseAsync(CancellationToken.None);
        return writer;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<int> StartMosquittoAsync()
    {
        var port = FreePort();
        var data = Directory.CreateDirectory(Path.Combine(_dir, "mosquitto")).FullName;
        var config = Path.Combine(data, "mosquitto.conf");
        await File.WriteAllTextAsync(config, $"""
            listener {port} 127.0.0.1
            allow_anonymous true
            persistence true
            persistence_location {data}/
            autosave_interval 1
            log_dest stderr
            log_type error
            max_inflight_messages 1000
            max_queued_messages 0
            user root
            """);
        _commands["mosquitto"] = (Find("mosquitto", "/usr/sbin/mosquitto"), $"-c {config}", port);
        Start(_commands["mosquitto"].File, _commands["mosquitto"].Arguments, "mosquitto");
        await WaitForPortAsync(port, "mosquitto");
        return port;
    }

    /// <summary>
    /// A fresh database on a second InfluxDB, started on first use, that refuses (HTTP 413) any write request whose
    /// body is larger than <paramref name="maxBodyBytes"/> (gzip-compressed, as sent): InfluxDB 1.x's
    /// <c>[http] max-body-size</c>. One limit per test run: the first caller's.
    /// </summary>
    public async Task<InfluxWriter> NewLimitedDatabaseAsync(string prefix, int maxBodyBytes)
    {
        await _limitedGate.WaitAsync();
        try
        {
            _limitedInfluxUrl ??= $"http://127.0.0.1:{await StartInfluxAsync("influxd-limited", maxBodyBytes)}";
        }
        finally
        {
            _limitedGate.Release();
        }

        var writer = new InfluxWriter(_http, InfluxEndpoint.FromEnvironment(name => name switch
        {
            "PILOTS_INFLUX_URL" => _limitedInfluxUrl,
            "PILOTS_INFLUX_DB" => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)],
            _ => null,
        }));
        await writer.EnsureDatabaseAsync(CancellationToken.None);
        return writer;
    }

    private async Task<int> StartInfluxAsync(string name = "influxd", int? maxBodyBytes = null)
    {
        var port = FreePort();
        var rpc = FreePort();
        var data = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        var config = Path.Combine(data, "influxdb.conf");
        await File.WriteAllTextAsync(config, $"""
            reporting-disabled = true
            bind-address = "127.0.0.1:{rpc}"
            [meta]
              dir = "{data}/meta"
            [data]
              dir = "{data}/data"
              wal-dir = "{data}/wal"
              query-log-enabled = false
            [monitor]
              store-enabled = false
            [http]
              enabled = true
              bind-address = "127.0.0.1:{port}"
              log-enabled = false
            {(maxBodyBytes is { } max ? $"  max-body-size = {max}" : "")}
            [logging]
              level = "warn"
            [continuous_queries]
              enabled = false
            """);
        _commands[name] = (Find("influxd", "/usr/bin/influxd"), $"run -config {config}", port);
        Start(_commands[name].File, _commands[name].Arguments, name);
        await WaitForPortAsync(port, name);
        return port;
    }

    private static string Find(string name, string usual)
    {
        if (File.Exists(usual))
        {
            return usual;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"{name} is not installed; './run test' installs it (apt-get), or set PILOTS_MQTT_URL / PILOTS_INFLUX_URL");
    }

    /// <summary>Stops a server this harness started ("mosquitto" or "influxd") as an operator or systemd would (SIGTERM).</summary>
    public void Stop(string name)
    {
        var process = _processes.Single(p => p.StartInfo.FileName == _commands[name].File && p.StartInfo.Arguments == _commands[name].Arguments && !p.HasExited);
        ChildProcess.Terminate(process);
    }

    /// <summary>Starts a stopped server again on the same port with the same data.</summary>
    public async Task RestartAsync(string name)
    {
        var (file, arguments, port) = _commands[name];
        Start(file, arguments, name);
        await WaitForPortAsync(port, name);
    }

    private void Start(string file, string arguments, string name)
    {
        var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"could not start {name}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
    }

    private Task WaitForPortAsync(int port, string name) => Listening.WaitAsync(_processes[^1], port, name, TimeSpan.FromSeconds(60));

    /// <summary>Stops a started server (index 0: mosquitto, 1: influxd) for fault tests.</summary>
    public Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            try
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
            }

            p.Dispose();
        }

        _http.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class ServersCollection : ICollectionFixture<Servers>
{
    public const string Name = "servers";
}
