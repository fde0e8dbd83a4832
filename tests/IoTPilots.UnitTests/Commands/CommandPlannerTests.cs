using System.Text;
using IoTPilots.Cloud.Commands;
using IoTPilots.Contract;
using IoTPilots.Devices;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Commands;

/// <summary>The cloud side of commands: the keys file, the early checks and signing, the API's body.</summary>
public sealed class CommandPlannerTests : IDisposable
{
    private static readonly string KeyText = Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)(i * 3)).ToArray());
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 2, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-planner-").FullName;
    private readonly CommandPlanner _planner;

    public CommandPlannerTests()
    {
        var keys = CommandKeys.Parse(["# gateway key", $"gw-aqua-01 {KeyText}"], "command-keys");
        _planner = new CommandPlanner([RelayInventory.Load(_dir)], keys, _time);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_valid_request_becomes_a_command_signed_with_that_gateways_key_for_its_site()
    {
        var (command, error, _) = _planner.Plan(new CommandRequest("gw-aqua-01", "tank-03-relay", "backup_aerator_on", 1, TimeSpan.FromMinutes(2)), "nguyen.van.a");

        Assert.Null(error);
        Assert.Equal("ras-1", command!.Site);
        Assert.Equal(_time.GetUtcNow().AddMinutes(2), command.ExpiresAt);
        Assert.Equal("nguyen.van.a", command.IssuedBy);
        Assert.True(CommandSignature.Verify(command, Convert.FromBase64String(KeyText)));
    }

    [Theory]
    [InlineData("gw-aqua-09", "tank-03-relay", "backup_aerator_on", 1, 2, true, "gateway: gw-aqua-09 is not in the device registry")]
    [InlineData("gw-aqua-01", "tank-09", "backup_aerator_on", 1, 2, true, "device: tank-09 is not in gw-aqua-01's inventory")]
    [InlineData("gw-aqua-01", "tank-03-relay", "feed_on", 1, 2, true, "point: tank-03-relay has no point feed_on")]
    [InlineData("gw-aqua-01", "tank-03-relay", "water_temp_c", 1, 2, false, "point: tank-03-relay.water_temp_c is not declared writable")]
    [InlineData("gw-aqua-01", "tank-03-relay", "backup_aerator_on", 2, 2, false, "value: 2 is outside 0..1 for tank-03-relay.backup_aerator_on")]
    [InlineData("gw-aqua-01", "tank-03-relay", "backup_aerator_on", 1, 60, false, "minutes: a command is valid for 1 to 10 minutes")]
    public void A_request_the_gateway_would_refuse_is_refused_at_once(string gateway, string device, string point, double value, double minutes, bool notFound, string expected)
    {
        var (command, error, isNotFound) = _planner.Plan(new CommandRequest(gateway, device, point, value, TimeSpan.FromMinutes(minutes)), "u");

        Assert.Null(command);
        Assert.Equal(expected, error);
        Assert.Equal(notFound, isNotFound);
    }

    [Theory]
    [InlineData("gw-1", "command-keys:1: expected 'GATEWAY BASE64-KEY'")]
    [InlineData("GW 1 abc", "command-keys:1: expected 'GATEWAY BASE64-KEY'")]
    [InlineData("GW1 AAAA", "command-keys:1: 'GW1' is not a gateway id")]
    [InlineData("gw-1 AAAA", "command-keys:1: the key of gw-1 is not base64 of at least 32 bytes")]
    public void A_bad_keys_line_names_the_file_and_line(string line, string expected) =>
        Assert.StartsWith(expected, Assert.Throws<FormatException>(() => CommandKeys.Parse([line], "command-keys")).Message, StringComparison.Ordinal);

    [Fact]
    public void Keys_without_a_registry_leave_commands_off_with_a_warning_and_a_missing_keys_file_is_an_error()
    {
        var keys = Path.Combine(_dir, "command-keys");
        File.WriteAllText(keys, $"gw-aqua-01 {KeyText}\n");
        using var warnings = new StringWriter();

        Assert.Null(CommandsOptions.FromEnvironment(n => n == "PILOTS_COMMAND_KEYS" ? keys : null, Path.Combine(_dir, "alerts.db"), IoTPilots.Cloud.Ingestion.DeviceRegistry.Open, warnings));
        Assert.Contains("commands stay off", warnings.ToString(), StringComparison.Ordinal);

        var missing = Assert.Throws<FormatException>(() => CommandsOptions.FromEnvironment(n => n == "PILOTS_COMMAND_KEYS" ? Path.Combine(_dir, "nope") : null, "alerts.db", IoTPilots.Cloud.Ingestion.DeviceRegistry.Open));
        Assert.StartsWith("PILOTS_COMMAND_KEYS:", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gateway_given_two_keys_is_refused() =>
        Assert.Equal("k:2: gw-1 has a key already", Assert.Throws<FormatException>(() => CommandKeys.Parse([$"gw-1 {KeyText}", $"gw-1 {KeyText}"], "k")).Message);

    [Theory]
    [InlineData("", "body: not JSON")]
    [InlineData("[]", "body: expected a JSON object")]
    [InlineData("""{"gateway":"gw","device":"d"}""", "gateway, device, point: each a non-empty text")]
    [InlineData("""{"gateway":"gw","device":"d","point":"p","value":"on"}""", "value: a number is required")]
    [InlineData("""{"gateway":"gw","device":"d","point":"p","value":1,"minutes":"2"}""", "minutes: a number from 1 to 10")]
    public void A_bad_api_body_names_the_field(string body, string expected)
    {
        Assert.StartsWith(expected, CommandApi.Parse(Encoding.UTF8.GetBytes(body), out _), StringComparison.Ordinal);
    }
}
