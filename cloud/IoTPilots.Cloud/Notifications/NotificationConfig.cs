using System.Globalization;
using System.Text.RegularExpressions;
using IoTPilots.Config;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Notifications;

/// <summary>The channels a contact can be reached on; the names used in config, the outbox and the API.</summary>
public static class Channels
{
    public const string Telegram = "telegram";
    public const string Sms = "sms";
    public const string Email = "email";
    public const string Webhook = "webhook";

    public static IReadOnlyList<string> All { get; } = [Telegram, Sms, Email, Webhook];
}

/// <summary>A time-of-day window in the config's time zone, e.g. 22:00-06:00 (crossing midnight).</summary>
public sealed record QuietHours(TimeOnly From, TimeOnly To)
{
    public bool Contains(TimeOnly time) => From <= To ? time >= From && time < To : time >= From || time < To;

    /// <summary>The first moment at or after <paramref name="now"/> (local) when the window is over.</summary>
    public DateTimeOffset EndAfter(DateTimeOffset now)
    {
        var end = new DateTimeOffset(DateOnly.FromDateTime(now.DateTime).ToDateTime(To), now.Offset);
        return end > now ? end : end.AddDays(1);
    }
}

/// <summary>A person (or an integrator's endpoint) who hears about alerts.</summary>
/// <param name="Addresses">Channel name → address (Telegram chat id, phone number, e-mail address, webhook URL).</param>
/// <param name="Sites">Site globs this contact may hear about; empty means every site.</param>
public sealed record Contact(string Name, string Language, IReadOnlyDictionary<string, string> Addresses, QuietHours? Quiet, IReadOnlyList<string> Sites)
{
    public bool MayHearAbout(string site) => Sites.Count == 0 || Sites.Any(g => Glob.Matches(g, site));
}

/// <summary>Level N of an escalation chain: its contacts are told once <see cref="After"/> has passed since the alert was raised without an acknowledgement.</summary>
public sealed record EscalationLevel(TimeSpan After, IReadOnlyList<Contact> Contacts);

/// <summary>Which alerts a route is for (globs; null matches anything), and whom it tells, in which order.</summary>
/// <param name="Remind">Every how long the contacts told so far are reminded until someone acknowledges; null: never.</param>
/// <param name="Action">What the person should do, carried into short messages (SMS) with the device and value.</param>
public sealed record Route(
    string? Pilot,
    string? Site,
    string? Severity,
    string? Rule,
    IReadOnlyList<EscalationLevel> Levels,
    TimeSpan? Remind,
    LocalizedText Action,
    string Where)
{
    public bool Matches(Alert alert) =>
        Glob.MatchesOrAny(Pilot, alert.Series.Pilot) && Glob.MatchesOrAny(Site, alert.Series.Site)
        && Glob.MatchesOrAny(Severity, alert.Severity.ToString().ToLowerInvariant()) && Glob.MatchesOrAny(Rule, alert.RuleId);
}

/// <summary>An alert opening and clearing more than <see cref="Count"/> times within <see cref="Within"/> is flapping.</summary>
public sealed record FlapLimit(int Count, TimeSpan Within);

/// <summary>Where the Telegram Bot API, the SMTP server and the SMS gateway are; base URLs are settings so tests and the demo point them at local receivers.</summary>
public sealed record TelegramSettings(Uri BaseUrl, string TokenVariable);

public sealed record EmailSettings(string Host, int Port, string From, bool StartTls, string? UserVariable, string? PasswordVariable);

/// <summary>An HTTP SMS gateway: placeholders {phone} and {text} in the URL and body; header values may name an environment variable as ${NAME}.</summary>
public sealed record SmsSettings(string Method, string Url, IReadOnlyDictionary<string, string> Headers, string? Body);

