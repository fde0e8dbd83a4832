using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace IoTPilots.Cloud.Provisioning;

/// <summary>The options of <c>./run provision</c> (<see cref="ProvisionCommand.Usage"/>), checked as they are read.</summary>
/// <param name="Inventories">Edge inventory files or folders of them.</param>
/// <param name="Out">Where everything is written (kept between runs: the CA and the passwords are reused).</param>
/// <param name="Hosts">The broker's names: every one goes into its certificate; the first is the one gateways dial.</param>
/// <param name="CloudHost">The name the cloud dials (in a compose file, the broker's service name).</param>
/// <param name="ClientDir">Where gateways and the cloud keep ca.crt and their certificate (named in their env files).</param>
/// <param name="NatsMode">
/// <c>--broker nats</c>: the env files are for the NATS mode (MQTT 3.1.1 to the NATS nodes, the cloud's NATS login);
/// the <c>nats/</c> folder is written either way.
/// </param>
/// <param name="NatsNodes">Where the NATS nodes keep <c>nats/</c>, and their client and MQTT ports.</param>
public sealed record ProvisionArguments(
    IReadOnlyList<string> Inventories,
    string Out,
    IReadOnlyList<string> Hosts,
    string CloudHost,
    BrokerLayout Broker,
    string ClientDir = ProvisionArguments.DefaultClientDir,
    bool Rotate = false,
    bool NatsMode = false,
    NatsLayout? NatsNodes = null)
{
    public const string DefaultClientDir = "/etc/iotpilots";

    /// <exception cref="FormatException">An option is unknown, incomplete or wrong; the message names it.</exception>
    public static ProvisionArguments Parse(IReadOnlyList<string> args)
    {
        var inventories = new List<string>();
        var hosts = new List<string>();
        string? outDir = null, cloudHost = null, clientDir = null;
        var layout = new BrokerLayout();
        var rotate = false;
        var natsMode = false;
        var natsDir = NatsLayout.DefaultDir;
        int? natsPort = null;
        for (var i = 0; i < args.Count; i++)
        {
            var option = args[i];
            switch (option)
            {
                case "--rotate":
                    rotate = true;
                    continue;
                case "--client-certs":
                    layout = layout with { ClientCerts = true };
                    continue;
            }

            if (i + 1 >= args.Count || args[i + 1].Length == 0)
            {
                throw new FormatException($"{option}: {(option.StartsWith("--", StringComparison.Ordinal) && Known(option) ? "needs a value" : "is not an option")}");
            }

            var value = args[++i];
            switch (option)
            {
                case "--inventory":
                    inventories.Add(value);
                    break;
                case "--out":
                    outDir = value;
                    break;
                case "--host":
                    hosts.Add(HostName(option, value));
                    break;
                case "--cloud-host":
                    cloudHost = HostName(option, value);
                    break;
                case "--client-dir":
                    clientDir = AbsolutePath(option, value);
                    break;
                case "--broker-dir":
                    layout = layout with { BrokerDir = AbsolutePath(option, value) };
                    break;
                case "--data-dir":
                    layout = layout with { DataDir = AbsolutePath(option, value) };
                    break;
                case "--port":
                    layout = layout with { Port = Port(option, value) };
                    break;
                case "--cert-port":
                    layout = layout with { CertPort = Port(option, value) };
                    break;
                case "--broker":
                    natsMode = value switch
                    {
                        "mosquitto" => false,
                        "nats" => true,
                        _ => throw new FormatException($"--broker: '{value}' is not a broker (mosquitto or nats)"),
                    };
                    break;
                case "--nats-dir":
                    natsDir = AbsolutePath(option, value);
                    break;
                case "--nats-port":
                    natsPort = Port(option, value);
                    break;
                case "--bind":
                    layout = layout with { Bind = IPAddress.TryParse(value, out _) ? value : throw new FormatException($"--bind: '{value}' is not an IP address") };
                    break;
                default:
                    throw new FormatException($"{option}: is not an option");
            }
        }

        if (inventories.Count == 0)
        {
            throw new FormatException("--inventory: at least one edge inventory file or folder is required");
        }

        if (outDir is null)
        {
            throw new FormatException("--out: the output folder is required");
        }

        if (layout.ClientCerts && layout.CertPort == layout.Port)
        {
            throw new FormatException($"--cert-port: {layout.CertPort} is also --port");
        }

        if (natsMode && layout.ClientCerts)
        {
            // NATS's MQTT gateway could map certificates to users (tls { verify_and_map }), not wired here yet.
            throw new FormatException("--client-certs: is for Mosquitto only; with --broker nats the clients log in with passwords over TLS");
        }

        var nats = new NatsLayout(natsDir, natsPort ?? 4222, layout.Port);
        if (nats.ClientPort == nats.MqttPort)
        {
            throw new FormatException($"--nats-port: {nats.ClientPort} is also --port (the MQTT port)");
        }

        // The certificate always names the loopback, so tools on the broker host can connect too.
        var names = hosts.Concat(["localhost", "127.0.0.1"]).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        cloudHost ??= names[0];
        if (!names.Contains(cloudHost, StringComparer.OrdinalIgnoreCase))
        {
            names.Add(cloudHost);
        }

        return new ProvisionArguments(inventories, outDir, names, cloudHost, layout, clientDir ?? DefaultClientDir, rotate, natsMode, nats);
    }

    private static bool Known(string option) => option is "--inventory" or "--out" or "--host" or "--cloud-host" or "--client-dir" or "--broker-dir" or "--data-dir" or "--port" or "--cert-port" or "--bind"
        or "--broker" or "--nats-dir" or "--nats-port";

    private static string HostName(string option, string value) =>
        IPAddress.TryParse(value, out _) || Regex.IsMatch(value, @"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
            ? value
            : throw new FormatException($"{option}: '{value}' is not a host name or IP address");

    private static string AbsolutePath(string option, string value) =>
        Path.IsPathFullyQualified(value) ? value : throw new FormatException($"{option}: '{value}' is not an absolute path (it is written into config files read elsewhere)");

    private static int Port(string option, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new FormatException($"{option}: '{value}' is not a TCP port (1 to 65535)");
}
