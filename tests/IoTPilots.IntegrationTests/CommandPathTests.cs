using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using IoTPilots.Contract;
using IoTPilots.Devices;
using IoTPilots.FirmwareSim;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Mqtt;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Issue 15's command path on the real broker and the real edge executable, against a simulated RAS tank: the test
/// plays the cloud, signing commands with the gateway's key, and reads the gateway's answers and the tank's coil.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class CommandPathTests(Servers servers) : IAsyncLifetime
{
    private const string Site = "cmd-site";
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-command-").FullName;
    private readonly string _gateway = $"gw-c{Guid.NewGuid():N}"[..12];
    private readonly ConcurrentDictionary<string, CommandResult> _results = new();
    private ModbusTcpServer _plc = null!;
    private ModbusSlave _tank = null!;
    private SignalDefinition _coil = null!;
    private SignalDefinition _manual = null!;
    private ChildProcess _edge = null!;
    private MqttSession _cloud = null!;

    public async Task InitializeAsync()
    {
        _plc = new ModbusTcpServer(IPAddress.Loopback, 0);
        var profile = ProfileCatalog.LoadFile(Path.Combine(InventoryLoader.ShippedProfilesDirectory, "ras-tank-sim.yaml"));
        _coil = profile.Signals.Single(s => s.Name == "backup_aerator_on");
        _manual = profile.Signals.Single(s => s.Name == _coil.Write!.Lock);
        var tank = new SimulatedModbusDevice(profile, _plc.AddUnit(1));
        tank.Set("do_mg_l", 2.9);
        _tank = tank.Slave;
        _plc.Start();
        var inventory = await FaultRig.WriteInventoryAsync(_dir, _gateway, Site, _plc, "1s", Path.Combine(_dir, "queue"));
        _edge = new ChildProcess("edge/IoTPilots.Edge", ["--inventory", inventory], new()
        {
            ["PILOTS_MQTT_URL"] = $"mqtt://{servers.Mqtt.Host}:{servers.Mqtt.Port}",
            ["PILOTS_COMMAND_KEY"] = Convert.ToBase64String(_key),
        });
        _cloud = await TestPublisher.ConnectAsync(servers.Mqtt);
        _cloud.Client.ApplicationMessageReceivedAsync += e =>
        {
            if (CommandCodec.TryDecodeResult(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload), out _) is { } result)
            {
                _results[result.Id] = result;
            }

            return Task.CompletedTask;
        };
        await _cloud.Client.SubscribeAsync(new MQTTnet.MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(Topics.CommandResult(Site, _gateway), MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
    }

    public async Task DisposeAsync()
    {
        _edge.Dispose();
        await _cloud.DisposeAsync();
        await _plc.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private bool CoilOn => _tank.GetBit(Table.Coil, _coil.Address);

    private CommandMessage Command(double value = 1, TimeSpan? lifetime = null) => new(
        Guid.NewGuid().ToString("N"), Site, _gateway, "tank-01", "backup_aerator_on", value, "test.operator", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow + (lifetime ?? TimeSpan.FromMinutes(2)));

    private Task SendAsync(CommandMessage command) => _cloud.PublishAsync(Topics.Command(Site, _gateway), CommandCodec.Encode(command));

    /// <summary>Starts the edge and waits until it is connected, and so subscribed to its command topic.</summary>
    private Task StartEdgeAsync() => _edge.StartConnectedAsync();

    private async Task<CommandResult> ResultAsync(CommandMessage command) =>
        await Eventually.ValueAsync(
            () => Task.FromResult(_results.GetValueOrDefault(command.Id)),
            TimeSpan.FromSeconds(60),
            $"the result of command {command.Id} (edge log: {_edge.Log})");

    [Fact]
    public async Task A_signed_command_starts_the_backup_aerator_and_unsigned_or_replayed_ones_are_refused_without_touching_it()
    {
        await StartEdgeAsync();

        var unsigned = Command();
        await SendAsync(unsigned);
        var refused = await ResultAsync(unsigned);
        Assert.Equal((CommandOutcome.Refused, CommandReasons.Unsigned), (refused.Outcome, refused.Reason));
        Assert.False(CoilOn);

        var signed = CommandSignature.Sign(Command(), _key);
        await SendAsync(signed);
        var done = await ResultAsync(signed);
        Assert.Equal((CommandOutcome.Done, 1.0), (done.Outcome, done.ReadBack));
        Assert.Equal(("test.operator", "tank-01", "backup_aerator_on"), (done.IssuedBy, done.Device, done.Point));
        Assert.True(CoilOn);

        // Someone switches it off at the panel; the same signed message, captured and sent again, must not restart it.
        _tank.SetBit(Table.Coil, _coil.Address, false);
        _results.TryRemove(signed.Id, out _);
        await SendAsync(signed);
        var replayed = await ResultAsync(signed);
        Assert.Equal((CommandOutcome.Refused, CommandReasons.Replayed), (replayed.Outcome, replayed.Reason));
        Assert.False(CoilOn);
    }

    [Fact]
    public async Task The_manual_switch_at_the_tank_wins_over_a_signed_command()
    {
        await StartEdgeAsync();
        _tank.SetBit(_manual.Table, _manual.Address, true);

        // The gate sees the switch once the poller has read it (every second): until then a command may still run.
        CommandResult? last = null;
        await Eventually.TrueAsync(
            async () =>
            {
                var command = CommandSignature.Sign(Command(value: 0), _key);
                await SendAsync(command);
                last = await ResultAsync(command);
                return last.Reason == CommandReasons.Locked;
            },
            TimeSpan.FromSeconds(60),
            "a command refused as locked");
        Assert.Equal(CommandOutcome.Refused, last!.Outcome);
        Assert.Contains("manual_mode", last.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_key_too_short_stops_the_agent_with_exit_code_2_naming_the_variable()
    {
        using var edge = new ChildProcess("edge/IoTPilots.Edge", ["--inventory", Path.Combine(_dir, "edge.yaml")], new() { ["PILOTS_COMMAND_KEY"] = Convert.ToBase64String(new byte[16]) });
        edge.Start();

        Assert.Equal(2, await edge.ExitCodeAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("PILOTS_COMMAND_KEY: the command key has 16 bytes", edge.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_sent_while_the_gateway_is_down_expires_and_never_fires()
    {
        // A first run leaves the gateway's persistent session subscribed, so the broker keeps what comes meanwhile.
        await StartEdgeAsync();
        _edge.Terminate();

        var command = CommandSignature.Sign(Command(lifetime: TimeSpan.FromSeconds(2)), _key);
        await SendAsync(command);
        await Eventually.TrueAsync(() => Task.FromResult(DateTimeOffset.UtcNow > command.ExpiresAt), TimeSpan.FromSeconds(30), "the command to expire");
        await StartEdgeAsync();

        var result = await ResultAsync(command);
        Assert.Equal((CommandOutcome.Refused, CommandReasons.Expired), (result.Outcome, result.Reason));
        Assert.False(CoilOn);
    }
}
