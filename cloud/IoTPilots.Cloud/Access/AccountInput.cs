namespace IoTPilots.Cloud.Access;

/// <summary>Checks on what people type for users and keys; each error names the argument or field it is about.</summary>
public static class AccountInput
{
    public const int MinPasswordLength = 12;
    public const int MaxPasswordLength = 256;
    public const int MaxNameLength = 64;

    /// <summary>
    /// A user or key name: 1 to 64 of a-z, A-Z, 0-9, '.', '_', '-' and '@', starting with a letter or digit. It is what
    /// acknowledgements record and logs show, so no spaces or control characters to forge lines with.
    /// </summary>
    /// <exception cref="FormatException">The message starts with <paramref name="argument"/>.</exception>
    public static string Name(string? text, string argument)
    {
        var name = text?.Trim() ?? "";
        if (name.Length is 0 or > MaxNameLength
            || !char.IsAsciiLetterOrDigit(name[0])
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@'))
        {
            throw new FormatException($"{argument}: '{Cut(name)}' is not a name: 1 to {MaxNameLength} letters, digits, '.', '_', '-' or '@', starting with a letter or digit");
        }

        return name;
    }

    /// <summary>
    /// At least 12 characters (NIST SP 800-63B asks for 8 at least, more when chosen by the user; a farm's phone keyboard
    /// makes length cheaper than symbols), not the user's name, and not one character repeated.
    /// </summary>
    /// <exception cref="FormatException">The message starts with <paramref name="argument"/> and never repeats the password.</exception>
    public static string Password(string? password, string userName, string argument)
    {
        if (string.IsNullOrEmpty(password))
        {
            throw new FormatException($"{argument}: empty");
        }

        if (password.Length < MinPasswordLength)
        {
            throw new FormatException($"{argument}: too short ({password.Length} characters); at least {MinPasswordLength}");
        }

        if (password.Length > MaxPasswordLength)
        {
            throw new FormatException($"{argument}: longer than {MaxPasswordLength} characters");
        }

        if (password.Any(char.IsControl))
        {
            throw new FormatException($"{argument}: contains control characters");
        }

        if (password.Distinct().Count() < 4 || password.Contains(userName, StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"{argument}: too weak (the user's name, or a few characters repeated)");
        }

        return password;
    }

    /// <summary>A password for people to type once and change: 16 characters from an alphabet without look-alikes (no 0/O, 1/l/I).</summary>
    public static string GeneratePassword()
    {
        const string Alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        return System.Security.Cryptography.RandomNumberGenerator.GetString(Alphabet, 16);
    }

    private static string Cut(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
