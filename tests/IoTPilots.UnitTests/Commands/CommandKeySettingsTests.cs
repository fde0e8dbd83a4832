using System.Text;
using IoTPilots.Contract;
using IoTPilots.Edge;

namespace IoTPilots.UnitTests.Commands;

/// <summary>The gateway's command key from the environment, and the result fields the command path added to the contract.</summary>
public sealed class CommandKeySettingsTests : IDisposable
{
    private static readonly string Good = Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-key-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Func<string, string?> Env(params (string Name, string Value)[] vars) => name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void A_key_comes_inline_or_from_a_file_and_none_means_none()
    {
        var file = Path.Combine(_dir, "key");
        File.WriteAllText(file, Good + "\n");

        Assert.Equal(32, EdgeSettings.CommandKeyFrom(Env(("PILOTS_COMMAND_KEY", Good)))!.Length);
        Assert.Equal(EdgeSettings.CommandKeyFrom(Env(("PILOTS_COMMAND_KEY", Good))), EdgeSettings.CommandKeyFrom(Env(("PILOTS_COMMAND_KEY_FILE", file))));
        Assert.Null(EdgeSettings.CommandKeyFrom(Env()));
    }

    [Theory]
    [InlineData("PILOTS_COMMAND_KEY", "not base64!", "PILOTS_COMMAND_KEY: the command key is not base64")]
    [InlineData("PILOTS_COMMAND_KEY", "c2hvcnQ=", "PILOTS_COMMAND_KEY: the command key has 5 bytes; at least 32")]
    [InlineData("PILOTS_COMMAND_KEY_FILE", "/nonexistent/key", "PILOTS_COMMAND_KEY_FILE: cannot read '/nonexistent/key'")]
    public void A_bad_key_stops_the_agent_naming_the_variable(string name, string value, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => EdgeSettings.FromEnvironment(Env((name, value))));
        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Both_variables_set_is_an_error()
    {
        var ex = Assert.Throws<FormatException>(() => EdgeSettings.CommandKeyFrom(Env(("PILOTS_COMMAND_KEY", Good), ("PILOTS_COMMAND_KEY_FILE", "/k"))));
        Assert.Contains("both set", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_result_carries_who_what_and_which_value_and_a_broken_command_still_yields_its_id()
    {
        var result = new CommandResult("max-run-t-p-1", "ras-1", "gw-aqua-01", CommandOutcome.Done, CommandReasons.MaxRun, "switched off", 0, DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_001_000))
        {
            IssuedBy = "gateway:max_run",
            Device = "tank-03",
            Point = "backup_aerator_on",
            Value = 0,
        };

        Assert.Equal(result, CommandCodec.TryDecodeResult(CommandCodec.Encode(result), out _));
        Assert.Equal("c-9", CommandCodec.TryReadId(Encoding.UTF8.GetBytes("""{"id":"c-9","value":"x"}""")));
        Assert.Null(CommandCodec.TryReadId(Encoding.UTF8.GetBytes("""["c-9"]""")));
        Assert.Null(CommandCodec.TryReadId(Encoding.UTF8.GetBytes("{")));
    }
}
