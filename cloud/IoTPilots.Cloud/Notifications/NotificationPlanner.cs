using IoTPilots.Rules;

namespace IoTPilots.Cloud.Notifications;

/// <summary>The states an alert event has on the wire (webhook <c>state</c>, outbox, API).</summary>
public static class NoticeStates
{
    public const string Raised = "raised";
    public const string Escalated = "escalated";
    public const string Reminder = "reminder";
    public const string Acknowledged = "acknowledged";
    public const string Shelved = "shelved";
    public const string Resolved = "resolved";
    public const string Flapping = "flapping";

    /// <summary>A rule's automatic action was done and read back (rules README, "Actions": act, then notify).</summary>
    public const string ActionDone = "action-done";

    /// <summary>A rule's automatic action was refused, failed or went unanswered: people must act.</summary>
    public const string ActionFailed = "action-failed";
}

/// <summary>
/// One message to send: alert <see cref="AlertId"/>'s event <see cref="Key"/> to one contact on one channel. The
/// triple (alert, key, contact+channel) is the outbox's idempotency key: planning the same event twice (a
/// redelivered reading, a restart) adds nothing.
/// </summary>
/// <param name="At">For raised and resolved: the sampling time of the reading that decided it; otherwise when it happened (cloud clock).</param>
public sealed record Notice(long AlertId, string Key, string State, string Contact, string Language, string Channel, string Address, int Level, double? Value, DateTimeOffset At);

/// <summary>What the outbox already holds for an open alert, so the planner resumes after a restart instead of starting over.</summary>
public sealed record NoticeHistory(int Level, int Reminders, DateTimeOffset FirstAt, DateTimeOffset LastAt, IReadOnlyCollection<string> Told, bool Flapping);

