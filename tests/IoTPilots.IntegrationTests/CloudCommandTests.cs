using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using IoTPilots.Cloud.Access;
using IoTPilots.IntegrationTests.Harness;

namespace IoTPilots.IntegrationTests;

/// <summary>
/// Issue 15's command path from the cloud's API to the tank's coil: the real cloud (keys from PILOTS_COMMAND_KEYS,
/// the registry from the gateway's inventory) and the real edge, on the real broker, against a simulated RAS tank.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class CloudCommandTests(Servers servers) : IAsyncLifetime
{
    private CommandRig _rig = null!;
    private string _gateway = null!;

    public async Task InitializeAsync()
    {
        _rig = await CommandRig.StartAsync(servers, "cmdapi-site", "gw-k", doMgL: 2.9);
        _gateway = _rig.Gateway;
    }

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    private HttpClient Client(Role role, string sites = "*") => _rig.Client(role, sites);

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, object body) => http.PostAsJsonAsync(new Uri("/api/commands", UriKind.Relative), body);

    [Fact]
    public async Task An_operator_starts_the_backup_aerator_through_the_api_and_the_gateways_answer_is_recorded()
    {
        using var operatorClient = Client(Role.Operator);
        using var response = await PostAsync(operatorClient, new { gateway = _gateway, device = "tank-01", point = "backup_aerator_on", value = 1, minutes = 2 });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        using var issued = JsonDocument.Parse(body);
        Assert.Equal("sent", issued.RootElement.GetProperty("state").GetString());
        var id = issued.RootElement.GetProperty("id").GetString()!;

        // The gateway checked the signature, wrote the coil, read it back, and answered; the cloud recorded it.
        var answered = await Eventually.ValueAsync(
            async () =>
            {
                var text = await operatorClient.GetStringAsync(new Uri($"/api/commands/{id}", UriKind.Relative));
                return text.Contains("\"state\":\"done\"", StringComparison.Ordinal) ? text : null;
            },
            TimeSpan.FromSeconds(60),
            "the gateway's answer in the record");
        using var doc = JsonDocument.Parse(answered);
        var record = doc.RootElement;
        Assert.Equal(1.0, record.GetProperty("readBack").GetDouble());
        Assert.StartsWith("key:", record.GetProperty("issuedBy").GetString(), StringComparison.Ordinal);
        Assert.True(_rig.AeratorOn);
    }

    [Fact]
    public async Task A_viewer_cannot_command_another_sites_operator_finds_nothing_and_bad_requests_name_the_field()
    {
        using var viewer = Client(Role.Viewer);
        using (var forbidden = await PostAsync(viewer, new { gateway = _gateway, device = "tank-01", point = "backup_aerator_on", value = 1 }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }

        using var otherSite = Client(Role.Operator, "another-site");
        using (var hidden = await PostAsync(otherSite, new { gateway = _gateway, device = "tank-01", point = "backup_aerator_on", value = 1 }))
        {
            Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        }

        using var operatorClient = Client(Role.Operator);
        foreach (var (request, status, field) in new (object, HttpStatusCode, string)[]
        {
            (new { gateway = _gateway, device = "tank-01", point = "do_mg_l", value = 1 }, HttpStatusCode.BadRequest, "point: tank-01.do_mg_l is not declared writable"),
            (new { gateway = _gateway, device = "tank-01", point = "backup_aerator_on", value = 3 }, HttpStatusCode.BadRequest, "value: 3 is outside 0..1"),
            (new { gateway = _gateway, device = "tank-09", point = "backup_aerator_on", value = 1 }, HttpStatusCode.NotFound, "device: tank-09"),
            (new { gateway = _gateway, device = "tank-01", point = "backup_aerator_on" }, HttpStatusCode.BadRequest, "value: a number is required"),
        })
        {
            using var response = await PostAsync(operatorClient, request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"{status} expected: {body}");
            Assert.Contains(field, body, StringComparison.Ordinal);
        }

        Assert.False(_rig.AeratorOn);
        using var list = JsonDocument.Parse(await operatorClient.GetStringAsync(new Uri("/api/commands", UriKind.Relative)));
        Assert.Equal(0, list.RootElement.GetArrayLength());
    }
}