/// <summary>The contacts and routes file (YAML), validated at start-up: every mistake names file, line and field.</summary>
public sealed partial record NotificationConfig(
    IReadOnlyList<Contact> Contacts,
    IReadOnlyList<Route> Routes,
    TimeSpan TimeZone,
    FlapLimit Flapping,
    TelegramSettings? Telegram,
    EmailSettings? Email,
    SmsSettings? Sms)
{
    public static readonly LocalizedText DefaultAction = new("Check it now", "Kiểm tra ngay");

    /// <summary>No file: no contacts, no routes (the integrator webhook, when set, still hears everything).</summary>
    public static NotificationConfig Empty { get; } = new([], [], TimeSpan.FromHours(7), new FlapLimit(3, TimeSpan.FromMinutes(30)), null, null, null);

    public Route? RouteFor(Alert alert) => Routes.FirstOrDefault(r => r.Matches(alert));

    public static NotificationConfig Load(string file) => Read(ConfigNode.Load(file));

    public static NotificationConfig Parse(string yaml, string file) => Read(ConfigNode.Parse(yaml, file));

    private static NotificationConfig Read(ConfigNode root)
    {
        root.AllowOnly("timezone", "flapping", "channels", "contacts", "routes");
        var zone = Empty.TimeZone;
        if (root.Optional("timezone") is { } tz)
        {
            var text = tz.AsString();
            if (!OffsetPattern().IsMatch(text) || !TimeSpan.TryParseExact(text.TrimStart('+', '-'), @"hh\:mm", CultureInfo.InvariantCulture, out zone))
            {
                throw tz.Error($"'{text}' is not a UTC offset such as +07:00 (Vietnam keeps no daylight saving time)");
            }

            zone = text.StartsWith('-') ? -zone : zone;
        }

        var flap = Empty.Flapping;
        if (root.Optional("flapping") is { } f)
        {
            f.AllowOnly("count", "within");
            flap = new FlapLimit(f.Int("count", 1, 1000), Positive(f.Required("within")));
        }

        TelegramSettings? telegram = null;
        EmailSettings? email = null;
        SmsSettings? sms = null;
        if (root.Optional("channels") is { } channels)
        {
            channels.AllowOnly(Channels.Telegram, Channels.Email, Channels.Sms);
            if (channels.Optional(Channels.Telegram) is { } t)
            {
                t.AllowOnly("base_url", "token_env");
                telegram = new TelegramSettings(Url(t.Optional("base_url"), "https://api.telegram.org"), t.String("token_env", "PILOTS_TELEGRAM_TOKEN"));
            }

            if (channels.Optional(Channels.Email) is { } e)
            {
                e.AllowOnly("host", "port", "from", "starttls", "user_env", "password_env");
                email = new EmailSettings(e.String("host"), e.Int("port", 1, 65535, 25), e.String("from"), e.Bool("starttls", false), e.Optional("user_env")?.AsString(), e.Optional("password_env")?.AsString());
            }

            if (channels.Optional(Channels.Sms) is { } s)
            {
                s.AllowOnly("method", "url", "headers", "body");
                var method = s.Optional("method")?.OneOf(["GET", "POST", "PUT"], "HTTP method") ?? "POST";
                var url = s.Required("url");
                Url(url, null);
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var h in s.Optional("headers")?.Items() ?? [])
                {
                    // "Name: value", as the header is written on the wire.
                    var line = h.AsString();
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    if (colon < 1)
                    {
                        throw h.Error($"'{line}' is not a header such as 'Authorization: Bearer ${{PILOTS_SMS_KEY}}'");
                    }

                    headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }

                var body = s.Optional("body")?.AsString();
                if (!url.AsString().Contains("{text}", StringComparison.Ordinal) && body?.Contains("{text}", StringComparison.Ordinal) != true)
                {
                    throw s.Error("the SMS template must place {text} in the url or the body");
                }

                sms = new SmsSettings(method, url.AsString(), headers, body);
            }
        }

        var contacts = new Dictionary<string, Contact>(StringComparer.Ordinal);
        foreach (var c in root.Optional("contacts")?.Items() ?? [])
        {
            c.AllowOnly(["name", "language", "quiet", "sites", .. Channels.All]);
            var name = c.String("name").Trim();
            if (name.Length is 0 or > 64 || name.Any(char.IsControl))
            {
                throw c.Required("name").Error("a contact's name is 1 to 64 characters on one line");
            }

            if (contacts.ContainsKey(name))
            {
                throw c.Required("name").Error($"contact '{name}' is already defined");
            }

            var addresses = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var channel in Channels.All)
            {
                if (c.Optional(channel) is { } a)
                {
                    addresses[channel] = Address(channel, a);
                }
            }

            if (addresses.Count == 0)
            {
                throw c.Error($"contact '{name}' has no channel (give at least one of: {string.Join(", ", Channels.All)})");
            }

            QuietHours? quiet = null;
            if (c.Optional("quiet") is { } q)
            {
                var match = QuietPattern().Match(q.AsString());
                if (!match.Success
                    || !TimeOnly.TryParseExact(match.Groups[1].Value, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)
                    || !TimeOnly.TryParseExact(match.Groups[2].Value, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var to)
                    || from == to)
                {
                    throw q.Error($"'{q.AsString()}' is not a time window such as 22:00-06:00");
                }

                quiet = new QuietHours(from, to);
            }

            var sites = c.Optional("sites") is { } sitesNode ? sitesNode.Items().Select(i => i.AsString()).ToList() : [];
            contacts[name] = new Contact(name, c.Required("language").OneOf(["vi", "en"], "language"), addresses, quiet, sites);
        }

        var routes = new List<Route>();
        foreach (var r in root.Optional("routes")?.Items() ?? [])
        {
            r.AllowOnly("pilot", "site", "severity", "rule", "escalation", "remind", "action");
            var severity = r.Optional("severity");
            if (severity is not null && !Enum.GetNames<Severity>().Select(n => n.ToLowerInvariant()).Any(s => Glob.Matches(severity.AsString(), s)))
            {
                throw severity.Error($"'{severity.AsString()}' matches no severity (info, warning, critical)");
            }

            var levels = new List<EscalationLevel>();
            var previous = TimeSpan.MinValue;
            foreach (var l in r.Required("escalation").Items())
            {
                l.AllowOnly("after", "contacts");
                var after = l.Optional("after")?.AsDuration() ?? TimeSpan.Zero;
                if (after <= previous)
                {
                    throw (l.Optional("after") ?? l).Error(levels.Count == 0 ? "after cannot be negative" : "each level must come later than the one before it");
                }

                previous = after;
                var members = new List<Contact>();
                foreach (var m in l.Required("contacts").Items())
                {
                    var who = m.AsString();
                    members.Add(contacts.TryGetValue(who, out var contact)
                        ? contact
                        : throw m.Error($"unknown contact '{who}' (known: {string.Join(", ", contacts.Keys)})"));
                }

                if (members.Count == 0)
                {
                    throw l.Required("contacts").Error("a level needs at least one contact");
                }

                levels.Add(new EscalationLevel(after, members));
            }

            if (levels.Count == 0)
            {
                throw r.Required("escalation").Error("a route needs at least one level");
            }

            if (levels[0].After != TimeSpan.Zero)
            {
                throw r.Required("escalation").Error("the first level is told when the alert is raised; it takes no 'after'");
            }

            var action = DefaultAction;
            if (r.Optional("action") is { } a)
            {
                a.AllowOnly("en", "vi");
                action = new LocalizedText(a.String("en"), a.String("vi"));
            }

            routes.Add(new Route(
                r.Optional("pilot")?.AsString(), r.Optional("site")?.AsString(), severity?.AsString(), r.Optional("rule")?.AsString(),
                levels, r.Optional("remind") is { } remind ? Positive(remind) : null, action, $"{r.File}:{r.Line}"));
        }

        return new NotificationConfig([.. contacts.Values], routes, zone, flap, telegram, email, sms);
    }

    private static string Address(string channel, ConfigNode node)
    {
        var text = node.AsString().Trim();
        var ok = channel switch
        {
            Channels.Telegram => TelegramChatPattern().IsMatch(text),
            Channels.Sms => PhonePattern().IsMatch(text),
            Channels.Email => EmailPattern().IsMatch(text),
            _ => Uri.TryCreate(text, UriKind.Absolute, out var u) && u.Scheme is "http" or "https",
        };
        return ok ? text : throw node.Error(channel switch
        {
            Channels.Telegram => $"'{text}' is not a Telegram chat id (a number, or @channelname)",
            Channels.Sms => $"'{text}' is not a phone number such as +84901234567",
            Channels.Email => $"'{text}' is not an e-mail address",
            _ => $"'{text}' is not an http(s) URL",
        });
    }

    private static Uri Url(ConfigNode? node, string? fallback)
    {
        var text = node?.AsString() ?? fallback!;
        // The SMS template's URL holds placeholders; judge it with them filled in.
        var probe = text.Replace("{phone}", "0", StringComparison.Ordinal).Replace("{text}", "x", StringComparison.Ordinal);
        return Uri.TryCreate(probe, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? new Uri(text.Contains('{', StringComparison.Ordinal) ? probe : text)
            : throw node!.Error($"'{text}' is not an http(s) URL");
    }

    private static TimeSpan Positive(ConfigNode node)
    {
        var value = node.AsDuration();
        return value > TimeSpan.Zero ? value : throw node.Error("must be longer than 0");
    }

    [GeneratedRegex(@"^[+-]\d\d:\d\d$")]
    private static partial Regex OffsetPattern();

    [GeneratedRegex(@"^(\d\d:\d\d)\s*-\s*(\d\d:\d\d)$")]
    private static partial Regex QuietPattern();

    [GeneratedRegex(@"^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$")]
    private static partial Regex TelegramChatPattern();

    [GeneratedRegex(@"^\+?\d{6,15}$")]
    private static partial Regex PhonePattern();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailPattern();
}

/// <summary>Globs with <c>*</c> for any run of characters, as in the rules files.</summary>
public static class Glob
{
    public static bool Matches(string glob, string value) =>
        glob.Contains('*', StringComparison.Ordinal)
            ? Regex.IsMatch(value, "^" + Regex.Escape(glob).Replace("\\*", ".*", StringComparison.Ordinal) + "$", RegexOptions.CultureInvariant)
            : glob == value;

    public static bool MatchesOrAny(string? glob, string value) => glob is null || Matches(glob, value);
}
