using System.Globalization;

namespace IoTPilots.Cloud.Access;

/// <summary>
/// <c>IoTPilots.Cloud users ...</c> (<c>./run users ...</c>): people and machine keys in the users file
/// (<c>--db</c>, else PILOTS_USERS_DB, else <c>users.db</c> beside PILOTS_ALERT_DB). Bad input is exit 2 with a message
/// naming the argument; secrets go to stdout alone (one line, for scripts), everything else to stderr.
/// </summary>
public static class UsersCommand
{
    public const string Usage = """
        usage: users add NAME --role viewer|operator|admin --sites '*'|SITE[,SITE...] [--password-stdin]
               users list
               users disable NAME | users enable NAME
               users reset NAME [--password-stdin]
               users key-add NAME --role viewer|operator|admin --sites '*'|SITE[,SITE...]
               users key-list
               users key-revoke NAME
          common: [--db FILE]   the users file (default: PILOTS_USERS_DB, else users.db beside PILOTS_ALERT_DB)
          without --password-stdin a random password is made and printed once
        """;

    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr, Func<string, string?> env, TimeProvider time)
    {
        Parsed parsed;
        try
        {
            parsed = Parse(args, stdin);
        }
        catch (FormatException ex)
        {
            stderr.WriteLine($"users: {ex.Message}");
            stderr.WriteLine(Usage);
            return 2;
        }

        UserStore store;
        try
        {
            // The cloud's own default, so the command and the service find the same file.
            var path = parsed.Db ?? AccessOptions.FromEnvironment(env, env("PILOTS_ALERT_DB") is { Length: > 0 } alerts ? alerts : Path.Combine("state", "alerts.db")).UsersDbPath;
            store = UserStore.Open(path, time);
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"users: {(parsed.Db is null ? "PILOTS_USERS_DB" : "--db")}: {ex.Message}");
            return 2;
        }

        using (store)
        {
            try
            {
                return Execute(parsed, store, stdout, stderr);
            }
            catch (Exception ex) when (ex is InvalidOperationException or KeyNotFoundException)
            {
                stderr.WriteLine($"users: NAME: {ex.Message}");
                return 2;
            }
        }
    }

    private static int Execute(Parsed p, UserStore store, TextWriter stdout, TextWriter stderr)
    {
        switch (p.Verb)
        {
            case "add":
                store.AddUser(p.Name!, p.Role!.Value, p.Sites!, p.Password ?? p.Generated);
                PrintGenerated(p, stdout);
                stderr.WriteLine($"users: added {p.Name} ({RoleText.Of(p.Role.Value)}, sites {p.Sites}) to {store.FilePath}");
                return 0;
            case "reset":
                store.ResetPassword(p.Name!, p.Password ?? p.Generated);
                PrintGenerated(p, stdout);
                stderr.WriteLine($"users: {p.Name} has a new password (and is enabled); their open sessions have ended");
                return 0;
            case "disable":
                store.Disable(p.Name!);
                stderr.WriteLine($"users: {p.Name} is disabled; their open sessions have ended");
                return 0;
            case "enable":
                store.Enable(p.Name!);
                stderr.WriteLine($"users: {p.Name} is enabled");
                return 0;
            case "list":
                stdout.WriteLine($"{"name",-24} {"role",-9} {"state",-9} {"created",-20} sites");
                foreach (var u in store.Users())
                {
                    stdout.WriteLine($"{u.Name,-24} {RoleText.Of(u.Role),-9} {(u.Disabled ? "disabled" : "enabled"),-9} {Time(u.CreatedAt),-20} {u.Sites}");
                }

                return 0;
            case "key-add":
                stdout.WriteLine(store.AddKey(p.Name!, p.Role!.Value, p.Sites!));
                stderr.WriteLine($"users: key {p.Name} ({RoleText.Of(p.Role.Value)}, sites {p.Sites}) made; it is shown only now: send it as 'Authorization: Bearer KEY'");
                return 0;
            case "key-list":
                stdout.WriteLine($"{"name",-24} {"role",-9} {"key",-9} {"created",-20} {"revoked",-20} sites");
                foreach (var k in store.Keys())
                {
                    stdout.WriteLine($"{k.Name,-24} {RoleText.Of(k.Role),-9} {k.Hint,-9} {Time(k.CreatedAt),-20} {(k.RevokedAt is { } r ? Time(r) : "-"),-20} {k.Sites}");
                }

                return 0;
            case "key-revoke":
                store.RevokeKey(p.Name!);
                stderr.WriteLine($"users: key {p.Name} revoked: requests with it now get 401");
                return 0;
            default:
                throw new InvalidOperationException($"unknown verb {p.Verb}");
        }
    }

    /// <summary>Only once the change is made: a password for a user that was not added is no use to anyone.</summary>
    private static void PrintGenerated(Parsed p, TextWriter stdout)
    {
        if (p.Password is null)
        {
            stdout.WriteLine(p.Generated);
        }
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    internal sealed record Parsed(string Verb, string? Name, Role? Role, SiteScope? Sites, string? Password, string? Db)
    {
        /// <summary>The password to set when none was given on stdin.</summary>
        public string Generated { get; } = AccountInput.GeneratePassword();
    }

    /// <exception cref="FormatException">The message starts with the argument it is about.</exception>
    internal static Parsed Parse(string[] args, TextReader stdin)
    {
        // --db may stand anywhere, also before the command.
        string? db = null;
        var at = Array.IndexOf(args, "--db");
        if (at >= 0)
        {
            db = at + 1 < args.Length && !args[at + 1].StartsWith("--", StringComparison.Ordinal) ? args[at + 1] : throw new FormatException("--db: needs a value");
            args = [.. args[..at], .. args[(at + 2)..]];
        }

        if (args.Length == 0)
        {
            throw new FormatException("COMMAND: missing; one of add, list, disable, enable, reset, key-add, key-list, key-revoke");
        }

        var verb = args[0];
        var (needsName, takesRole, takesPassword) = verb switch
        {
            "add" => (true, true, true),
            "reset" => (true, false, true),
            "disable" or "enable" or "key-revoke" => (true, false, false),
            "key-add" => (true, true, false),
            "list" or "key-list" => (false, false, false),
            _ => throw new FormatException($"COMMAND: '{verb}' is not one of add, list, disable, enable, reset, key-add, key-list, key-revoke"),
        };

        string? name = null, role = null, sites = null;
        var passwordStdin = false;
        for (var i = 1; i < args.Length; i++)
        {
            string Value(string option) => i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)
                ? args[++i]
                : throw new FormatException($"{option}: needs a value");
            switch (args[i])
            {
                case "--role" when takesRole:
                    role = Value("--role");
                    break;
                case "--sites" when takesRole:
                    sites = Value("--sites");
                    break;
                case "--password-stdin" when takesPassword:
                    passwordStdin = true;
                    break;
                case var a when a.StartsWith("--", StringComparison.Ordinal):
                    throw new FormatException($"{a}: not an option of 'users {verb}'");
                case var a when needsName && name is null:
                    name = a;
                    break;
                case var a:
                    throw new FormatException($"'{a}': unexpected argument");
            }
        }

        if (needsName)
        {
            name = AccountInput.Name(name ?? throw new FormatException("NAME: missing"), "NAME");
        }

        Role? parsedRole = null;
        SiteScope? scope = null;
        if (takesRole)
        {
            parsedRole = RoleText.Parse(role ?? throw new FormatException($"--role: missing; give one of {string.Join(", ", RoleText.Names)}"), "--role");
            scope = SiteScope.Parse(sites ?? throw new FormatException("--sites: missing; give '*' for every site or site ids separated by commas"), "--sites");
        }

        var password = passwordStdin ? AccountInput.Password(stdin.ReadLine(), name!, "--password-stdin") : null;
        return new Parsed(verb, name, parsedRole, scope, password, db);
    }
}
