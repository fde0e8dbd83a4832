using System.Globalization;

namespace IoTPilots.Rules;

/// <summary>Live reload: new rules, and the state of those that did not change carried over (README, "Live reload").</summary>
public sealed partial class RulesEngine
{
    /// <summary>
    /// Puts <paramref name="book"/> in force in place of the rules loaded before, keeping what the engine knows:
    /// <list type="bullet">
    /// <item>a rule whose definition is unchanged (same id, same everything but where it is written) keeps its state:
    /// open alerts stay open, pending holds and rate windows go on;</item>
    /// <item>a changed rule restarts from its open alerts, as <see cref="Restore"/> does after a restart (a firing alert
    /// stays open and resolves when the new definition's clear condition holds; pending holds start again); its
    /// missing-data series keep their last good time, which is a fact about the device, not about the rule. An open
    /// alert of a series the changed rule no longer watches is resolved, saying so;</item>
    /// <item>a removed rule's open alerts are resolved, saying the rule was removed: nothing would ever resolve them
    /// otherwise, and the log and the event say why;</item>
    /// <item>an added rule starts from nothing, as at start-up.</item>
    /// </list>
    /// Derived signals are replaced; the latest input values they read are the devices', so they stay.
    /// </summary>
    /// <param name="now">The cloud's clock: the time of the resolutions this decides.</param>
    public RulesReload Reload(RuleBook book, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(book);
        var before = _byId;
        var after = book.Rules.ToDictionary(r => r.Id);
        var added = after.Keys.Where(id => !before.ContainsKey(id)).Order(StringComparer.Ordinal).ToList();
        var removed = before.Keys.Where(id => !after.ContainsKey(id)).Order(StringComparer.Ordinal).ToList();
        var changed = after.Values.Where(r => before.TryGetValue(r.Id, out var old) && Definition(old) != Definition(r)).Select(r => r.Id).Order(StringComparer.Ordinal).ToList();
        var changedSet = changed.ToHashSet(StringComparer.Ordinal);
        var events = new List<AlertEvent>();

        foreach (var ((id, series, field), track) in _tracks.ToList())
        {
            var key = (id, series, field);
            if (!after.TryGetValue(id, out var rule))
            {
                _tracks.Remove(key);
                if (track.State == State.Firing)
                {
                    events.Add(Closed(before[id], series, field, track.Since, now, Removed(id)));
                }

                continue;
            }

            if (!changedSet.Contains(id))
            {
                continue;
            }

            var watched = rule.Matches(series) && rule.MatchesField(field);
            if (track.State == State.Firing && !watched)
            {
                _tracks.Remove(key);
                events.Add(Closed(before[id], series, field, track.Since, now, NoLongerWatched(id, series, field)));
            }
            else if (track.State == State.Firing || (rule.Kind == RuleKind.Missing && watched))
            {
                // As Restore: the open alert, or the series' silence, and nothing of the old definition's windows and holds.
                _tracks[key] = new Track
                {
                    State = track.State == State.Firing ? State.Firing : State.Normal,
                    Since = track.Since,
                    Worst = track.Worst,
                    LastAt = track.LastAt,
                    LastGood = track.LastGood,
                    Assumed = track.Assumed,
                    Field = track.Field,
                    Unit = track.Unit,
                };
            }
            else
            {
                _tracks.Remove(key);
            }
        }

        foreach (var (key, track) in _composites.ToList())
        {
            if (!after.ContainsKey(key.Rule))
            {
                _composites.Remove(key);
                if (track.State == State.Firing)
                {
                    events.Add(Closed(before[key.Rule], track.Series, before[key.Rule].Field, track.Since, now, Removed(key.Rule)));
                }
            }
            else if (changedSet.Contains(key.Rule))
            {
                _composites.Remove(key);
                if (track.State == State.Firing)
                {
                    _composites[key] = new CompositeTrack { Series = track.Series, State = State.Firing, Since = track.Since, LastAt = track.LastAt, Unit = track.Unit };
                }
            }
        }

        var derivedBefore = Derived.ToDictionary(d => d.Name, Definition);
        var derivedAfter = book.Derived.ToDictionary(d => d.Name, Definition);
        var derivedChanged = derivedAfter.Where(d => !derivedBefore.TryGetValue(d.Key, out var old) || old != d.Value).Select(d => d.Key)
            .Concat(derivedBefore.Keys.Where(name => !derivedAfter.ContainsKey(name)))
            .Order(StringComparer.Ordinal)
            .ToList();

        Rules = book.Rules;
        Derived = book.Derived;
        _byId = after;
        ReloadOther(removed.ToHashSet(StringComparer.Ordinal), changedSet);
        return new RulesReload(added, removed, changed, derivedChanged, events);
    }

