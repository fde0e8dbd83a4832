using System.Net;
using IoTPilots.Cloud.Influx;

namespace IoTPilots.UnitTests;

public class InfluxWriterTests
{
    private sealed class Reply(HttpStatusCode status, Action<HttpResponseMessage>? shape = null) : HttpMessageHandler
    {
        public HttpRequestMessage? Request { get; private set; }

        public byte[]? Body { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Request = request;
            Body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            var response = new HttpResponseMessage(status) { Content = new StringContent("{\"error\":\"busy\"}") };
            shape?.Invoke(response);
            return response;
        }
    }

    private static InfluxWriter Writer(HttpMessageHandler handler, Func<string, string?>? env = null) =>
        new(new HttpClient(handler), InfluxEndpoint.FromEnvironment(env ?? (_ => null)));

    [Theory]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    public async Task Throttling_is_retryable_and_carries_retry_after(HttpStatusCode status)
    {
        var handler = new Reply(status, r => r.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7)));
        var ex = await Assert.ThrowsAsync<InfluxUnavailableException>(() => Writer(handler).WriteAsync(["m f=1 1"], default));
        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
    }

    [Fact]
    public async Task Bad_request_is_a_rejection_that_is_not_retried()
    {
        await Assert.ThrowsAsync<InfluxRejectedException>(() => Writer(new Reply(HttpStatusCode.BadRequest)).WriteAsync(["m f=1 1"], default));
    }

    [Fact]
    public async Task V2_api_uses_token_auth_bucket_and_gzip()
    {
        var handler = new Reply(HttpStatusCode.NoContent);
        var writer = Writer(handler, n => n switch { "PILOTS_INFLUX_API" => "v2", "PILOTS_INFLUX_TOKEN" => "tok", "PILOTS_INFLUX_ORG" => "hp", "PILOTS_INFLUX_DB" => "pilots", _ => null });

        await writer.WriteAsync(["m f=1 1"], default);

        Assert.Equal("/api/v2/write?bucket=pilots&org=hp&precision=ms", handler.Request!.RequestUri!.PathAndQuery);
        Assert.Equal("Token tok", handler.Request.Headers.Authorization!.ToString());
        Assert.Equal("gzip", Assert.Single(handler.Request.Content!.Headers.ContentEncoding));
        using var gz = new System.IO.Compression.GZipStream(new MemoryStream(handler.Body!), System.IO.Compression.CompressionMode.Decompress);
        Assert.Equal("m f=1 1\n", new StreamReader(gz).ReadToEnd());
    }

    [Fact]
    public async Task V1_api_uses_basic_auth_from_the_url()
    {
        var handler = new Reply(HttpStatusCode.NoContent);
        await Writer(handler, n => n == "PILOTS_INFLUX_URL" ? "http://writer:pw@127.0.0.1:8086" : null).WriteAsync(["m f=1 1"], default);
        Assert.Equal("/write?db=pilots&precision=ms", handler.Request!.RequestUri!.PathAndQuery);
        Assert.Equal("Basic", handler.Request.Headers.Authorization!.Scheme);
    }
}
