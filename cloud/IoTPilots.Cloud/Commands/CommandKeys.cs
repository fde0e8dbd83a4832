using System.Security.Cryptography;
using IoTPilots.Contract;

namespace IoTPilots.Cloud.Commands;

/// <summary>
/// The per-gateway keys the cloud signs commands with (<see cref="CommandSignature"/>), read from the file named by
/// <c>PILOTS_COMMAND_KEYS</c>: one gateway per line, <c>GATEWAY BASE64-KEY</c>, at least 32 bytes of key (the
/// HMAC-SHA256 block of security, RFC 2104 §3), <c>#</c> starting a comment. <c>./run provision</c> writes it, and
/// each gateway's own key into that gateway's env file. One key per gateway: a gateway's key signs nothing another
/// gateway will take.
/// </summary>
public sealed class CommandKeys
{
    public const int MinKeyBytes = 32;

    private readonly Dictionary<string, byte[]> _keys;

    private CommandKeys(Dictionary<string, byte[]> keys) => _keys = keys;

    public int Count => _keys.Count;

    public byte[]? For(string gateway) => _keys.GetValueOrDefault(gateway);

    /// <summary>A fresh random key, as <c>./run provision</c> makes them.</summary>
    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(MinKeyBytes));

    /// <summary>Reads the file; a bad line throws <see cref="FormatException"/> naming the file and the line.</summary>
    public static CommandKeys Load(string file)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{file}: cannot read the command keys: {ex.Message}", ex);
        }

        return Parse(lines, file);
    }

    public static CommandKeys Parse(IReadOnlyList<string> lines, string file)
    {
        var keys = new Dictionary<string, byte[]>();
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var where = $"{file}:{i + 1}";
            if (line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is not [var gateway, var text])
            {
                throw new FormatException($"{where}: expected 'GATEWAY BASE64-KEY'");
            }

            if (!Identifiers.IsValid(gateway))
            {
                throw new FormatException($"{where}: '{gateway}' is not a gateway id: {Identifiers.Rule}");
            }

            var key = new byte[text.Length];
            if (!Convert.TryFromBase64String(text, key, out var length) || length < MinKeyBytes)
            {
                throw new FormatException($"{where}: the key of {gateway} is not base64 of at least {MinKeyBytes} bytes");
            }

            if (!keys.TryAdd(gateway, key[..length]))
            {
                throw new FormatException($"{where}: {gateway} has a key already");
            }
        }

        return new CommandKeys(keys);
    }
}
