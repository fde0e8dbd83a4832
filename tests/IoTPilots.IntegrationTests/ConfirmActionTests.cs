using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using IoTPilots.Cloud.Access;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Issue 15's <c>mode: confirm</c> end to end: the real cloud raises a confirm rule's alert on the real edge's readings
/// of a simulated RAS tank, sends nothing by itself, puts a signed one-tap link in the notification (the integrator
/// webhook here, in both languages), and an operator's tap on that link sends the signed command, which the gateway
/// checks, writes to the tank's coil and answers; a viewer's tap sends nothing.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed partial class ConfirmActionTests(Servers servers) : IAsyncLifetime
{
    private const string Site = "confirm-site";
    private HttpReceiver _webhook = null!;
    private CommandRig _rig = null!;

    public async Task InitializeAsync()
    {
        _webhook = await HttpReceiver.StartAsync();
        _rig = await CommandRig.StartAsync(servers, Site, "gw-c", doMgL: 2.9, rig =>
        {
            var rules = Path.Combine(rig.Dir, "rules.yaml");
            File.WriteAllText(rules, """
                rules:
                  - id: do-low-confirm
                    kind: threshold
                    pilot: aquaculture
                    field: do_mg_l
                    below: 3
                    severity: critical
                    source: "test: issue 15, mode confirm"
                    action: { point: backup_aerator_on, value: 1, mode: confirm }
                """);
            return new()
            {
                ["PILOTS_RULES"] = rules,
                ["PILOTS_WEBHOOK_URL"] = _webhook.Address.ToString(),
                ["PILOTS_PUBLIC_URL"] = rig.Address.ToString(),
                ["PILOTS_LINK_SECRET"] = "confirm-link-secret-for-tests",
            };
        });
    }

    public async Task DisposeAsync()
    {
        await _rig.DisposeAsync();
        await _webhook.DisposeAsync();
    }

    private async Task<(HttpClient Http, string Name)> SessionAsync(Role role)
    {
        var name = $"{RoleText.Of(role)}-lan";
        var password = AccountInput.GeneratePassword();
        using (var users = UserStore.Open(_rig.UsersDb, TimeProvider.System))
        {
            users.AddUser(name, role, SiteScope.Parse(Site, "sites"), password);
        }

        var (http, _) = await AlertHost.SessionClientAsync(_rig.Address, name, password);
        return (http, name);
    }

    [Fact]
    public async Task The_alert_offers_the_action_in_both_languages_and_an_operators_tap_starts_the_backup_aerator_once_while_a_viewers_does_nothing()
    {
        // The raise sends nothing by itself; its notification carries the one-tap link, in Vietnamese and English.
        var raised = await Eventually.ValueAsync(
            () => Task.FromResult(_webhook.Requests.Select(r => r.Text).FirstOrDefault(t => t.Contains("\"state\":\"raised\"", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(60),
            $"the raised alert's webhook (cloud log: {_rig.Cloud.Log})");
        using var payload = JsonDocument.Parse(raised);
        var alertId = payload.RootElement.GetProperty("alert_id").GetInt64();
        var vi = payload.RootElement.GetProperty("text_vi").GetString()!;
        var en = payload.RootElement.GetProperty("text_en").GetString()!;
        Assert.Contains("👉 Bật máy sục khí dự phòng (tank-01): ", vi, StringComparison.Ordinal);
        Assert.Contains("👉 Start the backup aerator (tank-01): ", en, StringComparison.Ordinal);
        var link = new Uri(LinkPattern().Match(vi).Value);
        Assert.Equal(_rig.Address.Authority, link.Authority);
        Assert.False(_rig.AeratorOn);

        // A viewer of the site sees why not, and a viewer's key pressing the button sends nothing.
        var (viewer, _) = await SessionAsync(Role.Viewer);
        using (viewer)
        using (var page = await viewer.GetAsync(link))
        {
            Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        }

        using (var viewerKey = _rig.Client(Role.Viewer, Site))
        using (var pressed = await viewerKey.PostAsync(link, null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, pressed.StatusCode);
        }

        // The operator opens the page (a preview would too: nothing happens) and taps its one button.
        var (operatorSession, operatorName) = await SessionAsync(Role.Operator);
        using var http = operatorSession;
        string form;
        using (var page = await http.GetAsync(link))
        {
            form = await page.Content.ReadAsStringAsync();
            Assert.True(page.StatusCode == HttpStatusCode.OK, form);
        }

        Assert.Contains("Bật máy sục khí dự phòng (tank-01) / Start the backup aerator (tank-01)</button>", WebUtility.HtmlDecode(form), StringComparison.Ordinal);
        var csrf = new FormUrlEncodedContent(new Dictionary<string, string> { [AccessSetup.AntiforgeryField] = AlertHost.HiddenValue(form, AccessSetup.AntiforgeryField) });
        string tapped;
        using (var tap = await http.PostAsync(link, csrf))
        {
            tapped = await tap.Content.ReadAsStringAsync();
            // Done within the page's wait as a rule; "sent, waiting" (202) on a slow box, and the record below tells.
            Assert.True(tap.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted, tapped);
        }

        // The gateway checked the signature, wrote the coil, read it back and answered; the record names the operator and the alert.
        using var operatorKey = _rig.Client(Role.Operator, Site);
        var done = await Eventually.ValueAsync(
            async () =>
            {
                using var list = JsonDocument.Parse(await operatorKey.GetStringAsync(new Uri("/api/commands", UriKind.Relative)));
                return list.RootElement.EnumerateArray().FirstOrDefault(r => r.GetProperty("state").GetString() == "done") is { ValueKind: JsonValueKind.Object } r ? r.GetRawText() : null;
            },
            TimeSpan.FromSeconds(60),
            $"the gateway's answer in the record (tap page: {tapped})");
        using var answered = JsonDocument.Parse(done);
        var record = answered.RootElement;
        Assert.Equal(operatorName, record.GetProperty("issuedBy").GetString());
        Assert.Equal(alertId, record.GetProperty("alertId").GetInt64());
        Assert.Equal("backup_aerator_on", record.GetProperty("point").GetString());
        Assert.True(_rig.AeratorOn);

        // The link works once: tapping it again says who did it, and sends nothing more.
        using (var again = await http.PostAsync(link, csrf))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
            Assert.Contains(operatorName, await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var all = JsonDocument.Parse(await operatorKey.GetStringAsync(new Uri("/api/commands", UriKind.Relative)));
        // And the raise itself sent nothing: the operator's is the only command there is.
        Assert.Equal(operatorName, Assert.Single(all.RootElement.EnumerateArray()).GetProperty("issuedBy").GetString());
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/c/\S+")]
    private static partial Regex LinkPattern();
}
