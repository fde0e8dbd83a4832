using System.Diagnostics;

namespace IoTPilots.FirmwareSim.Load;

/// <summary>
/// CPU time (user + system) spent by named processes and by this one since the meter was made: read from the
/// kernel's per-process accounting (<see cref="Process.TotalProcessorTime"/>, /proc/PID/stat on Linux), so it counts
/// what each process cost, not how long it waited for a core. That is what makes the ingest bench's cost table hold
/// up on a box other jobs share: CPU-seconds per message do not grow with contention, wall-clock rates do.
/// </summary>
internal sealed class CpuMeter
{
    public const string Self = "loadgen";

    private readonly Dictionary<string, (Process Process, TimeSpan Start)> _processes = [];

    public CpuMeter(IReadOnlyDictionary<string, int> pids)
    {
        foreach (var (name, pid) in pids)
        {
            try
            {
                var process = Process.GetProcessById(pid);
                _processes[name] = (process, process.TotalProcessorTime);
            }
            catch (ArgumentException)
            {
                // Not running (any more): it is left out of the report rather than shown as free.
            }
        }

        var self = Process.GetCurrentProcess();
        _processes[Self] = (self, self.TotalProcessorTime);
    }

    /// <summary>CPU seconds per process since the start; a process that has exited since is left out.</summary>
    public IReadOnlyDictionary<string, double> Elapsed()
    {
        var result = new Dictionary<string, double>();
        foreach (var (name, (process, start)) in _processes)
        {
            try
            {
                process.Refresh();
                result[name] = Math.Round((process.TotalProcessorTime - start).TotalSeconds, 3);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        }

        return result;
    }
}
