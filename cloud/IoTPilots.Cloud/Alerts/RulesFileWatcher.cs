using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using IoTPilots.Config;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Alerts;

/// <summary>
/// Watches the rules (a file, or a folder's <c>*.yaml</c>, as <see cref="RuleSet.Load"/> reads them) and hands each
/// valid new version to the engine (rules README, "Live reload"). A FileSystemWatcher notices a save at once; a poll of
/// the files' content hash every <see cref="RulesOptions.ReloadPoll"/> is the backstop for what it misses (network and
/// container mounts, an exhausted inotify budget, a file replaced by a rename). Changes are debounced: an editor's
/// save is several events, and a folder may be copied file by file, so the rules are read once things have been
/// quiet for <see cref="Debounce"/>. Only content that differs from the last version read is loaded; a version
/// refused is logged once, with file, line and field, and the rules in force stay until the files change again.
/// </summary>
public sealed class RulesFileWatcher(string path, TimeSpan poll, TimeProvider time, ILogger logger)
{
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(500);

    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <param name="apply">Puts a valid new version in force. The first look (after one poll) hands over what is there,
    /// which is, unless it changed meanwhile, what was loaded at start: the engine finds nothing changed.</param>
    public async Task RunAsync(Func<RuleBook, CancellationToken, Task> apply, CancellationToken cancellationToken)
    {
        using var watcher = Watch();
        string? seen = null;
        try
        {
            while (true)
            {
                if (await ChangedWithinAsync(poll, cancellationToken).ConfigureAwait(false))
                {
                    while (await ChangedWithinAsync(Debounce, cancellationToken).ConfigureAwait(false))
                    {
                    }
                }

                var hash = Hash(path);
                if (hash is null || hash == seen)
                {
                    // Unreadable for now (a file between an editor's delete and rename): the next look tells.
                    continue;
                }

                seen = hash;
                // As at start-up (RulesOptions): a folder emptied, even for a moment, is not "no rules".
                if (Directory.Exists(path) && Directory.GetFiles(path, "*.yaml").Length == 0)
                {
                    logger.LogError("Rules reload refused, the rules in force stay: {Path} is a folder without *.yaml rule files", path);
                    continue;
                }

                RuleBook book;
                try
                {
                    book = RuleSet.Load(path);
                }
                catch (ConfigException ex)
                {
                    logger.LogError("Rules reload refused, the rules in force stay: {Error}", ex.Message);
                    continue;
                }

                await apply(book, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// A hash of the rules' names and contents as <see cref="RuleSet.Load"/> would read them, or null when they cannot be
    /// read right now (a missing file is content too: it is hashed as such, so that it is refused, not ignored).
    /// </summary>
    public static string? Hash(string path)
    {
        try
        {
            var files = Directory.Exists(path) ? Directory.GetFiles(path, "*.yaml").Order(StringComparer.Ordinal).ToArray() : [path];
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var file in files)
            {
                sha.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"));
                sha.AppendData(File.Exists(file) ? File.ReadAllBytes(file) : "(missing)"u8);
                sha.AppendData("\n\0"u8);
            }

            return Convert.ToHexString(sha.GetHashAndReset());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private FileSystemWatcher? Watch()
    {
        var folder = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        try
        {
            var watcher = new FileSystemWatcher(folder, Directory.Exists(path) ? "*.yaml" : Path.GetFileName(path))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            FileSystemEventHandler changed = (_, _) => _changed.Writer.TryWrite(true);
            watcher.Changed += changed;
            watcher.Created += changed;
            watcher.Deleted += changed;
            watcher.Renamed += (_, _) => _changed.Writer.TryWrite(true);
            watcher.Error += (_, e) => logger.LogWarning("Watching the rules in {Path} failed ({Error}); they are still polled every {Poll}", path, e.GetException().Message, poll);
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            logger.LogWarning("Cannot watch the rules in {Path} ({Error}); they are polled every {Poll} instead", path, ex.Message, poll);
            return null;
        }
    }

    /// <summary>True when a change was signalled within <paramref name="timeout"/> (and takes the signal).</summary>
    private async Task<bool> ChangedWithinAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var read = _changed.Reader.WaitToReadAsync(either.Token).AsTask();
        var delay = Task.Delay(timeout, time, either.Token);
        var first = await Task.WhenAny(read, delay).ConfigureAwait(false);
        await either.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return first == read && read.IsCompletedSuccessfully && _changed.Reader.TryRead(out _);
    }
}
