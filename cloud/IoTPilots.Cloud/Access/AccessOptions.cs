using IoTPilots.Config;

namespace IoTPilots.Cloud.Access;

/// <summary>Settings of logins, sessions and keys, read once at start (root README, variables).</summary>
/// <param name="UsersDbPath">The users and keys file: PILOTS_USERS_DB, else <c>users.db</c> in the alert store's folder.</param>
/// <param name="SessionLifetime">How long a console session lasts without a request (sliding): PILOTS_SESSION_MINUTES, default 8 h (a shift).</param>
public sealed record AccessOptions(string UsersDbPath, TimeSpan SessionLifetime)
{
    public static readonly TimeSpan DefaultSessionLifetime = TimeSpan.FromHours(8);

    /// <summary>Login attempts one user name may take per <see cref="LoginWindow"/>, from anywhere: slows guessing one account's password.</summary>
    public int LoginAttemptsPerUser { get; init; } = 5;

    /// <summary>Login attempts one address may take per <see cref="LoginWindow"/>, for any names: slows trying one password on many accounts.</summary>
    public int LoginAttemptsPerAddress { get; init; } = 20;

    public TimeSpan LoginWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Where the keys that sign session cookies and antiforgery tokens are kept: beside the users file, so sessions survive a restart.</summary>
    public string KeyRingPath => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(UsersDbPath))!, "keys");

    /// <param name="env">The environment.</param>
    /// <param name="alertDbPath">The alert store's file: the users file goes beside it unless PILOTS_USERS_DB says otherwise.</param>
    /// <exception cref="FormatException">A variable is wrong; the message starts with its name.</exception>
    public static AccessOptions FromEnvironment(Func<string, string?> env, string alertDbPath)
    {
        var settings = new SettingsReader(env);
        var db = settings.String("PILOTS_USERS_DB", Path.Combine(Path.GetDirectoryName(alertDbPath) is { Length: > 0 } dir ? dir : ".", "users.db"));
        if (Directory.Exists(db))
        {
            throw SettingsReader.Error("PILOTS_USERS_DB", db, "is a folder; name the users' SQLite file");
        }

        var minutes = settings.Number("PILOTS_SESSION_MINUTES", DefaultSessionLifetime.TotalMinutes, 1, 7 * 24 * 60, "number of minutes");
        return new AccessOptions(db, TimeSpan.FromMinutes(minutes));
    }
}