/// <summary>
/// Decides who is told what and when, from alert events and the clock: routes and escalation levels, reminders
/// until someone acknowledges, quiet hours (hold warnings until the hour ends, never a critical alert), shelving,
/// flap suppression and back-to-normal messages to those who were told. Pure: no I/O; time from
/// <see cref="TimeProvider"/> (escalation and quiet hours are about people's time, not the edge's sampling clock).
/// </summary>
public sealed class NotificationPlanner(NotificationConfig config, TimeProvider time, Contact? integrator = null)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Track> _tracks = [];
    private readonly Dictionary<string, List<DateTimeOffset>> _raises = [];
    private readonly HashSet<string> _flapping = [];
    private readonly Dictionary<string, DateTimeOffset> _shelves = [];

    public NotificationConfig Config => config;

    /// <summary>The integrator webhook (PILOTS_WEBHOOK_URL) as a contact: it hears every alert event, in English field names.</summary>
    public static Contact Integrator(string url) => new("integrator", "en", new Dictionary<string, string> { [Channels.Webhook] = url }, null, []);

    /// <summary>Resumes an alert that was open before a restart.</summary>
    public void Restore(Alert alert, NoticeHistory history)
    {
        lock (_gate)
        {
            _tracks[alert.Id] = new Track(alert, config.RouteFor(alert), history.FirstAt)
            {
                Level = history.Level,
                Reminders = history.Reminders,
                LastTold = history.LastAt,
                Flapping = history.Flapping,
                Acknowledged = alert.AcknowledgedAt is not null,
                Told = [.. history.Told],
            };
        }
    }

    /// <summary>Restores a shelf still in force after a restart.</summary>
    public void RestoreShelf(Alert alert, DateTimeOffset until)
    {
        lock (_gate)
        {
            _shelves[SeriesOf(alert)] = until;
        }
    }

    /// <summary>What the rules engine decided about <paramref name="alert"/> (as stored after the event).</summary>
    public IReadOnlyList<Notice> OnEvent(Alert alert, AlertEvent e)
    {
        var now = time.GetUtcNow();
        var notices = new List<Notice>();
        lock (_gate)
        {
            var series = SeriesOf(alert);
            switch (e.Transition)
            {
                case AlertTransition.Raised when !_tracks.ContainsKey(alert.Id) && alert.ResolvedAt is null:
                    var track = new Track(alert, config.RouteFor(alert), now) { LastTold = now };
                    _tracks[alert.Id] = track;
                    if (IsFlapping(series, now))
                    {
                        track.Flapping = true;
                        if (_flapping.Add(series) && !IsShelved(series, now))
                        {
                            // One message for the whole flapping run; its raises and resolutions stay quiet.
                            Tell(track, 1, NoticeStates.Flapping, NoticeStates.Flapping, e.Value, e.At, now, notices);
                        }

                        break;
                    }

                    _flapping.Remove(series);
                    if (!IsShelved(series, now))
                    {
                        Tell(track, 1, NoticeStates.Raised, NoticeStates.Raised, e.Value, e.At, now, notices);
                    }

                    break;
                case AlertTransition.Resolved when _tracks.Remove(alert.Id, out var done):
                    if (!done.Flapping && !IsShelved(series, now))
                    {
                        TellTold(done, NoticeStates.Resolved, NoticeStates.Resolved, e.Value, e.At, notices);
                    }

                    break;
            }
        }

        return notices;
    }

    /// <summary>
    /// The gateway answered a rule's automatic action for an open alert (or did not in time): those who were told of
    /// the alert hear how it went, once per command, so a farmer woken by the alarm learns the backup is running, or
    /// that it is not and they must go. Nothing for an alert already resolved, flapping or shelved.
    /// </summary>
    public IReadOnlyList<Notice> OnActionAnswered(Alert alert, string commandId, bool done, double? readBack)
    {
        var notices = new List<Notice>();
        lock (_gate)
        {
            if (_tracks.TryGetValue(alert.Id, out var track) && !track.Flapping && !IsShelved(SeriesOf(alert), time.GetUtcNow()))
            {
                var state = done ? NoticeStates.ActionDone : NoticeStates.ActionFailed;
                TellTold(track, state, $"{state}-{commandId}", readBack, time.GetUtcNow(), notices);
            }
        }

        return notices;
    }

    /// <summary>Someone took the alert: escalation and reminders stop, and those who were told hear who.</summary>
    public IReadOnlyList<Notice> OnAcknowledged(Alert alert)
    {
        var notices = new List<Notice>();
        lock (_gate)
        {
            if (_tracks.TryGetValue(alert.Id, out var track) && !track.Acknowledged)
            {
                track.Acknowledged = true;
                track.Alert = alert;
                track.Held.Clear();
                TellTold(track, NoticeStates.Acknowledged, NoticeStates.Acknowledged, alert.LastValue, alert.AcknowledgedAt ?? time.GetUtcNow(), notices);
            }
        }

        return notices;
    }

    /// <summary>A person shelved the alert's rule and series until <paramref name="until"/>: it notifies no one (the integrator hears that it was shelved), and is still recorded.</summary>
    public IReadOnlyList<Notice> OnShelved(Alert alert, DateTimeOffset until)
    {
        var notices = new List<Notice>();
        lock (_gate)
        {
            _shelves[SeriesOf(alert)] = until;
            if (_tracks.TryGetValue(alert.Id, out var track))
            {
                track.Held.Clear();
            }

            if (integrator is not null)
            {
                var key = $"{NoticeStates.Shelved}-{until.ToUnixTimeMilliseconds()}";
                AddFor(integrator, alert.Id, key, NoticeStates.Shelved, 0, alert.LastValue, time.GetUtcNow(), notices);
            }
        }

        return notices;
    }

    /// <summary>Escalations, reminders, the end of quiet hours and of shelves: call every few seconds.</summary>
    public IReadOnlyList<Notice> Tick()
    {
        var now = time.GetUtcNow();
        var notices = new List<Notice>();
        lock (_gate)
        {
            foreach (var (series, until) in _shelves.Where(s => s.Value <= now).ToList())
            {
                _shelves.Remove(series);
                foreach (var track in _tracks.Values.Where(t => SeriesOf(t.Alert) == series && !t.Acknowledged && t.Level == 0 && !t.Flapping))
                {
                    // Unshelved while still open: it is news to everyone, and escalation counts from now.
                    track.Start = now;
                    Tell(track, 1, NoticeStates.Raised, NoticeStates.Raised, track.Alert.LastValue, now, now, notices);
                }
            }

            foreach (var track in _tracks.Values)
            {
                if (track.Acknowledged || track.Flapping || IsShelved(SeriesOf(track.Alert), now))
                {
                    continue;
                }

                foreach (var held in track.Held.Where(h => h.Until <= now).ToList())
                {
                    track.Held.Remove(held);
                    track.Told.Add(held.Notice.Contact);
                    notices.Add(held.Notice);
                }

                if (track.Route is not { } route || track.Level == 0)
                {
                    continue;
                }

                for (var level = track.Level + 1; level <= route.Levels.Count && now - track.Start >= route.Levels[level - 1].After; level++)
                {
                    Tell(track, level, NoticeStates.Escalated, $"{NoticeStates.Escalated}-{level}", track.Alert.LastValue, now, now, notices);
                }

                if (route.Remind is { } every && now - track.LastTold >= every && track.Told.Count > 0)
                {
                    track.Reminders++;
                    track.LastTold = now;
                    foreach (var contact in Members(route).Where(c => track.Told.Contains(c.Name)))
                    {
                        AddFor(contact, track, $"{NoticeStates.Reminder}-{track.Reminders}", NoticeStates.Reminder, track.Level, track.Alert.LastValue, now, now, notices);
                    }
                }
            }
        }

        return notices;
    }

    private static string SeriesOf(Alert alert) => $"{alert.RuleId}|{alert.Series}|{alert.Field}";

    private bool IsShelved(string series, DateTimeOffset now) => _shelves.TryGetValue(series, out var until) && until > now;

    /// <summary>Counts this raise; flapping when there were more than the limit within the window.</summary>
    private bool IsFlapping(string series, DateTimeOffset now)
    {
        if (!_raises.TryGetValue(series, out var raises))
        {
            _raises[series] = raises = [];
        }

        raises.Add(now);
        raises.RemoveAll(t => now - t > config.Flapping.Within);
        return raises.Count > config.Flapping.Count;
    }

    private static IEnumerable<Contact> Members(Route route) => route.Levels.SelectMany(l => l.Contacts).DistinctBy(c => c.Name);

    /// <summary>Tells level <paramref name="level"/>'s contacts (and the integrator), and moves the track to that level.</summary>
    private void Tell(Track track, int level, string state, string key, double? value, DateTimeOffset at, DateTimeOffset now, List<Notice> notices)
    {
        track.Level = Math.Max(track.Level, level);
        track.LastTold = now;
        if (track.Route is { } route && level <= route.Levels.Count)
        {
            foreach (var contact in route.Levels[level - 1].Contacts.Where(c => c.MayHearAbout(track.Alert.Series.Site)))
            {
                AddFor(contact, track, key, state, level, value, at, now, notices);
            }
        }

        if (integrator is not null)
        {
            AddFor(integrator, track.Alert.Id, key, state, level, value, at, notices);
        }
    }

    /// <summary>Back to normal, or acknowledged: only those who were told about the alert hear it.</summary>
    private void TellTold(Track track, string state, string key, double? value, DateTimeOffset at, List<Notice> notices)
    {
        if (track.Route is { } route)
        {
            foreach (var contact in Members(route).Where(c => track.Told.Contains(c.Name)))
            {
                AddFor(contact, track.Alert.Id, key, state, track.Level, value, at, notices);
            }
        }

        if (integrator is not null)
        {
            AddFor(integrator, track.Alert.Id, key, state, track.Level, value, at, notices);
        }
    }

    /// <summary>A warning to someone in their quiet hours waits for the hours to end; a critical alert never waits.</summary>
    private void AddFor(Contact contact, Track track, string key, string state, int level, double? value, DateTimeOffset at, DateTimeOffset now, List<Notice> notices)
    {
        var local = now.ToOffset(config.TimeZone);
        if (contact.Quiet is { } quiet && track.Alert.Severity != Severity.Critical && quiet.Contains(TimeOnly.FromDateTime(local.DateTime)))
        {
            if (track.Held.All(h => h.Notice.Contact != contact.Name))
            {
                var held = new List<Notice>();
                AddFor(contact, track.Alert.Id, key, state, level, value, at, held);
                track.Held.AddRange(held.Select(n => new Held(n, quiet.EndAfter(local))));
            }

            return;
        }

        track.Told.Add(contact.Name);
        AddFor(contact, track.Alert.Id, key, state, level, value, at, notices);
    }

    private static void AddFor(Contact contact, long alertId, string key, string state, int level, double? value, DateTimeOffset at, List<Notice> notices)
    {
        foreach (var (channel, address) in contact.Addresses)
        {
            notices.Add(new Notice(alertId, key, state, contact.Name, contact.Language, channel, address, level, value, at));
        }
    }

    private sealed record Held(Notice Notice, DateTimeOffset Until);

    private sealed class Track(Alert alert, Route? route, DateTimeOffset start)
    {
        public Alert Alert { get; set; } = alert;

        public Route? Route { get; } = route;

        /// <summary>When escalation started counting (cloud clock).</summary>
        public DateTimeOffset Start { get; set; } = start;

        /// <summary>The highest escalation level told; 0 before anyone was (shelved, flapping).</summary>
        public int Level { get; set; }

        public int Reminders { get; set; }

        public DateTimeOffset LastTold { get; set; } = start;

        public bool Acknowledged { get; set; }

        public bool Flapping { get; set; }

        public HashSet<string> Told { get; init; } = [];

        public List<Held> Held { get; } = [];
    }
}
