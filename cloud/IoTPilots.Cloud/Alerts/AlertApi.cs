using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using IoTPilots.Cloud.Access;
using IoTPilots.Cloud.Notifications;
using IoTPilots.Rules;
using Microsoft.AspNetCore.Mvc;

namespace IoTPilots.Cloud.Alerts;

/// <summary>
/// <c>GET /api/alerts</c>, <c>GET /api/alerts/{id}</c> and <c>POST /api/alerts/{id}/ack</c> over the
/// <see cref="AlertStore"/> in DI. Bad input is a 400 whose error names the parameter or field, never a 500.
/// Callers see only the alerts of their sites (<see cref="ISiteAccess"/>): another site's alert is a 404, as if it did
/// not exist. Acknowledging and shelving need the operator role, and record who is logged in (or the key's name).
/// </summary>
public static class AlertApi
{
    public const int MaxLimit = 1000;
    public const int MaxNoteLength = 500;

    /// <summary>A week: a shelf is for maintenance, not a way to silence a rule for good (change the rules file for that).</summary>
    public const int MaxShelfMinutes = 7 * 24 * 60;

    // An acknowledgement is two short strings; anything this big is not one.
    private const int MaxBodyBytes = 16 * 1024;

    // Our own options, so the wire format does not change with the host's global JSON settings. Vietnamese stays
    // readable (not \u-escaped); HTML-sensitive characters are still escaped.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.Create(UnicodeRanges.All),
    };

    public static IEndpointRouteBuilder MapAlertApi(this IEndpointRouteBuilder app)
    {
        var alerts = app.MapGroup("/api/alerts");
        alerts.MapGet("", List);
        alerts.MapGet("/{id}", Get);
        alerts.MapPost("/{id}/ack", AcknowledgeAsync).RequireAuthorization(Policies.Operator);
        alerts.MapPost("/{id}/shelve", ShelveAsync).RequireAuthorization(Policies.Operator);
        // The pages the signed links in notifications open: part of acknowledging, served wherever the API is.
        app.MapAckLinks();
        return app;
    }

    private static IResult List(HttpRequest request, [FromServices] AlertStore store, [FromServices] ISiteAccess access)
    {
        if (ParseQuery(request.Query, out var query) is { } error)
        {
            return Error(StatusCodes.Status400BadRequest, error);
        }

        var scope = SiteScope.Of(request.HttpContext.User);
        var alerts = store.List(query with { Sites = scope.IsAll ? null : scope.Sites });
        // The console shows each alert's actions in its history (issue 15), so the list carries them as GET /{id} does.
        var commands = request.HttpContext.RequestServices.GetService<Commands.CommandStore>();
        return Results.Json(alerts.Where(a => access.CanSee(request.HttpContext, a.Series.Site)).Select(a => AlertJson.From(a, store) with { Actions = commands?.ForAlert(a.Id) }), Json);
    }

    private static IResult Get(string id, HttpContext context, [FromServices] AlertStore store, [FromServices] ISiteAccess access)
    {
        if (ParseId(id, out var alertId) is { } bad)
        {
            return bad;
        }

        return Visible(context, store, access, alertId) is { } alert
            ? Results.Json(AlertJson.From(alert, store) with { Actions = context.RequestServices.GetService<Commands.CommandStore>()?.ForAlert(alertId) }, Json)
            : NotFound(alertId);
    }

    /// <summary>The alert, when it exists and is of a site the caller may see; otherwise null, and the caller cannot tell which.</summary>
    private static Alert? Visible(HttpContext context, AlertStore store, ISiteAccess access, long alertId) =>
        store.Get(alertId) is { } alert && access.CanSee(context, alert.Series.Site) ? alert : null;

    private static IResult NotFound(long alertId) => Error(StatusCodes.Status404NotFound, $"alert {alertId} does not exist");

    /// <summary>Who acts: the logged-in user's name, or <c>key:NAME</c> for an API key; and the way in, for <c>acknowledgedVia</c>.</summary>
    private static (string By, string Via) Actor(HttpContext context) =>
        (context.User.Identity?.Name ?? throw new InvalidOperationException("an acknowledgement without an authenticated caller"),
         context.User.Identity.AuthenticationType == AccessSetup.KeyScheme ? "api" : "console");

    private static async Task<IResult> AcknowledgeAsync(
        string id,
        HttpRequest request,
        [FromServices] AlertStore store,
        [FromServices] ISiteAccess access,
        [FromServices] TimeProvider time,
        CancellationToken cancellation)
    {
        var (alertId, body, bad) = await ReadVisiblePostAsync(id, request, store, access, cancellation);
        if (bad is not null)
        {
            return bad;
        }

        if (ParseAcknowledgement(body, out var note) is { } error)
        {
            return Error(StatusCodes.Status400BadRequest, error);
        }

        var (by, via) = Actor(request.HttpContext);
        // With notifications on, those who were told hear who took it, in the same transaction.
        var notifier = request.HttpContext.RequestServices.GetService<AlertNotifier>();
        return Change(store, () => notifier is not null
            ? notifier.Acknowledge(alertId, by, note, time.GetUtcNow(), via)
            : store.Acknowledge(alertId, by, note, time.GetUtcNow(), via, null));
    }

    /// <summary>Shelves an alert: its rule and series notify no one until the time is up (the alert is still recorded).</summary>
    private static async Task<IResult> ShelveAsync(
        string id,
        HttpRequest request,
        [FromServices] AlertStore store,
        [FromServices] ISiteAccess access,
        [FromServices] TimeProvider time,
        CancellationToken cancellation)
    {
        var (alertId, body, bad) = await ReadVisiblePostAsync(id, request, store, access, cancellation);
        if (bad is not null)
        {
            return bad;
        }

        var (by, _) = Actor(request.HttpContext);
        if (ParseShelf(body, out var reason, out var minutes) is { } error)
        {
            return Error(StatusCodes.Status400BadRequest, error);
        }

        var notifier = request.HttpContext.RequestServices.GetService<AlertNotifier>();
        if (notifier is null)
        {
            return Error(StatusCodes.Status409Conflict, "notifications do not run in this process (the rules engine runs on another worker); shelve there");
        }

        return Change(store, () => notifier.Shelve(alertId, by, reason, time.GetUtcNow().AddMinutes(minutes)));
    }

    /// <summary>
    /// The id and body of a POST on one alert the caller may see, or the 400, 413 or 404 to answer (another site's
    /// alert is answered as one that does not exist).
    /// </summary>
    private static async Task<(long Id, byte[] Body, IResult? Error)> ReadVisiblePostAsync(string id, HttpRequest request, AlertStore store, ISiteAccess access, CancellationToken cancellation)
    {
        if (ParseId(id, out var alertId) is { } bad)
        {
            return (0, [], bad);
        }

        if (await HttpBody.ReadAsync(request, MaxBodyBytes, cancellation) is not { } body)
        {
            return (alertId, [], Error(StatusCodes.Status413PayloadTooLarge, $"body: larger than {MaxBodyBytes} bytes"));
        }

        return Visible(request.HttpContext, store, access, alertId) is null ? (alertId, [], NotFound(alertId)) : (alertId, body, null);
    }

    /// <summary>Runs a change on one alert and answers it as JSON: 404 when it is gone, 409 when its state forbids the change.</summary>
    private static IResult Change(AlertStore store, Func<Alert> change)
    {
        try
        {
            return Results.Json(AlertJson.From(change(), store), Json);
        }
        catch (KeyNotFoundException ex)
        {
            return Error(StatusCodes.Status404NotFound, ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            return Error(StatusCodes.Status409Conflict, ex.Message);
        }
    }

    /// <returns>null when the body is a valid shelf, else an error naming the field.</returns>
    private static string? ParseShelf(byte[] body, out string reason, out int minutes)
    {
        const string Example = """expected a JSON object such as {"reason":"probe being cleaned","minutes":60}""";
        reason = "";
        minutes = 0;
        if (body.Length == 0)
        {
            return $"body: empty; {Example}";
        }

        if (ParseAcknowledgement(body, out var note, Example) is { } error)
        {
            return error;
        }

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (!root.TryGetProperty("reason", out var reasonElement) || reasonElement.ValueKind != JsonValueKind.String || reasonElement.GetString()!.Trim().Length == 0)
        {
            return "reason: required: why no one should be told (a string)";
        }

        reason = reasonElement.GetString()!.Trim();
        if (reason.Length > MaxNoteLength || reason.Any(char.IsControl))
        {
            return $"reason: one line of at most {MaxNoteLength} characters";
        }

        if (!root.TryGetProperty("minutes", out var minutesElement) || minutesElement.ValueKind != JsonValueKind.Number
            || !minutesElement.TryGetInt32(out minutes) || minutes is < 1 or > MaxShelfMinutes)
        {
            return $"minutes: required: a whole number from 1 to {MaxShelfMinutes} (a shelf always expires)";
        }

        return note is null ? null : "note: a shelf takes a reason, not a note";
    }

    /// <returns>null when the query is valid, else an error naming the parameter.</returns>
    private static string? ParseQuery(IQueryCollection parameters, out AlertQuery query)
    {
        query = new AlertQuery();
        foreach (var (name, values) in parameters)
        {
            if (values.Count > 1)
            {
                return $"{name}: given {values.Count} times; give it once";
            }
        }

        // An empty parameter (a dashboard's "All") means no filter.
        string? Text(string name) =>
            parameters.TryGetValue(name, out var values) && !string.IsNullOrWhiteSpace(values) ? values.ToString().Trim() : null;

        if (Text("state") is { } state)
        {
            state = state.ToLowerInvariant();
            if (!AlertQuery.States.Contains(state))
            {
                return $"state: {Quote(state)} is not one of {string.Join(", ", AlertQuery.States)}";
            }

            query = query with { State = state };
        }

        if (Text("severity") is { } severityText)
        {
            if (!SeverityText.TryParse(severityText, out var severity))
            {
                return $"severity: {Quote(severityText)} is not one of {string.Join(", ", SeverityText.Names)}";
            }

            query = query with { Severity = severity };
        }

        if (Text("since") is { } sinceText)
        {
            if (!TryParseIsoTime(sinceText, out var since))
            {
                return $"since: {Quote(sinceText)} is not an ISO-8601 time such as 2026-11-23T08:00:00Z";
            }

            query = query with { Since = since };
        }

        if (Text("limit") is { } limitText)
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit is < 1 or > MaxLimit)
            {
                return $"limit: {Quote(limitText)} is not a whole number from 1 to {MaxLimit}";
            }

            query = query with { Limit = limit };
        }

        query = query with { Pilot = Text("pilot"), Site = Text("site"), Device = Text("device") };
        return null;
    }

    private static bool TryParseIsoTime(string text, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(
            text,
            ["yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd"],
            CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
            out time);

    /// <returns>null when the body is a valid acknowledgement, else an error naming the field.</returns>
    /// <summary>An empty body is an acknowledgement without a note.</summary>
    private static string? ParseAcknowledgement(byte[] body, out string? note) =>
        ParseAcknowledgement(body, out note, """expected a JSON object such as {"note":"aerator restarted"}, or no body""");

    private static string? ParseAcknowledgement(byte[] body, out string? note, string example)
    {
        note = null;
        if (body.Length == 0)
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            return $"body: not valid JSON ({ex.Message}); {example}";
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return $"body: a JSON {root.ValueKind.ToString().ToLowerInvariant()}; {example}";
            }

            // Who acts is who is logged in (or the key's name), never a name typed in: issue 11.
            if (root.TryGetProperty("by", out _))
            {
                return "by: not accepted: the alert records the logged-in user (or the API key's name) as who acted";
            }

            if (root.TryGetProperty("note", out var noteElement) && noteElement.ValueKind != JsonValueKind.Null)
            {
                if (noteElement.ValueKind != JsonValueKind.String)
                {
                    return "note: must be a string";
                }

                note = noteElement.GetString()!.Trim();
                if (note.Length > MaxNoteLength)
                {
                    return $"note: at most {MaxNoteLength} characters, not {note.Length}";
                }

                note = note.Length == 0 ? null : note;
            }

            return null;
        }
    }

    /// <returns>null when <paramref name="id"/> is a whole number, else the 400 to answer.</returns>
    private static IResult? ParseId(string id, out long alertId) =>
        long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out alertId)
            ? null
            : Error(StatusCodes.Status400BadRequest, $"id: {Quote(id)} is not an alert id (a positive whole number)");

    private static IResult Error(int status, string message) => Results.Json(new ErrorJson(message), Json, statusCode: status);

    /// <summary>Echoes what the caller sent, cut short so an error never grows with the input.</summary>
    private static string Quote(string text) => text.Length <= 40 ? $"'{text}'" : $"'{text[..40]}...'";

    private sealed record ErrorJson(string Error);

    private sealed record MessageJson(string En, string Vi);

    /// <summary>The alert as the API shows it. Times are UTC <see cref="DateTime"/>s so they serialise with a Z.</summary>
    private sealed record AlertJson(
        long Id,
        string RuleId,
        string Severity,
        string Pilot,
        string Site,
        string Gateway,
        string Device,
        string Field,
        DateTime Since,
        DateTime RaisedAt,
        double? RaisedValue,
        double? LastValue,
        double? WorstValue,
        DateTime UpdatedAt,
        DateTime? AcknowledgedAt,
        string? AcknowledgedBy,
        string? Note,
        DateTime? ResolvedAt,
        string State,
        MessageJson Message,
        string? AcknowledgedVia,
        DateTime? ShelvedUntil,
        string? ShelvedBy,
        string? ShelveReason,
        IReadOnlyList<NotificationJson> Notifications)
    {
        /// <summary>The actions the alert's rule took (commands to the site, with the gateway's answers), when commands are on.</summary>
        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public IReadOnlyList<Commands.CommandRecord>? Actions { get; init; }

        public static AlertJson From(Alert a, AlertStore store) => From(a, store.AcknowledgedVia(a.Id), store.ShelfOf(a.Id), store.Notifications(a.Id));

        private static AlertJson From(Alert a, string? via, Shelf? shelf, IReadOnlyList<OutboxItem> sent) => new(
            a.Id,
            a.RuleId,
            SeverityText.Of(a.Severity),
            a.Series.Pilot,
            a.Series.Site,
            a.Series.Gateway,
            a.Series.Device,
            a.Field,
            a.Since.UtcDateTime,
            a.RaisedAt.UtcDateTime,
            a.RaisedValue,
            a.LastValue,
            a.WorstValue,
            a.UpdatedAt.UtcDateTime,
            a.AcknowledgedAt?.UtcDateTime,
            a.AcknowledgedBy,
            a.Note,
            a.ResolvedAt?.UtcDateTime,
            a.State,
            new MessageJson(a.Message.En, a.Message.Vi),
            via,
            shelf?.Until.UtcDateTime,
            shelf?.By,
            shelf?.Reason,
            sent.Select(n => new NotificationJson(n.Contact, n.Channel, n.State, n.Level, n.CreatedAt.UtcDateTime, n.Status, n.Attempts, n.SentAt?.UtcDateTime, n.LastError)).ToList());
    }

    /// <summary>Who was told about an alert, on which channel, when it was queued and sent, and how it went.</summary>
    private sealed record NotificationJson(string Contact, string Channel, string State, int Level, DateTime QueuedAt, string Status, int Attempts, DateTime? SentAt, string? LastError);
}
