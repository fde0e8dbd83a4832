using IoTPilots.Cloud.Notifications;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests.Notifications;

public sealed class NotificationPlannerTests
{
    private static readonly SeriesKey Tank03 = new("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03");
    private static readonly LocalizedText LowOxygen = new("Dissolved oxygen low in tank 03", "Oxy hòa tan thấp ở bể 03");

    // 08:00 UTC is 15:00 in Hai Phong (+07:00): outside Nguyen Van A's quiet hours (22:00-06:00).
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero));
    private readonly NotificationPlanner _planner;
    private long _nextId = 1;

    public NotificationPlannerTests()
    {
        var config = NotificationConfig.Parse(NotificationConfigTests.Farm, "notify.yaml");
        _planner = new NotificationPlanner(config, _time, NotificationPlanner.Integrator("http://127.0.0.1:9/integrator"));
    }

    private Alert NewAlert(Severity severity = Severity.Critical, string rule = "do-low") => new(
        _nextId++, rule, severity, Tank03, "do_mg_l", _time.GetUtcNow().AddMinutes(-2), _time.GetUtcNow(), 2.8, 2.8, 2.6,
        _time.GetUtcNow(), null, null, null, null, LowOxygen);

    private static AlertEvent Event(Alert a, AlertTransition transition, double value) =>
        new(transition, a.RuleId, a.Severity, a.Series, a.Field, a.UpdatedAt, a.Since, value, value, a.Message);

    private IReadOnlyList<Notice> Raise(Alert a) => _planner.OnEvent(a, Event(a, AlertTransition.Raised, 2.8));

    private IReadOnlyList<Notice> Resolve(Alert a) => _planner.OnEvent(a with { ResolvedAt = _time.GetUtcNow() }, Event(a, AlertTransition.Resolved, 4.1));

    private static string[] Who(IEnumerable<Notice> notices) => notices.Select(n => $"{n.State} {n.Contact} {n.Channel}").Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void A_raised_alert_tells_level_one_on_each_of_its_channels_and_the_integrator()
    {
        var notices = Raise(NewAlert());

        Assert.Equal(["raised Nguyen Van A sms", "raised Nguyen Van A telegram", "raised integrator webhook"], Who(notices));
        Assert.All(notices, n => Assert.Equal(2.8, n.Value));
        Assert.Equal("vi", notices.First(n => n.Contact == "Nguyen Van A").Language);
    }

    [Fact]
    public void A_second_raise_of_the_same_alert_tells_no_one()
    {
        var a = NewAlert();
        Raise(a);

        Assert.Empty(Raise(a));
    }

    [Fact]
    public void Without_an_acknowledgement_level_two_is_told_after_ten_minutes_and_everyone_is_reminded()
    {
        Raise(NewAlert());

        _time.Advance(TimeSpan.FromMinutes(9));
        Assert.Empty(_planner.Tick());
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(["escalated Tran Thi B email", "escalated integrator webhook"], Who(_planner.Tick()));
        _time.Advance(TimeSpan.FromMinutes(14));
        Assert.Empty(_planner.Tick());
        _time.Advance(TimeSpan.FromMinutes(1));
        var reminders = _planner.Tick();
        Assert.Equal(["reminder Nguyen Van A sms", "reminder Nguyen Van A telegram", "reminder Tran Thi B email"], Who(reminders));
        Assert.All(reminders, n => Assert.Equal("reminder-1", n.Key));
    }

    [Fact]
    public void An_acknowledgement_stops_escalation_and_reminders_and_tells_those_who_were_told()
    {
        var a = NewAlert();
        Raise(a);
        _time.Advance(TimeSpan.FromMinutes(3));

        var acked = _planner.OnAcknowledged(a with { AcknowledgedAt = _time.GetUtcNow(), AcknowledgedBy = "Nguyen Van A" });
        Assert.Equal(["acknowledged Nguyen Van A sms", "acknowledged Nguyen Van A telegram", "acknowledged integrator webhook"], Who(acked));

        _time.Advance(TimeSpan.FromHours(2));
        Assert.Empty(_planner.Tick());
    }

    [Fact]
    public void How_an_automatic_action_went_goes_to_those_who_were_told_once_per_command_and_not_after_the_alert_resolved()
    {
        var a = NewAlert();
        Raise(a);

        var done = _planner.OnActionAnswered(a, "c-1", done: true, readBack: 1);
        Assert.Equal(["action-done Nguyen Van A sms", "action-done Nguyen Van A telegram", "action-done integrator webhook"], Who(done));
        Assert.All(done, n => Assert.Equal(("action-done-c-1", 1.0), (n.Key, n.Value)));
        Assert.Equal(["action-failed Nguyen Van A sms", "action-failed Nguyen Van A telegram", "action-failed integrator webhook"], Who(_planner.OnActionAnswered(a, "c-2", done: false, readBack: null)));

        Resolve(a);
        Assert.Empty(_planner.OnActionAnswered(a, "c-3", done: true, readBack: 1));
    }

    [Fact]
    public void Back_to_normal_goes_to_those_who_were_told_and_nobody_else()
    {
        var a = NewAlert();
        Raise(a);
        _time.Advance(TimeSpan.FromMinutes(11));
        _planner.Tick();

        var resolved = Resolve(a);

        Assert.Equal(["resolved Nguyen Van A sms", "resolved Nguyen Van A telegram", "resolved Tran Thi B email", "resolved integrator webhook"], Who(resolved));
        Assert.All(resolved, n => Assert.Equal(4.1, n.Value));
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Empty(_planner.Tick());
    }

    [Fact]
    public void Quiet_hours_hold_a_warning_until_they_end()
    {
        _time.SetUtcNow(new DateTimeOffset(2026, 11, 23, 16, 0, 0, TimeSpan.Zero)); // 23:00 in Hai Phong
        var a = NewAlert(Severity.Warning);

        Assert.Equal(["raised integrator webhook"], Who(Raise(a)));

        _time.SetUtcNow(new DateTimeOffset(2026, 11, 23, 22, 59, 0, TimeSpan.Zero)); // 05:59
        Assert.DoesNotContain(_planner.Tick(), n => n.Contact == "Nguyen Van A");
        _time.SetUtcNow(new DateTimeOffset(2026, 11, 23, 23, 0, 0, TimeSpan.Zero)); // 06:00
        var released = _planner.Tick().Where(n => n.Contact == "Nguyen Van A").ToList();
        Assert.Equal(["raised Nguyen Van A sms", "raised Nguyen Van A telegram"], Who(released));
    }

    [Fact]
    public void Quiet_hours_never_hold_a_critical_alert()
    {
        _time.SetUtcNow(new DateTimeOffset(2026, 11, 23, 19, 0, 0, TimeSpan.Zero)); // 02:00 in Hai Phong

        Assert.Contains(Raise(NewAlert(Severity.Critical)), n => n.Contact == "Nguyen Van A" && n.State == "raised");
    }

    [Fact]
    public void A_warning_that_resolves_during_quiet_hours_wakes_no_one_later()
    {
        _time.SetUtcNow(new DateTimeOffset(2026, 11, 23, 16, 0, 0, TimeSpan.Zero));
        var a = NewAlert(Severity.Warning);
        Raise(a);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(["resolved integrator webhook"], Who(Resolve(a)));

        _time.SetUtcNow(new DateTimeOffset(2026, 11, 23, 23, 30, 0, TimeSpan.Zero));
        Assert.Empty(_planner.Tick());
    }

    [Fact]
    public void A_shelved_series_notifies_no_one_until_the_shelf_expires_then_an_open_alert_is_news()
    {
        var first = NewAlert();
        Raise(first);
        var shelved = _planner.OnShelved(first, _time.GetUtcNow().AddHours(1));
        Assert.Equal(["shelved integrator webhook"], Who(shelved));
        Assert.Empty(Resolve(first));

        var second = NewAlert();
        Assert.Empty(Raise(second));
        _time.Advance(TimeSpan.FromMinutes(30));
        Assert.Empty(_planner.Tick());

        _time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(["raised Nguyen Van A sms", "raised Nguyen Van A telegram", "raised integrator webhook"], Who(_planner.Tick()));
        Assert.Empty(_planner.Tick());
    }

    [Fact]
    public void An_alert_that_opens_and_clears_more_than_three_times_in_thirty_minutes_becomes_one_flapping_message()
    {
        var told = new List<Notice>();
        for (var i = 0; i < 8; i++)
        {
            var a = NewAlert();
            told.AddRange(Raise(a));
            _time.Advance(TimeSpan.FromMinutes(1));
            told.AddRange(Resolve(a));
            _time.Advance(TimeSpan.FromMinutes(1));
            told.AddRange(_planner.Tick());
        }

        // Three ordinary raise/resolve pairs, then one flapping message; the rest are quiet.
        var toA = told.Where(n => n is { Contact: "Nguyen Van A", Channel: Channels.Sms }).Select(n => n.State).ToArray();
        Assert.Equal(["raised", "resolved", "raised", "resolved", "raised", "resolved", "flapping"], toA);

        // Once it has been calm for the window, the next raise is ordinary news again.
        _time.Advance(TimeSpan.FromMinutes(31));
        Assert.Contains(Raise(NewAlert()), n => n.State == "raised");
    }

    [Fact]
    public void A_contact_hears_only_about_its_sites()
    {
        var steel = NewAlert() with { Series = Tank03 with { Site = "haiphong-steel-1" } };

        Assert.DoesNotContain(Raise(steel), n => n.Contact == "Nguyen Van A");
    }

    [Fact]
    public void An_alert_no_route_matches_reaches_only_the_integrator()
    {
        Assert.Equal(["raised integrator webhook"], Who(Raise(NewAlert(rule: "ph-high"))));
    }

    [Fact]
    public void After_a_restart_escalation_resumes_where_the_outbox_says_it_was()
    {
        var a = NewAlert();
        var started = _time.GetUtcNow();
        _planner.Restore(a, new NoticeHistory(1, 0, started, started, ["Nguyen Van A"], false));

        _time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(["escalated Tran Thi B email", "escalated integrator webhook"], Who(_planner.Tick()));
    }
}
