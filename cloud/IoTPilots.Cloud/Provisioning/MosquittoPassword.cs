using System.Security.Cryptography;
using System.Text;

namespace IoTPilots.Cloud.Provisioning;

/// <summary>
/// One line of a Mosquitto 2.0 password file, as <c>mosquitto_passwd</c> writes it:
/// <c>user:$7$iterations$salt$hash</c>, where 7 is PBKDF2-HMAC-SHA512 (<c>pw_sha512_pbkdf2 = 7</c>, src/password_mosq.h),
/// the salt is 12 random bytes (<c>SALT_LEN</c>, apps/mosquitto_passwd/mosquitto_passwd.c) and the hash is 64
/// bytes (<c>EVP_MAX_MD_SIZE</c>, <c>pw__digest</c> in src/security_default.c), both in standard base64.
/// Mosquitto 2.0.11's default is 101 iterations (<c>PW_DEFAULT_ITERATIONS</c>); the passwords made here are 192
/// random bits, which no iteration count makes easier or harder to guess, so the broker's default stands and each
/// CONNECT costs it no more than usual.
/// </summary>
public static class MosquittoPassword
{
    public const int Iterations = 101;
    public const int SaltBytes = 12;
    private const int HashBytes = 64;

    public static string Line(string user, string password, ReadOnlySpan<byte> salt, int iterations = Iterations) =>
        $"{user}:$7${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(Hash(password, salt, iterations))}";

    public static string Line(string user, string password) => Line(user, password, RandomNumberGenerator.GetBytes(SaltBytes));

    /// <summary>Whether a password-file line is <paramref name="user"/>'s with this password (so a re-run can keep it as it is).</summary>
    public static bool Verifies(string line, string user, string password)
    {
        var parts = line.Split('$');
        if (parts.Length != 5 || parts[0] != user + ":" || parts[1] != "7" || !int.TryParse(parts[2], out var iterations) || iterations < 1)
        {
            return false;
        }

        try
        {
            var expected = Convert.FromBase64String(parts[4]);
            return CryptographicOperations.FixedTimeEquals(expected, Hash(password, Convert.FromBase64String(parts[3]), iterations));
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A new random password: 24 bytes in base64url, so it sits in a URL's user info without escaping.</summary>
    public static string NewPassword() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');

    private static byte[] Hash(string password, ReadOnlySpan<byte> salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);
}
