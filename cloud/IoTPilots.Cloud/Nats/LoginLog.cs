namespace IoTPilots.Cloud.Nats;

/// <summary>
/// The loggers NATS.Net gets when the cloud logs in. NATS.Net reports a refused login only as a warning of its own,
/// "Authentication error: Authorization Violation" (NatsConnection.SetupReaderWriterAsync, NATS.Net 3.3), and then
/// retries; a refused login is not a link problem, and retrying cannot help until someone fixes the password, so
/// this says it again as an error naming the settings to check (as the MQTT side does for a refused CONNECT). The
/// first refusal and every tenth after it, so a wrong password does not fill the journal.
/// </summary>
internal sealed class LoginLog(ILoggerFactory inner, string user) : ILoggerFactory
{
    private readonly ILogger _logger = inner.CreateLogger<JetStreamMessageSources>();
    private int _refusals;

    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return categoryName.EndsWith(".NatsConnection", StringComparison.Ordinal) ? new Watching(logger, this) : logger;
    }

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The host owns the inner factory.
    }

    private void Refused(string message)
    {
        var count = Interlocked.Increment(ref _refusals);
        if (count == 1 || count % 10 == 0)
        {
            _logger.LogError("NATS server refused the login as {User} ({Refusal}; {Count} time(s)): check PILOTS_NATS_USER and PILOTS_NATS_PASSWORD (or user:password in PILOTS_NATS_URL) against the servers' users (./run provision --broker nats, deploy/README.md)", user, message, count);
        }
    }

    private sealed class Watching(ILogger inner, LoginLog owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel == LogLevel.Warning || inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning && formatter(state, exception) is { } text && text.StartsWith("Authentication error", StringComparison.Ordinal))
            {
                owner.Refused(text);
            }

            if (inner.IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
