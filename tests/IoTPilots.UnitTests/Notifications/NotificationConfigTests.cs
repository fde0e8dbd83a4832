using IoTPilots.Cloud.Notifications;
using IoTPilots.Config;

namespace IoTPilots.UnitTests.Notifications;

public sealed class NotificationConfigTests
{
    internal const string Farm = """
        timezone: "+07:00"
        flapping: { count: 3, within: 30m }
        channels:
          telegram: { base_url: "http://127.0.0.1:9/", token_env: PILOTS_TELEGRAM_TOKEN }
          email: { host: 127.0.0.1, port: 2525, from: "alerts@pilots.local" }
          sms:
            method: POST
            url: "http://127.0.0.1:9/send"
            headers: ["Authorization: Bearer ${PILOTS_SMS_KEY}"]
            body: '{"to":"{phone}","text":"{text}"}'
        contacts:
          - { name: Nguyen Van A, language: vi, telegram: "1001", sms: "+84901234567", quiet: "22:00-06:00", sites: ["haiphong-ras-*"] }
          - { name: Tran Thi B, language: vi, email: "b@farm.vn" }
          - { name: Plant Engineer, language: en, webhook: "http://127.0.0.1:9/hook", sites: ["haiphong-steel-*"] }
        routes:
          - pilot: aquaculture
            severity: "*"
            rule: "do-*"
            remind: 15m
            action: { en: "Start the backup aerator", vi: "Bật máy sục khí dự phòng" }
            escalation:
              - contacts: [Nguyen Van A]
              - { after: 10m, contacts: [Tran Thi B] }
        """;

    [Fact]
    public void The_farm_file_loads_with_its_contacts_routes_and_channels()
    {
        var config = NotificationConfig.Parse(Farm, "notify.yaml");

        Assert.Equal(3, config.Contacts.Count);
        var a = config.Contacts[0];
        Assert.Equal("vi", a.Language);
        Assert.Equal("+84901234567", a.Addresses[Channels.Sms]);
        Assert.True(a.Quiet!.Contains(new TimeOnly(23, 0)));
        Assert.True(a.Quiet.Contains(new TimeOnly(5, 59)));
        Assert.False(a.Quiet.Contains(new TimeOnly(6, 0)));
        Assert.True(a.MayHearAbout("haiphong-ras-1"));
        Assert.False(a.MayHearAbout("haiphong-steel-1"));
        var route = Assert.Single(config.Routes);
        Assert.Equal(TimeSpan.FromMinutes(10), route.Levels[1].After);
        Assert.Equal("Tran Thi B", route.Levels[1].Contacts.Single().Name);
        Assert.Equal(TimeSpan.FromMinutes(15), route.Remind);
        Assert.Equal(TimeSpan.FromHours(7), config.TimeZone);
        Assert.Equal("Authorization", config.Sms!.Headers.Keys.Single());
        Assert.Equal(2525, config.Email!.Port);
    }

    [Theory]
    [InlineData("routes:\n  - escalation:\n      - contacts: [Nobody]\n", 3, "routes[0].escalation[0].contacts[0]", "unknown contact 'Nobody'")]
    [InlineData("contacts:\n  - { name: A, language: fr, sms: \"+84901234567\" }\n", 2, "contacts[0].language", "unknown language 'fr'")]
    [InlineData("contacts:\n  - { name: A, language: vi, sms: \"call me\" }\n", 2, "contacts[0].sms", "not a phone number")]
    [InlineData("contacts:\n  - { name: A, language: vi }\n", 2, "contacts[0]", "has no channel")]
    [InlineData("contacts:\n  - { name: A, language: vi, email: a@b.vn, quiet: \"25:00-06:00\" }\n", 2, "contacts[0].quiet", "not a time window")]
    [InlineData("contacts:\n  - { name: A, language: vi, email: a@b.vn }\nroutes:\n  - severity: urgent\n    escalation:\n      - contacts: [A]\n", 4, "routes[0].severity", "matches no severity")]
    [InlineData("contacts:\n  - { name: A, language: vi, email: a@b.vn }\nroutes:\n  - escalation:\n      - { after: 5m, contacts: [A] }\n", 5, "routes[0].escalation", "first level")]
    [InlineData("contacts:\n  - { name: A, language: vi, email: a@b.vn }\nroutes:\n  - escalation:\n      - contacts: [A]\n      - { after: 0s, contacts: [A] }\n", 6, "routes[0].escalation[1].after", "later than the one before")]
    [InlineData("channels:\n  sms: { url: \"http://gw/send\" }\n", 2, "channels.sms", "{text}")]
    [InlineData("timezone: Asia/Ho_Chi_Minh\n", 1, "timezone", "UTC offset")]
    [InlineData("contact: []\n", 1, "contact", "unknown field")]
    public void A_mistake_names_file_line_and_field(string yaml, long line, string field, string problem)
    {
        var ex = Assert.Throws<ConfigException>(() => NotificationConfig.Parse(yaml, "notify.yaml"));

        Assert.Equal("notify.yaml", ex.File);
        Assert.Equal(line, ex.Line);
        Assert.Equal(field, ex.Field);
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var ex = Assert.Throws<ConfigException>(() => NotificationConfig.Load("/nonexistent/notify.yaml"));
        Assert.Equal("/nonexistent/notify.yaml", ex.File);
    }
}

public sealed class NotificationOptionsTests
{
    [Theory]
    [InlineData("PILOTS_WEBHOOK_URL", "ftp://example.vn/hook")]
    [InlineData("PILOTS_PUBLIC_URL", "pilots.example.vn")]
    [InlineData("PILOTS_LINK_SECRET", "short")]
    public void A_bad_setting_names_its_variable(string name, string value)
    {
        var ex = Assert.Throws<FormatException>(() => NotificationOptions.FromEnvironment(n => n == name ? value : null));
        Assert.StartsWith(name + ":", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nothing_set_means_no_webhook_no_links_and_no_file()
    {
        Assert.Equal(new NotificationOptions(null, null, null, null, null), NotificationOptions.FromEnvironment(_ => null));
    }
}
