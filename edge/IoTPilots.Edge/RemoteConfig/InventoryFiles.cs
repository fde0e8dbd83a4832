using System.Text.Json;
using System.Text.Json.Serialization;
using IoTPilots.Config;
using IoTPilots.Contract;
using IoTPilots.Devices;

namespace IoTPilots.Edge.RemoteConfig;

/// <summary>
/// The pushed inventories on disk, in <c>{state dir}/{gateway}/inventory/</c> (the installed file's folder, e.g.
/// <c>/etc/iotpilots</c>, is read-only to the agent): <c>current.yaml</c> (the one to run), <c>previous.yaml</c> (the
/// way back), <c>state.json</c> (<see cref="InventoryState"/>). Every file is replaced whole (written beside, flushed
/// to disk, renamed over), so a power cut leaves the old file or the new one, never half of one. Applying writes
/// previous, then the probation state, then current: a restart at any point finds a state that says probation, and
/// <see cref="Open"/> rolls back (see the edge README, "Remote configuration").
/// </summary>
public sealed class InventoryFiles
{
    private InventoryFiles(string installed, string directory, Inventory inventory, InventoryState state)
    {
        InstalledFile = installed;
        Directory = directory;
        Inventory = inventory;
        State = state;
    }

    public string InstalledFile { get; }

    public string Directory { get; }

    /// <summary>The inventory to run at start: the pushed one when there is one, else the installed file.</summary>
    public Inventory Inventory { get; }

    /// <summary>The state as <see cref="Open"/> left it (after a rollback at start, not yet reported).</summary>
    public InventoryState State { get; private set; }

    public string CurrentFile => Path.Combine(Directory, "current.yaml");

    public string PreviousFile => Path.Combine(Directory, "previous.yaml");

    public string StagingFile => Path.Combine(Directory, "pushed.yaml");

    private string StateFile => Path.Combine(Directory, "state.json");

    /// <summary>Where a pushed inventory's relative paths (profiles, queue) point: beside the installed file, as if it were there.</summary>
    public string BaseDirectory => Path.GetDirectoryName(Path.GetFullPath(InstalledFile))!;

    /// <summary>
    /// Finds the inventory to start with. The gateway restarted during a probation (a reboot, a crash, a power cut):
    /// the new inventory never proved itself, and may be what crashed it, so the previous one runs again and the
    /// rollback is reported once the gateway is connected. A pushed inventory that no longer loads (a profile removed
    /// since) gives way to the installed file, as does an installed file changed by hand since the last push.
    /// </summary>
    /// <exception cref="ConfigException">The installed file itself is invalid (the message names file, line, field).</exception>
    public static InventoryFiles Open(string installedFile, string stateDir, DateTimeOffset now, TextWriter log)
    {
        var installed = InventoryLoader.Load(installedFile);
        var dir = Path.Combine(stateDir, installed.Gateway, "inventory");
        System.IO.Directory.CreateDirectory(dir);
        var baseHash = InventoryPush.HashOf(File.ReadAllText(installedFile));
        var saved = ReadState(Path.Combine(dir, "state.json"));
        var files = new InventoryFiles(installedFile, dir, installed, InventoryState.Installed(baseHash, saved?.Highest ?? 0));
        if (saved is null || saved.BaseSha256 != baseHash || !File.Exists(files.CurrentFile))
        {
            if (saved is not null && saved.BaseSha256 != baseHash)
            {
                log.WriteLine($"edge: {installedFile} changed since the last push: it runs (version 0), the pushed inventory is set aside");
            }

            files.Save(files.State);
            return files;
        }

        var state = saved;
        if (state.OnProbation)
        {
            File.Copy(files.PreviousFile, files.CurrentFile + ".tmp", overwrite: true);
            File.Move(files.CurrentFile + ".tmp", files.CurrentFile, overwrite: true);
            state = InventoryRules.RolledBack(state, InventoryReasons.RestartedInProbation, $"the gateway restarted at {now:O} during the probation of version {state.Version}; back to version {state.PreviousVersion}");
            files.Save(state);
            log.WriteLine($"edge: {state.Detail}");
        }

        try
        {
            return new InventoryFiles(installedFile, dir, InventoryLoader.LoadRelativeTo(files.CurrentFile, files.BaseDirectory), state);
        }
        catch (ConfigException ex)
        {
            log.WriteLine($"edge: the pushed inventory no longer loads ({ex.Message}); {installedFile} runs (version 0)");
            files.Save(files.State);
            return files;
        }
    }

    /// <summary>Writes a pushed text where it is validated; the loader's errors then name this file.</summary>
    public void Stage(string content) => WriteWhole(StagingFile, content);

    /// <summary>Applies a validated push: the running text becomes the way back, then the probation state, then the new text runs.</summary>
    public void Apply(string content, InventoryState probation)
    {
        WriteWhole(PreviousFile, File.ReadAllText(File.Exists(CurrentFile) ? CurrentFile : InstalledFile));
        Save(probation);
        WriteWhole(CurrentFile, content);
    }

    /// <summary>Puts the previous text back as current and saves <paramref name="state"/>; returns the inventory it loads to.</summary>
    public Inventory RollBack(InventoryState state)
    {
        WriteWhole(CurrentFile, File.ReadAllText(PreviousFile));
        Save(state);
        return InventoryLoader.LoadRelativeTo(CurrentFile, BaseDirectory);
    }

    public void Save(InventoryState state)
    {
        WriteWhole(StateFile, JsonSerializer.Serialize(state, InventoryStateJson.Default.InventoryState));
        State = state;
    }

    private static InventoryState? ReadState(string file)
    {
        try
        {
            return File.Exists(file) ? JsonSerializer.Deserialize(File.ReadAllText(file), InventoryStateJson.Default.InventoryState) : null;
        }
        catch (JsonException)
        {
            // Only a foreign hand could make it unreadable (it is replaced whole); start from the installed file.
            return null;
        }
    }

    private static void WriteWhole(string file, string text)
    {
        var staging = file + ".tmp";
        using (var stream = new FileStream(staging, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(staging, file, overwrite: true);
    }
}

/// <summary><c>state.json</c>'s JSON, generated at build time so the native (trimmed) build needs no reflection (edge README, "Native build").</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(InventoryState))]
internal sealed partial class InventoryStateJson : JsonSerializerContext;
