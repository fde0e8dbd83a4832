namespace IoTPilots.Cloud.Provisioning;

/// <summary>
/// A password as nats-server stores it: a bcrypt hash, which it recognises by its prefix (<c>$2a$</c>, <c>$2b$</c>...,
/// server/auth.go, <c>isBcrypt</c>) and checks with Go's bcrypt on every CONNECT. nats-server 2.9 has no tool to make one
/// (that is the separate <c>nats</c> CLI), so provisioning makes it with BCrypt.Net.
/// Work factor 6, not the usual 10-12: the passwords made here are 192 random bits, which no work factor makes easier or
/// harder to guess, and the server pays the factor on every login, so after a node dies every gateway that reconnects
/// to the others costs 16 to 64 times less CPU than at the usual 10 to 12 (bcrypt's cost doubles per step).
/// The hash keeps the passwords themselves out of the servers' files, which is what it is for here.
/// </summary>
public static class NatsPassword
{
    public const int WorkFactor = 6;

    public static string Hash(string password) => BCrypt.Net.BCrypt.HashPassword(password, WorkFactor);

    /// <summary>Whether <paramref name="hash"/> is this password's (so a re-run keeps the users file as it is).</summary>
    public static bool Verifies(string hash, string password)
    {
        try
        {
            return BCrypt.Net.BCrypt.Verify(password, hash);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            return false;
        }
    }
}
