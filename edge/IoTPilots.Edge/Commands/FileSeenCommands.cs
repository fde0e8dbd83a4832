using System.Globalization;

namespace IoTPilots.Edge.Commands;

/// <summary>
/// The replay memory, kept in a file as well, so a command captured off the broker cannot be played again to a gateway
/// that restarted within the command's lifetime. One line per id (<c>escaped-id expiry-unix-ms</c>), appended and
/// flushed before the command runs; the file is rewritten without the expired ids at start.
/// </summary>
public sealed class FileSeenCommands : ISeenCommands
{
    private readonly SeenCommands _memory = new();
    private readonly string _file;

    public FileSeenCommands(string file, DateTimeOffset now)
    {
        _file = file;
        var kept = new List<string>();
        if (File.Exists(file))
        {
            foreach (var line in File.ReadLines(file))
            {
                // A torn last line (power cut mid-append) or a foreign one is skipped: it can only name a command that never ran.
                if (line.Split(' ') is [var id, var ms] && long.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out var expiry)
                    && DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(expiry, DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())) is var until && until > now
                    && _memory.TryRemember(Uri.UnescapeDataString(id), until, now))
                {
                    kept.Add(line);
                }
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var staging = file + ".tmp";
        File.WriteAllLines(staging, kept);
        File.Move(staging, file, overwrite: true);
    }

    public int Count => _memory.Count;

    public bool TryRemember(string id, DateTimeOffset expiresAt, DateTimeOffset now)
    {
        if (!_memory.TryRemember(id, expiresAt, now))
        {
            return false;
        }

        using var stream = new FileStream(_file, FileMode.Append, FileAccess.Write, FileShare.Read);
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"{Uri.EscapeDataString(id)} {expiresAt.ToUnixTimeMilliseconds()}\n"));
        }

        return true;
    }
}