    /// <summary>
    /// For state a kind of rule keeps outside the tracks and composites (a drift detector's baseline, say): drop the
    /// removed rules' and restart the changed ones', as <see cref="Reload"/> does for its own.
    /// </summary>
    partial void ReloadOther(IReadOnlySet<string> removed, IReadOnlySet<string> changed);

    /// <summary>
    /// A rule's definition as text, to tell whether a reload changed it: every public property but where it is
    /// written (records compare their compiled patterns and lists by reference, so record equality cannot tell).
    /// </summary>
    internal static string Definition(Rule rule) =>
        (rule with { Location = "" }).ToString() +
        string.Concat((rule.Composite?.Parts ?? []).Select(p => string.Create(CultureInfo.InvariantCulture, $"|{p.Field},{p.Below},{p.Above},{p.Clear},{p.Hold},{p.Window},{p.Device},{p.AllDevices}")));

    private static string Definition(DerivedSignal signal) => signal.ToString();

    private static AlertEvent Closed(Rule rule, SeriesKey series, string field, DateTimeOffset since, DateTimeOffset now, LocalizedText reason) =>
        new(AlertTransition.Resolved, rule.Id, rule.Severity, series, field, now, since, null, null, reason);

    private static LocalizedText Removed(string id) => new(
        $"Rule '{id}' was removed from the rules files: its alert is closed by the reload, not by its condition clearing",
        $"Quy tắc '{id}' đã bị xoá khỏi tệp quy tắc: cảnh báo được đóng khi nạp lại quy tắc, không phải vì tình trạng đã hết");

    private static LocalizedText NoLongerWatched(string id, SeriesKey series, string field) => new(
        $"Rule '{id}' was changed and no longer watches {field} of {series.Device}: its alert is closed by the reload",
        $"Quy tắc '{id}' đã thay đổi và không còn theo dõi {field} của {series.Device}: cảnh báo được đóng khi nạp lại quy tắc");
}

/// <summary>What a <see cref="RulesEngine.Reload"/> changed, by rule id (and derived signal name), and the alerts it closed.</summary>
/// <param name="Events">Resolutions of the open alerts of removed rules, and of series a changed rule no longer watches.</param>
public sealed record RulesReload(
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Removed,
    IReadOnlyList<string> Changed,
    IReadOnlyList<string> DerivedChanged,
    IReadOnlyList<AlertEvent> Events)
{
    public bool Unchanged => Added.Count + Removed.Count + Changed.Count + DerivedChanged.Count == 0;

    /// <summary>For the log: <c>added: a, b; removed: c; changed: d; derived signals added, removed or changed: e</c>.</summary>
    public override string ToString() =>
        Unchanged
            ? "no rule changed"
            : string.Join("; ", new[] { ("added", Added), ("removed", Removed), ("changed", Changed), ("derived signals added, removed or changed", DerivedChanged) }
                .Where(p => p.Item2.Count > 0)
                .Select(p => $"{p.Item1}: {string.Join(", ", p.Item2)}"));
}
