using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using IoTPilots.Cloud.Influx;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace IoTPilots.UnitTests;

/// <summary>
/// The ingestion's writer against a fake InfluxDB that answers as influxd 1.6.7 does (its answers were taken from a
/// real one: see <see cref="InfluxRefusal"/>): a body over max-body-size is a 413; unparsable lines and field type
/// conflicts are a 400 partial write naming them, the other lines stored; two types of one new field in one request
/// are a 400 that names nothing and stores nothing.
/// </summary>
public class StoringPointWriterTests
{
    private const string Telemetry = "telemetry,device=d,gateway=gw-{0},pilot=port,site=s wind_m_s={1} {2}";

    private sealed class FakeInflux : HttpMessageHandler
    {
        public int MaxBodyBytes { get; init; } = int.MaxValue;

        public string? RequestError { get; init; }

        public HashSet<string> MissingPolicies { get; } = [];

        /// <summary>Stored points by retention policy ("" the default) and series+time, as InfluxDB keys them.</summary>
        public Dictionary<string, Dictionary<string, string>> Stored { get; } = [];

        public Dictionary<(string Measurement, string Field), string> Schema { get; } = [];

        public int Requests { get; private set; }

        public int Status413 { get; private set; }

        public IEnumerable<string> Lines(string rp = "") => Stored.GetValueOrDefault(rp)?.Values ?? Enumerable.Empty<string>();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests++;
            var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            if (request.RequestUri!.AbsolutePath == "/query")
            {
                var q = System.Web.HttpUtility.ParseQueryString(Encoding.UTF8.GetString(body))["q"] ?? "";
                MissingPolicies.RemoveWhere(p => q.StartsWith($"CREATE RETENTION POLICY \"{p}\"", StringComparison.Ordinal));
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"results\":[{\"statement_id\":0}]}") };
            }

            if (System.Web.HttpUtility.ParseQueryString(request.RequestUri.Query)["rp"] is { } policy && MissingPolicies.Contains(policy))
            {
                return Reply(HttpStatusCode.BadRequest, $"retention policy not found: {policy}");
            }

            if (body.Length > MaxBodyBytes)
            {
                Status413++;
                return Reply(HttpStatusCode.RequestEntityTooLarge, "Request Entity Too Large");
            }

            if (RequestError is { } requestError)
            {
                return Reply(HttpStatusCode.BadRequest, requestError);
            }

            using var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
            var lines = new StreamReader(gzip).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var rp = System.Web.HttpUtility.ParseQueryString(request.RequestUri!.Query)["rp"] ?? "";
            var parseErrors = lines.Where(l => l.Contains("garbage", StringComparison.Ordinal)).Select(l => $"unable to parse '{l}': invalid field format").ToList();
            var points = lines.Where(l => !l.Contains("garbage", StringComparison.Ordinal)).ToList();

            // Two types of a field new to the schema within one request: influxd 1.6 refuses all of it.
            var fresh = points.SelectMany(l => LineParts.Fields(l).Select(f => (Key: (LineParts.Measurement(l), f.Key), f.Type)))
                .Where(f => !Schema.ContainsKey(f.Key)).GroupBy(f => f.Key).Where(g => g.Select(f => f.Type).Distinct().Count() > 1);
            if (fresh.Any())
            {
                return Reply(HttpStatusCode.BadRequest, "field type conflict");
            }

            string? conflict = null;
            var dropped = 0;
            foreach (var line in points)
            {
                var bad = LineParts.Fields(line).FirstOrDefault(f => Schema.TryGetValue((LineParts.Measurement(line), f.Key), out var t) && t != f.Type);
                if (bad.Key is not null)
                {
                    conflict ??= $"field type conflict: input field \"{bad.Key}\" on measurement \"{LineParts.Measurement(line)}\" is type {bad.Type}, already exists as type {Schema[(LineParts.Measurement(line), bad.Key)]}";
                    dropped++;
                    continue;
                }

                foreach (var f in LineParts.Fields(line))
                {
                    Schema[(LineParts.Measurement(line), f.Key)] = f.Type;
                }

                var store = Stored.TryGetValue(rp, out var s) ? s : Stored[rp] = [];
                store[LineParts.SeriesKey(line) + " " + line[(line.LastIndexOf(' ') + 1)..]] = line;
            }

            if (parseErrors.Count == 0 && conflict is null)
            {
                return new HttpResponseMessage(HttpStatusCode.NoContent);
            }

            // influxd 1.6 answers with the write's error first: a conflict hides the parse errors.
            var reason = conflict ?? string.Join("\n", parseErrors);
            return Reply(HttpStatusCode.BadRequest, $"partial write: {reason} dropped={dropped}");
        }

        private static HttpResponseMessage Reply(HttpStatusCode status, string error) =>
            new(status) { Content = new StringContent(JsonSerializer.Serialize(new { error }), Encoding.UTF8, "application/json") };
    }

    private static StoringPointWriter Writer(FakeInflux influx) =>
        new(new InfluxWriter(new HttpClient(influx), InfluxEndpoint.FromEnvironment(_ => null)), "w1", new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_795_420_800_000)), NullLogger<StoringPointWriter>.Instance);

    private static List<string> Batch(int count, int gateways = 10) =>
        Enumerable.Range(0, count).Select(i => string.Format(System.Globalization.CultureInfo.InvariantCulture, Telemetry, i % gateways, (i * 7.31 % 100).ToString("R", System.Globalization.CultureInfo.InvariantCulture), 1_795_420_000_000 + i)).ToList();

    private static List<string> Quarantined(FakeInflux influx) => influx.Lines().Where(l => l.StartsWith("quarantine,", StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task A_batch_refused_whole_as_too_large_is_split_until_every_line_is_stored()
    {
        var influx = new FakeInflux { MaxBodyBytes = 2_000 };
        var batch = Batch(2_000);

        await Writer(influx).WriteAsync(batch, default);

        Assert.True(influx.Status413 > 0);
        Assert.Equal(batch.Order(), influx.Lines().Order());
    }

    [Fact]
    public async Task A_single_line_over_the_limit_is_quarantined_and_the_rest_stored()
    {
        var influx = new FakeInflux { MaxBodyBytes = 400 };
        // Hex of random bytes: gzip cannot shrink it below the limit.
        var noise = new byte[2_500];
        new Random(9).NextBytes(noise);
        var huge = $"telemetry,device=x{Convert.ToHexString(noise)},gateway=gw-1,pilot=port,site=s wind_m_s=1 1795420000000";
        var batch = Batch(20).Append(huge).ToList();

        await Writer(influx).WriteAsync(batch, default);

        Assert.Equal(20, influx.Lines().Count(l => l.StartsWith("telemetry,", StringComparison.Ordinal)));
        var q = Assert.Single(Quarantined(influx));
        Assert.StartsWith("quarantine,reason=InfluxRefused topic=\"telemetry,device=x", q, StringComparison.Ordinal);
        Assert.Contains("HTTP 413", q, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unparsable_lines_named_by_influx_are_quarantined_without_their_content_and_the_rest_is_stored_once()
    {
        var influx = new FakeInflux();
        var batch = Batch(10);
        batch.Insert(4, "telemetry,device=d,gateway=gw-9,pilot=port,site=s wind_m_s=garbage-secret 1795420000000");

        var writer = Writer(influx);
        await writer.WriteAsync(batch, default);

        Assert.Equal(1, influx.Requests - 1);
        Assert.Equal(10, influx.Lines().Count(l => l.StartsWith("telemetry,", StringComparison.Ordinal)));
        var q = Assert.Single(Quarantined(influx));
        Assert.Contains("error=\"HTTP 400: unable to parse: invalid field format\"", q, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", q, StringComparison.Ordinal);
        Assert.Equal(1, writer.Refused);
    }

    [Fact]
    public async Task A_field_type_conflict_quarantines_only_the_conflicting_lines()
    {
        var influx = new FakeInflux();
        influx.Schema[("telemetry", "wind_m_s")] = "float";
        var batch = Batch(10);
        batch[3] = "telemetry,device=d,gateway=gw-3,pilot=port,site=s wind_m_s=\"high\" 1795420000003";
        batch[7] = "telemetry,device=d,gateway=gw-7,pilot=port,site=s wind_m_s=true 1795420000007";

        await Writer(influx).WriteAsync(batch, default);

        Assert.Equal(8, influx.Lines().Count(l => l.StartsWith("telemetry,", StringComparison.Ordinal)));
        var q = Quarantined(influx);
        Assert.Equal(2, q.Count);
        Assert.All(q, l => Assert.Contains("field type conflict: field wind_m_s of measurement telemetry already exists as type float", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unparsable_line_hidden_behind_a_type_conflict_is_found_too()
    {
        var influx = new FakeInflux();
        influx.Schema[("telemetry", "wind_m_s")] = "float";
        var batch = Batch(10);
        batch[2] = "telemetry,device=d,gateway=gw-2,pilot=port,site=s wind_m_s=\"high\" 1795420000002";
        batch[6] = "telemetry,device=d,gateway=gw-6,pilot=port,site=s wind_m_s=garbage 1795420000006";

        await Writer(influx).WriteAsync(batch, default);

        Assert.Equal(8, influx.Lines().Count(l => l.StartsWith("telemetry,", StringComparison.Ordinal)));
        var q = Quarantined(influx);
        Assert.Equal(2, q.Count);
        Assert.Contains(q, l => l.Contains("gateway=gw-2", StringComparison.Ordinal) && l.Contains("field type conflict", StringComparison.Ordinal));
        Assert.Contains(q, l => l.Contains("gateway=gw-6", StringComparison.Ordinal) && l.Contains("unable to parse", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_conflict_influx_does_not_name_is_isolated_by_splitting()
    {
        // A field new to the database gets two types in one request: influxd 1.6 stores nothing and names nothing.
        var influx = new FakeInflux();
        var batch = Batch(16);
        batch[11] = "telemetry,device=d,gateway=gw-1,pilot=port,site=s wind_m_s=\"gust\" 1795420000011";

        await Writer(influx).WriteAsync(batch, default);

        Assert.Equal(15, influx.Lines().Count(l => l.StartsWith("telemetry,", StringComparison.Ordinal)));
        Assert.Contains("gateway=gw-1", Assert.Single(Quarantined(influx)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_of_the_request_itself_quarantines_nothing_and_is_retried()
    {
        var influx = new FakeInflux { RequestError = "retention policy not found: autogen" };

        var ex = await Assert.ThrowsAsync<InfluxUnavailableException>(() => Writer(influx).WriteAsync(Batch(10), default));

        Assert.Contains("retention policy not found", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, influx.Requests);
        Assert.Empty(influx.Lines());
    }

    [Fact]
    public async Task Ledger_entries_become_range_points_in_the_ledger_retention_policy()
    {
        var influx = new FakeInflux();
        var batch = Batch(3);
        batch.AddRange([LineProtocol.Ledger("gw-1", "", 2, "telemetry"), LineProtocol.Ledger("gw-1", "", 1, "telemetry"), LineProtocol.Ledger("gw-1", "", 3, "telemetry")]);

        await Writer(influx).WriteAsync(batch, default);

        Assert.Equal(3, influx.Lines().Count());
        Assert.Equal(["delivery_ledger,gateway=gw-1,kind=telemetry,worker=w1 first_seq=1i,last_seq=3i,messages=3i 1795420800000"], influx.Lines(DeliveryLedger.RetentionPolicy));
    }

    [Fact]
    public async Task Gap_reports_go_to_the_state_policy_made_when_missing_and_telemetry_stays_in_the_default()
    {
        var influx = new FakeInflux { MissingPolicies = { DeliveryState.RetentionPolicy } };
        var gap = new Contract.GapReport("s", "gw-1", 7, 1, 5, 5, 15, DateTimeOffset.FromUnixTimeMilliseconds(1795420798000), DateTimeOffset.FromUnixTimeMilliseconds(1795420799000), "age limit");
        var batch = Batch(3);
        batch.AddRange([LineProtocol.Gap(gap), LineProtocol.Ledger("gw-1", "", 7, "gap")]);

        await Writer(influx).WriteAsync(batch, default);

        Assert.Equal(3, influx.Lines().Count());
        Assert.Equal([LineProtocol.Gap(gap)], influx.Lines(DeliveryState.RetentionPolicy));
        Assert.Single(influx.Lines(DeliveryLedger.RetentionPolicy));
        // A database made by someone else before the policy existed: the writer made it.
        Assert.Empty(influx.MissingPolicies);
    }

    [Fact]
    public async Task A_missing_ledger_retention_policy_is_created_and_the_ledger_written()
    {
        var influx = new FakeInflux { MissingPolicies = { DeliveryLedger.RetentionPolicy } };
        var batch = Batch(3);
        batch.Add(LineProtocol.Ledger("gw-1", "", 1, "telemetry"));

        await Writer(influx).WriteAsync(batch, default);

        Assert.Empty(influx.MissingPolicies);
        Assert.Single(influx.Lines(DeliveryLedger.RetentionPolicy));
    }

    [Fact]
    public async Task Server_trouble_is_still_retryable()
    {
        var writer = new StoringPointWriter(
            new InfluxWriter(new HttpClient(new StatusOnly(HttpStatusCode.ServiceUnavailable)), InfluxEndpoint.FromEnvironment(_ => null)),
            "w1",
            TimeProvider.System,
            NullLogger<StoringPointWriter>.Instance);

        await Assert.ThrowsAsync<InfluxUnavailableException>(() => writer.WriteAsync(Batch(3), default));
    }

    private sealed class StatusOnly(HttpStatusCode status) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent("") });
    }
}
