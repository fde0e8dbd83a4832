using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace IoTPilots.IntegrationTests.Harness;

/// <summary>
/// One of the platform's own executables (edge, cloud) run as a real process, so a test can kill it with
/// SIGKILL mid-stream or stop it gracefully with SIGTERM, as systemd would.
/// </summary>
public sealed partial class ChildProcess : IDisposable
{
    private readonly string _program;
    private readonly string[] _args;
    private readonly Dictionary<string, string> _env;
    private Process? _process;

    /// <summary>A project of this repository, by its folder (e.g. "edge/IoTPilots.Edge").</summary>
    public ChildProcess(string project, IEnumerable<string> args, Dictionary<string, string> env)
        : this(env, "dotnet", [DllOf(project), .. args])
    {
    }

    private ChildProcess(Dictionary<string, string> env, string program, string[] args)
    {
        _program = program;
        _args = args;
        _env = env;
    }

    /// <summary>A program that is not ours, such as a reference implementation to test against.</summary>
    public static ChildProcess Program(string program, params string[] args) => new([], program, args);

    /// <summary>A program given by its path (a native build of ours), with its environment.</summary>
    public static ChildProcess Native(string program, Dictionary<string, string> env, params string[] args) => new(env, program, args);

    public ConcurrentQueue<string> Output { get; } = new();

    public bool Running => _process is { HasExited: false };

    public void Start()
    {
        var info = new ProcessStartInfo(_program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in _args)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (k, v) in _env)
        {
            info.Environment[k] = v;
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {_program}");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { Output.Enqueue(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Output.Enqueue(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Waits for the process to end by itself and returns its exit code; kills it after <paramref name="timeout"/>.</summary>
    public async Task<int> ExitCodeAsync(TimeSpan timeout)
    {
        var p = _process ?? throw new InvalidOperationException($"{_program} was not started");
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{_program} did not exit within {timeout.TotalSeconds:0} s; its output:\n{Log}");
        }

        return p.ExitCode;
    }

    /// <summary>SIGKILL: no chance to flush or say goodbye.</summary>
    public void Kill()
    {
        _process?.Kill();
        _process?.WaitForExit(10_000);
    }

    /// <summary>SIGTERM and wait for a clean exit.</summary>
    public void Terminate()
    {
        if (_process is { } p)
        {
            Terminate(p);
        }
    }

    /// <summary>SIGTERM a process and wait up to 30 s for it to exit, then SIGKILL.</summary>
    public static void Terminate(Process p)
    {
        if (p.HasExited)
        {
            return;
        }

        _ = SendSignal(p.Id, 15);
        if (!p.WaitForExit(30_000))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
    }

    public string Log => string.Join('\n', Output);

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
        }

        _process?.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);

    /// <summary>The built entry assembly of a project of this repository, in the configuration the tests were built in.</summary>
    public static string DllOf(string project)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IoTPilots.sln")))
        {
            dir = dir.Parent;
        }

        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = Path.Combine(dir!.FullName, project, "bin", configuration, "net10.0", Path.GetFileName(project) + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is not built; build the solution first", dll);
    }
}
