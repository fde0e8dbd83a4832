namespace IoTPilots.IntegrationTests.Harness;

public static class EdgeConnect
{
    /// <summary>Starts (or starts again) an edge process and waits for its next MQTT connect, after which it is subscribed to its command and config topics.</summary>
    public static async Task StartConnectedAsync(this ChildProcess edge)
    {
        var connections = edge.Output.Count(l => l.Contains("MQTT connected", StringComparison.Ordinal));
        edge.Start();
        await Eventually.TrueAsync(
            () => Task.FromResult(edge.Output.Count(l => l.Contains("MQTT connected", StringComparison.Ordinal)) > connections),
            TimeSpan.FromSeconds(60),
            $"the edge to connect (log: {edge.Log})");
    }
}
