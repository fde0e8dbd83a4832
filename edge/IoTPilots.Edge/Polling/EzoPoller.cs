using IoTPilots.Devices;
using IoTPilots.Edge.Serial;
using IoTPilots.Edge.Serial.Ezo;

namespace IoTPilots.Edge.Polling;

/// <summary>
/// Read functions for an Atlas EZO circuit on its own UART. In poll mode each poll sends <c>R</c>; in
/// continuous mode the circuit streams a reading a second and each poll takes the newest one, with the time
/// it arrived (never re-stamped); a reading older than two poll intervals counts as no answer.
/// </summary>
internal static class EzoPoller
{
    public static (IReadOnlyList<(string, string)> Fields, Func<CancellationToken, Task<SensorSample>> Read) Create(DeviceConfig d, ISerialPorts ports, TimeProvider time)
    {
        var kind = d.EzoKind switch
        {
            "ph" => EzoKind.Ph,
            "do" => EzoKind.Do,
            "orp" => EzoKind.Orp,
            "ec" => EzoKind.Ec,
            _ => EzoKind.Rtd,
        };
        var fields = kind.Outputs().Select(f => (f.Name, f.Unit)).ToList();
        EzoProbe? probe = null;
        var continuous = d.EzoMode == "continuous";
        return (fields, async cancellationToken =>
        {
            if (probe is null)
            {
                // Put the circuit in the wanted mode first; until that succeeds, every poll tries again.
                var line = ports.Open(d.Serial!);
                var opened = new EzoProbe(line, kind, time, new EzoProbeOptions { ResponseTimeout = d.Timeout });
                try
                {
                    await opened.SetContinuousAsync(continuous, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is EzoException or EzoTimeoutException or IOException)
                {
                    await line.DisposeAsync().ConfigureAwait(false);
                    return SensorSample.NoAnswer($"{d.Serial!.Path}: cannot set {(continuous ? "continuous" : "poll")} mode: {ex.Message}");
                }

                probe = opened;
                if (continuous)
                {
                    // Listens until the agent stops; ReadLatest below takes what it hears.
                    _ = probe.RunContinuousAsync(cancellationToken);
                }
            }

            var result = continuous ? probe.ReadLatest(d.PollInterval * 2) : await probe.ReadAsync(cancellationToken).ConfigureAwait(false);
            return result.Outcome switch
            {
                EzoOutcome.Good => new SensorSample(result.Values.Where(v => v.Value is not null).Select(v => (v.Field, v.Value!.Value, v.Unit)).ToList(), SampledAt: result.SampledAt),
                EzoOutcome.Bad => SensorSample.Fault(result.Error ?? "bad reading"),
                _ => SensorSample.NoAnswer(result.Error ?? "no answer"),
            };
        });
    }
}
