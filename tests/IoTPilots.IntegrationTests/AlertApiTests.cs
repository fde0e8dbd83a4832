using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Alerts;
using IoTPilots.IntegrationTests.Harness;
using IoTPilots.Rules;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.IntegrationTests;

/// <summary>The alert API on a real Kestrel on a free loopback port, over a real SQLite file, called with an operator's API key. No MQTT or InfluxDB needed.</summary>
public sealed class AlertApiTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);
    private static readonly SeriesKey Tank03 = new("aquaculture", "haiphong-ras-1", "gw-aqua-01", "tank-03");
    private static readonly SeriesKey Crane2 = new("port", "haiphong-port-1", "gw-port-01", "crane-2");

    private readonly FakeTimeProvider _time = new(Start.AddMinutes(30));
    private readonly ErrorLog _log = new();
    private AlertHost _host = null!;
    private HttpClient _http = null!;
    private AlertStore _store = null!;

    public async Task InitializeAsync()
    {
        _host = await AlertHost.StartAsync(_time, _log);
        _http = _host.Client(Role.Operator, keyName: "ops");
        _store = _host.Store;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    private Alert Raise(string rule, SeriesKey series, Severity severity, double minutes, double value, LocalizedText? message = null)
    {
        var at = Start.AddMinutes(minutes);
        return _store.Apply(new AlertEvent(
            AlertTransition.Raised, rule, severity, series, rule.StartsWith("wind", StringComparison.Ordinal) ? "wind_m_s" : "do_mg_l", at, at.AddMinutes(-2), value, null,
            message ?? new LocalizedText($"{rule} on {series.Device}", $"{rule} ở {series.Device}")))!;
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> GetAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await ReadJsonAsync(response));
    }

    private async Task<(HttpStatusCode Status, JsonElement Json)> AckAsync(string id, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri($"/api/alerts/{id}/ack", UriKind.Relative), content);
        return (response.StatusCode, await ReadJsonAsync(response));
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    private static string IdOf(Alert alert) => alert.Id.ToString(CultureInfo.InvariantCulture);

    private static long[] Ids(JsonElement array) => array.EnumerateArray().Select(a => a.GetProperty("id").GetInt64()).ToArray();

    /// <summary>After bad input: the server still answers a good request, and nothing was logged as an error (no 500s).</summary>
    private async Task AssertStillServingAsync()
    {
        var (status, json) = await GetAsync("/api/alerts?state=all");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(JsonValueKind.Array, json.ValueKind);
        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task List_get_and_acknowledge_an_alert()
    {
        var oxygen = Raise("do-low", Tank03, Severity.Critical, 0, 2.8, new LocalizedText("Dissolved oxygen low in tank 03", "Oxy hòa tan thấp ở bể 03"));
        var wind = Raise("wind-high", Crane2, Severity.Warning, 5, 21.5);

        var (listStatus, list) = await GetAsync("/api/alerts");
        Assert.Equal(HttpStatusCode.OK, listStatus);
        Assert.Equal([wind.Id, oxygen.Id], Ids(list));

        var (getStatus, alert) = await GetAsync($"/api/alerts/{oxygen.Id}");
        Assert.Equal(HttpStatusCode.OK, getStatus);
        Assert.Equal(oxygen.Id, alert.GetProperty("id").GetInt64());
        Assert.Equal("do-low", alert.GetProperty("ruleId").GetString());
        Assert.Equal("critical", alert.GetProperty("severity").GetString());
        Assert.Equal("aquaculture", alert.GetProperty("pilot").GetString());
        Assert.Equal("haiphong-ras-1", alert.GetProperty("site").GetString());
        Assert.Equal("gw-aqua-01", alert.GetProperty("gateway").GetString());
        Assert.Equal("tank-03", alert.GetProperty("device").GetString());
        Assert.Equal("do_mg_l", alert.GetProperty("field").GetString());
        Assert.Equal("2026-11-23T07:58:00Z", alert.GetProperty("since").GetString());
        Assert.Equal("2026-11-23T08:00:00Z", alert.GetProperty("raisedAt").GetString());
        Assert.Equal("2026-11-23T08:00:00Z", alert.GetProperty("updatedAt").GetString());
        Assert.Equal(2.8, alert.GetProperty("raisedValue").GetDouble());
        Assert.Equal(2.8, alert.GetProperty("lastValue").GetDouble());
        Assert.Equal(2.8, alert.GetProperty("worstValue").GetDouble());
        Assert.Equal(JsonValueKind.Null, alert.GetProperty("acknowledgedAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, alert.GetProperty("acknowledgedBy").ValueKind);
        Assert.Equal(JsonValueKind.Null, alert.GetProperty("note").ValueKind);
        Assert.Equal(JsonValueKind.Null, alert.GetProperty("resolvedAt").ValueKind);
        Assert.Equal("open", alert.GetProperty("state").GetString());
        Assert.Equal("Dissolved oxygen low in tank 03", alert.GetProperty("message").GetProperty("en").GetString());
        Assert.Equal("Oxy hòa tan thấp ở bể 03", alert.GetProperty("message").GetProperty("vi").GetString());

        var (ackStatus, acked) = await AckAsync(IdOf(oxygen), """{"note":"đã khởi động lại máy sục khí"}""");
        Assert.Equal(HttpStatusCode.OK, ackStatus);
        Assert.Equal("acknowledged", acked.GetProperty("state").GetString());
        Assert.Equal("key:ops", acked.GetProperty("acknowledgedBy").GetString());
        Assert.Equal("api", acked.GetProperty("acknowledgedVia").GetString());
        Assert.Equal("đã khởi động lại máy sục khí", acked.GetProperty("note").GetString());
        Assert.Equal("2026-11-23T08:30:00Z", acked.GetProperty("acknowledgedAt").GetString());

        Assert.Equal([oxygen.Id], Ids((await GetAsync("/api/alerts?state=acknowledged")).Json));
        Assert.Equal([wind.Id], Ids((await GetAsync("/api/alerts?state=open")).Json));
        Assert.Equal("key:ops", _store.Get(oxygen.Id)!.AcknowledgedBy);
        Assert.Empty(_log.Errors);
    }

    [Fact]
    public async Task The_query_parameters_filter_the_list()
    {
        var tank03 = Raise("do-low", Tank03, Severity.Critical, 0, 2.8);
        var tank04 = Raise("do-low", Tank03 with { Device = "tank-04" }, Severity.Warning, 10, 3.1);
        var crane = Raise("wind-high", Crane2, Severity.Warning, 20, 21.5);
        _store.Apply(new AlertEvent(AlertTransition.Resolved, "wind-high", Severity.Warning, Crane2, "wind_m_s", Start.AddMinutes(25), Start.AddMinutes(18), 12, null, crane.Message));

        async Task<long[]> ListAsync(string query)
        {
            var (status, json) = await GetAsync("/api/alerts" + query);
            Assert.Equal(HttpStatusCode.OK, status);
            return Ids(json);
        }

        Assert.Equal([tank04.Id, tank03.Id], await ListAsync(""));
        Assert.Equal([crane.Id, tank04.Id, tank03.Id], await ListAsync("?state=all"));
        Assert.Equal([crane.Id], await ListAsync("?state=resolved"));
        Assert.Equal([crane.Id], await ListAsync("?state=all&pilot=port"));
        Assert.Equal([tank03.Id], await ListAsync("?site=haiphong-ras-1&device=tank-03"));
        Assert.Equal([tank04.Id], await ListAsync("?severity=warning"));
        Assert.Equal([crane.Id, tank04.Id], await ListAsync("?state=all&since=2026-11-23T08:10:00Z"));
        Assert.Equal([crane.Id, tank04.Id], await ListAsync("?state=all&since=2026-11-23T15:10%2B07:00"));
        Assert.Equal([crane.Id], await ListAsync("?state=all&limit=1"));
        Assert.Equal([tank04.Id, tank03.Id], await ListAsync("?pilot=&severity="));
        Assert.Empty(_log.Errors);
    }

    [Theory]
    [InlineData("state=closed", "state: 'closed' is not one of open, acknowledged, resolved, active, all")]
    [InlineData("severity=1", "severity: '1' is not one of info, warning, critical")]
    [InlineData("severity=urgent", "severity: 'urgent' is not one of info, warning, critical")]
    [InlineData("since=yesterday", "since: 'yesterday' is not an ISO-8601 time")]
    [InlineData("since=2026-13-01", "since: '2026-13-01' is not an ISO-8601 time")]
    [InlineData("limit=0", "limit: '0' is not a whole number from 1 to 1000")]
    [InlineData("limit=1001", "limit: '1001' is not a whole number from 1 to 1000")]
    [InlineData("limit=-5", "limit: '-5' is not a whole number")]
    [InlineData("limit=ten", "limit: 'ten' is not a whole number")]
    [InlineData("limit=99999999999", "limit: '99999999999' is not a whole number")]
    [InlineData("state=open&state=all", "state: given 2 times")]
    public async Task A_bad_query_parameter_is_a_400_naming_it(string query, string error)
    {
        Raise("do-low", Tank03, Severity.Critical, 0, 2.8);

        var (status, json) = await GetAsync("/api/alerts?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(error, json.GetProperty("error").GetString(), StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task An_unknown_or_malformed_id_is_a_404_or_a_400_naming_it()
    {
        var (missing, missingJson) = await GetAsync("/api/alerts/42");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("alert 42 does not exist", missingJson.GetProperty("error").GetString());

        foreach (var id in new[] { "abc", "-1", "1.5", "99999999999999999999" })
        {
            var (status, json) = await GetAsync($"/api/alerts/{id}");
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.StartsWith($"id: '{id}' is not an alert id", json.GetProperty("error").GetString(), StringComparison.Ordinal);

            var (ackStatus, ackJson) = await AckAsync(id, "{}");
            Assert.Equal(HttpStatusCode.BadRequest, ackStatus);
            Assert.StartsWith("id: ", ackJson.GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("{\"note\":", "body: not valid JSON")]
    [InlineData("note=restarted", "body: not valid JSON")]
    [InlineData("[\"Nguyen Van A\"]", "body: a JSON array")]
    [InlineData("\"Nguyen Van A\"", "body: a JSON string")]
    [InlineData("{\"by\":\"Nguyen Van A\"}", "by: not accepted")]
    [InlineData("{\"by\":null,\"note\":\"aerator restarted\"}", "by: not accepted")]
    [InlineData("{\"note\":7}", "note: must be a string")]
    public async Task A_bad_acknowledgement_is_a_400_naming_the_field_and_changes_nothing(string body, string error)
    {
        var alert = Raise("do-low", Tank03, Severity.Critical, 0, 2.8);

        var (status, json) = await AckAsync(IdOf(alert), body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(error, json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Null(_store.Get(alert.Id)!.AcknowledgedAt);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task A_note_over_its_length_is_a_400_naming_the_field_and_the_limit_itself_is_accepted()
    {
        var alert = Raise("do-low", Tank03, Severity.Critical, 0, 2.8);
        var id = IdOf(alert);

        var (longNote, longNoteJson) = await AckAsync(id, JsonSerializer.Serialize(new { note = new string('n', 501) }));
        Assert.Equal(HttpStatusCode.BadRequest, longNote);
        Assert.StartsWith("note: at most 500 characters", longNoteJson.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Null(_store.Get(alert.Id)!.AcknowledgedAt);

        var (ok, acked) = await AckAsync(id, JsonSerializer.Serialize(new { note = new string('n', 500) }));
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(500, acked.GetProperty("note").GetString()!.Length);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task An_oversized_body_is_refused_without_reading_it_all()
    {
        var alert = Raise("do-low", Tank03, Severity.Critical, 0, 2.8);

        var (status, json) = await AckAsync(IdOf(alert), JsonSerializer.Serialize(new { note = new string('n', 100_000) }));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.StartsWith("body: larger than", json.GetProperty("error").GetString(), StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Acknowledging_an_unknown_alert_is_a_404_and_twice_is_a_409_saying_by_whom()
    {
        var (missing, missingJson) = await AckAsync("42", "");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("alert 42 does not exist", missingJson.GetProperty("error").GetString());

        var alert = Raise("do-low", Tank03, Severity.Critical, 0, 2.8);
        var id = IdOf(alert);
        Assert.Equal(HttpStatusCode.OK, (await AckAsync(id, "")).Status);

        using var other = _host.Client(Role.Operator, keyName: "control-room");
        using var content = new StringContent("""{"note":"me too"}""", Encoding.UTF8, "application/json");
        using var again = await other.PostAsync(new Uri($"/api/alerts/{id}/ack", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("already acknowledged by key:ops at 2026-11-23T08:30:00Z", (await ReadJsonAsync(again)).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("key:ops", _store.Get(alert.Id)!.AcknowledgedBy);
        await AssertStillServingAsync();
    }
}
