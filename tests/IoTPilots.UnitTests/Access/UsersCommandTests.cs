using IoTPilots.Cloud.Access;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Access;

/// <summary><c>./run users</c>: the users file through the command line; bad input is exit 2 naming the argument.</summary>
public sealed class UsersCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-users-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Db => Path.Combine(_dir, "users.db");

    private (int Code, string Out, string Err) Run(string stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = UsersCommand.Run([.. args, "--db", Db], new StringReader(stdin), stdout, stderr, _ => null, _time);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Add_list_reset_disable_and_enable_a_user_whose_password_is_stored_only_as_a_pbkdf2_hash()
    {
        var (code, generated, err) = Run("", "add", "nguyen.van.a", "--role", "operator", "--sites", "haiphong-ras-1,cat-hai-ras-1");
        Assert.Equal(0, code);
        Assert.Contains("added nguyen.van.a (operator, sites cat-hai-ras-1,haiphong-ras-1)", err, StringComparison.Ordinal);
        var password = generated.Trim();
        Assert.Equal(16, password.Length);

        Assert.Equal(0, Run("a long passphrase for tran\n", "add", "tran.thi.b", "--role", "viewer", "--sites", "*", "--password-stdin").Code);
        var (_, list, _) = Run("", "list");
        Assert.Matches(@"nguyen\.van\.a\s+operator\s+enabled\s+2026-12-01T08:00:00Z\s+cat-hai-ras-1,haiphong-ras-1", list);
        Assert.Matches(@"tran\.thi\.b\s+viewer\s+enabled", list);

        // Never in clear: the file holds neither password, and the hash is ASP.NET Core Identity's v3 format (PBKDF2).
        var file = File.ReadAllBytes(Db).Concat(File.Exists(Db + "-wal") ? File.ReadAllBytes(Db + "-wal") : []).ToArray();
        Assert.DoesNotContain(password, System.Text.Encoding.UTF8.GetString(file), StringComparison.Ordinal);
        Assert.DoesNotContain("a long passphrase", System.Text.Encoding.UTF8.GetString(file), StringComparison.Ordinal);
        using (var store = UserStore.Open(Db, _time))
        {
            Assert.NotNull(store.CheckPassword("nguyen.van.a", password));
            Assert.NotNull(store.CheckPassword("NGUYEN.VAN.A", password));
            Assert.Null(store.CheckPassword("nguyen.van.a", password + "x"));
            Assert.Null(store.CheckPassword("nobody", password));
        }

        var stamp = UserStamp("nguyen.van.a");
        Assert.Equal(0, Run("", "disable", "nguyen.van.a").Code);
        Assert.Matches(@"nguyen\.van\.a\s+operator\s+disabled", Run("", "list").Out);
        Assert.NotEqual(stamp, UserStamp("nguyen.van.a"));
        using (var store = UserStore.Open(Db, _time))
        {
            Assert.Null(store.CheckPassword("nguyen.van.a", password));
        }

        var (resetCode, fresh, _) = Run("", "reset", "nguyen.van.a");
        Assert.Equal(0, resetCode);
        using (var store = UserStore.Open(Db, _time))
        {
            Assert.Null(store.CheckPassword("nguyen.van.a", password));
            Assert.NotNull(store.CheckPassword("nguyen.van.a", fresh.Trim()));
        }

        Assert.Equal(0, Run("", "disable", "tran.thi.b").Code);
        Assert.Equal(0, Run("", "enable", "tran.thi.b").Code);
        Assert.Matches(@"tran\.thi\.b\s+viewer\s+enabled", Run("", "list").Out);
    }

    [Fact]
    public void Add_list_and_revoke_a_key_shown_once_and_stored_as_its_hash()
    {
        var (code, output, err) = Run("", "key-add", "scada", "--role", "viewer", "--sites", "*");
        Assert.Equal(0, code);
        var key = output.Trim();
        Assert.True(ApiKeys.IsWellFormed(key));
        Assert.Contains("shown only now", err, StringComparison.Ordinal);

        using (var store = UserStore.Open(Db, _time))
        {
            Assert.Equal("scada", store.FindKey(key)!.Name);
        }

        var list = Run("", "key-list").Out;
        Assert.Matches(@"scada\s+viewer\s+pk_\S{4}…\s+2026-12-01T08:00:00Z\s+-\s+\*", list);
        Assert.DoesNotContain(key, list, StringComparison.Ordinal);

        Assert.Equal(0, Run("", "key-revoke", "scada").Code);
        using (var store = UserStore.Open(Db, _time))
        {
            Assert.Null(store.FindKey(key));
        }

        Assert.Equal(2, Run("", "key-revoke", "scada").Code);
    }

    [Theory]
    [InlineData("", new string[0], "COMMAND: missing")]
    [InlineData("", new[] { "remove", "x" }, "COMMAND: 'remove' is not one of")]
    [InlineData("", new[] { "add" }, "NAME: missing")]
    [InlineData("", new[] { "add", "x y", "--role", "viewer", "--sites", "*" }, "NAME: 'x y' is not a name")]
    [InlineData("", new[] { "add", "ann", "--sites", "*" }, "--role: missing")]
    [InlineData("", new[] { "add", "ann", "--role", "boss", "--sites", "*" }, "--role: 'boss' is not a role")]
    [InlineData("", new[] { "add", "ann", "--role", "viewer" }, "--sites: missing")]
    [InlineData("", new[] { "add", "ann", "--role", "viewer", "--sites", "Farm A" }, "--sites: 'Farm A' is not a site id")]
    [InlineData("", new[] { "add", "ann", "--role", "viewer", "--sites", "*,x" }, "--sites: '*' means every site")]
    [InlineData("", new[] { "add", "ann", "--role" }, "--role: needs a value")]
    [InlineData("", new[] { "add", "ann", "--role", "viewer", "--sites", "*", "--password-stdin" }, "--password-stdin: empty")]
    [InlineData("short\n", new[] { "add", "ann", "--role", "viewer", "--sites", "*", "--password-stdin" }, "--password-stdin: too short (5 characters); at least 12")]
    [InlineData("aaaaaaaaaaaaaaaa\n", new[] { "add", "ann", "--role", "viewer", "--sites", "*", "--password-stdin" }, "--password-stdin: too weak")]
    [InlineData("ann-ann-ann-2026\n", new[] { "add", "ann", "--role", "viewer", "--sites", "*", "--password-stdin" }, "--password-stdin: too weak")]
    [InlineData("", new[] { "list", "extra" }, "'extra': unexpected argument")]
    [InlineData("", new[] { "disable", "ann", "--role", "viewer" }, "--role: not an option of 'users disable'")]
    [InlineData("", new[] { "disable", "nobody" }, "NAME: no user 'nobody'")]
    [InlineData("", new[] { "reset", "nobody" }, "NAME: no user 'nobody'")]
    [InlineData("", new[] { "key-revoke", "nothing" }, "NAME: no key 'nothing'")]
    public void Bad_input_is_exit_2_with_a_message_naming_the_argument(string stdin, string[] args, string error)
    {
        var (code, output, err) = Run(stdin, args);

        Assert.Equal(2, code);
        Assert.StartsWith($"users: {error}", err, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public void A_duplicate_user_or_key_is_exit_2_naming_it_and_changes_nothing()
    {
        var (_, password, _) = Run("", "add", "ann", "--role", "viewer", "--sites", "*");
        var (code, _, err) = Run("", "add", "ANN", "--role", "admin", "--sites", "*");
        Assert.Equal(2, code);
        Assert.StartsWith("users: NAME: user 'ANN' exists already", err, StringComparison.Ordinal);
        Assert.Matches(@"ann\s+viewer", Run("", "list").Out);
        using (var store = UserStore.Open(Db, _time))
        {
            Assert.NotNull(store.CheckPassword("ann", password.Trim()));
        }

        Assert.Equal(0, Run("", "key-add", "scada", "--role", "viewer", "--sites", "*").Code);
        Assert.StartsWith("users: NAME: key 'scada' exists already", Run("", "key-add", "scada", "--role", "admin", "--sites", "*").Err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_users_file_that_is_not_a_database_is_exit_2_naming_it()
    {
        File.WriteAllText(Db, "not a database, a note someone left here by mistake, long enough to be read as a header");
        var (code, _, err) = Run("", "list");
        Assert.Equal(2, code);
        Assert.Contains($"--db: {Db} is not a users database", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_db_the_file_is_beside_the_alert_store_or_where_pilots_users_db_says()
    {
        var alerts = Path.Combine(_dir, "state", "alerts.db");
        Assert.Equal(Path.Combine(_dir, "state", "users.db"), AccessOptions.FromEnvironment(_ => null, alerts).UsersDbPath);
        Assert.Equal("/srv/pilots/users.db", AccessOptions.FromEnvironment(n => n == "PILOTS_USERS_DB" ? "/srv/pilots/users.db" : null, alerts).UsersDbPath);
        Assert.Equal(TimeSpan.FromMinutes(30), AccessOptions.FromEnvironment(n => n == "PILOTS_SESSION_MINUTES" ? "30" : null, alerts).SessionLifetime);
        Assert.Equal(TimeSpan.FromHours(8), AccessOptions.FromEnvironment(_ => null, alerts).SessionLifetime);
        var ex = Assert.Throws<FormatException>(() => AccessOptions.FromEnvironment(n => n == "PILOTS_SESSION_MINUTES" ? "forever" : null, alerts));
        Assert.StartsWith("PILOTS_SESSION_MINUTES: 'forever' is not a number of minutes from 1 to 10080", ex.Message, StringComparison.Ordinal);
    }

    private string UserStamp(string name)
    {
        using var store = UserStore.Open(Db, _time);
        return store.FindUser(name)!.Stamp;
    }
}
