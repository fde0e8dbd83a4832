using System.Net;
using System.Text;
using IoTPilots.Cloud.Commands;

namespace IoTPilots.UnitTests.RemoteConfig;

/// <summary><c>./run gateways</c>: what it asks the cloud, what it prints, and its exit codes for bad input and refusals.</summary>
public sealed class GatewaysCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pilots-gwcmd-").FullName;
    private readonly StringWriter _out = new();
    private readonly StringWriter _err = new();
    private readonly Recorder _cloud = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<int> RunAsync(string? key, params string[] args) =>
        GatewaysCommand.RunAsync(args, name => name == "PILOTS_API_KEY" ? key : null, _out, _err, _cloud);

    [Fact]
    public async Task List_shows_each_gateways_running_version_and_last_push()
    {
        _cloud.Answer = (HttpStatusCode.OK, """
            [{"site":"ras-1","gateway":"gw-aqua-01","state":"online","statusAt":null,
              "inventory":{"version":4,"sha256":"ab","state":"rolled-back","highest":5,"detail":"no device"},
              "lastPush":{"id":"p5","version":5,"issuedBy":"admin","state":"rolled-back","reason":"devices-unreachable"}},
             {"site":"ras-1","gateway":"gw-aqua-02","state":"unknown","statusAt":null,"inventory":null,"lastPush":null}]
            """);

        Assert.Equal(0, await RunAsync("k1", "list"));

        Assert.Equal((HttpMethod.Get, "http://127.0.0.1:5080/api/gateways", "Bearer k1"), (_cloud.Method, _cloud.Uri, _cloud.Authorization));
        var lines = _out.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^ras-1\s+gw-aqua-01\s+online\s+4 rolled-back\s+v5 rolled-back devices-unreachable by admin", lines[1]);
        Assert.Matches(@"^ras-1\s+gw-aqua-02\s+unknown\s+- -", lines[2]);
    }

    [Fact]
    public async Task Push_posts_the_files_text_and_prints_the_version()
    {
        var file = Path.Combine(_dir, "gw.yaml");
        await File.WriteAllTextAsync(file, "gateway: gw-aqua-01\n");
        _cloud.Answer = (HttpStatusCode.Accepted, """{"id":"p6","version":6,"state":"sent"}""");

        Assert.Equal(0, await RunAsync("k1", "push", "gw-aqua-01", file, "--hours", "48", "--url", "http://cloud.example:8080/"));

        Assert.Equal((HttpMethod.Post, "http://cloud.example:8080/api/gateways/gw-aqua-01/inventory?hours=48", "gateway: gw-aqua-01\n"), (_cloud.Method, _cloud.Uri, _cloud.Body));
        Assert.Contains("gw-aqua-01: version 6 sent", _out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_arguments_exit_2_naming_them_and_a_refusal_exits_1_with_the_clouds_error()
    {
        Assert.Equal(2, await RunAsync(null, "list"));
        Assert.Contains("PILOTS_API_KEY", _err.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, await RunAsync("k1", "push", "gw-aqua-01", "f.yaml", "--hours", "200"));
        Assert.Contains("--hours", _err.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, await RunAsync("k1", "list", "--url", "ftp://x"));
        Assert.Equal(2, await RunAsync("k1", "push", "gw-aqua-01", Path.Combine(_dir, "absent.yaml")));
        Assert.Equal(2, await RunAsync("k1", "frobnicate"));
        Assert.Null(_cloud.Uri);

        var file = Path.Combine(_dir, "gw.yaml");
        await File.WriteAllTextAsync(file, "gateway: gw-aqua-01\n");
        _cloud.Answer = (HttpStatusCode.BadRequest, """{"error":"inventory: gw-aqua-01.yaml:7:14: address: not host:port"}""");
        Assert.Equal(1, await RunAsync("k1", "push", "gw-aqua-01", file));
        Assert.Contains("400 Bad Request: inventory: gw-aqua-01.yaml:7:14: address", _err.ToString(), StringComparison.Ordinal);
    }

    private sealed class Recorder : HttpMessageHandler
    {
        public (HttpStatusCode Status, string Body) Answer { get; set; } = (HttpStatusCode.OK, "[]");

        public HttpMethod? Method { get; private set; }

        public string? Uri { get; private set; }

        public string? Authorization { get; private set; }

        public string? Body { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            (Method, Uri, Authorization) = (request.Method, request.RequestUri!.ToString(), request.Headers.Authorization?.ToString());
            Body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(Answer.Status) { Content = new StringContent(Answer.Body, Encoding.UTF8, "application/json") };
        }
    }
}
