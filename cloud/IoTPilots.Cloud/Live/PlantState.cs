using IoTPilots.Cloud.Commands;
using IoTPilots.Cloud.Ingestion;
using IoTPilots.Contract;
using IoTPilots.Rules;

namespace IoTPilots.Cloud.Live;

/// <summary>One signal on a tile: its latest reading (the newest by the edge's sampling time) and its colour.</summary>
/// <param name="Key">Watched by a rule: shown first, with a sparkline.</param>
public sealed record FieldView(string Field, double? Value, string Unit, string Quality, long At, Level Level, bool Key, IReadOnlyList<Limit> Limits);

/// <summary>An open alert on a tile, from the alert store.</summary>
public sealed record AlertView(long Id, string Rule, string Severity, string Field, string State, LocalizedText Message, long RaisedAt);

/// <summary>
/// The last automatic action on a device (issue 15): what a rule, or the gateway itself, set, when (ms), and where it
/// stands (<see cref="CommandStates"/>, or the gateway's done/refused/failed with its reason and read-back).
/// </summary>
public sealed record ActionView(string Id, string Point, double Value, string IssuedBy, string State, string? Reason, double? ReadBack, long At, long? AnsweredAt, long ExpiresAt);

/// <summary>A device's tile: its colour is the worst of its signals' zones and its open alerts.</summary>
/// <param name="At">The newest sampling time of any of its readings (ms), for "read ... ago".</param>
public sealed record DeviceView(string Key, string Pilot, string Site, string Gateway, string Device, Level Level, long At, IReadOnlyList<FieldView> Fields, IReadOnlyList<AlertView> Alerts)
{
    /// <summary>The newest automatic action on the device, when there is one.</summary>
    public ActionView? LastAction { get; init; }
}

/// <summary>
/// A gateway (<see cref="Key"/> is its id): its retained status (online/offline, queue depth, oldest unsent reading) and the delivery accounting's
/// figures (completeness = received / (received + missing), root README "Delivery accounting").
/// </summary>
/// <param name="State"><c>online</c>, <c>offline</c>, or <c>unknown</c> when it never published a status.</param>
public sealed record GatewayView(
    string Key,
    string Pilot,
    string Site,
    string Gateway,
    string State,
    long? StatusAt,
    int? Queue,
    long? OldestUnsent,
    long? Received,
    long? Missing,
    long? Dropped,
    double? Completeness,
    long? LastReading);

/// <summary>All a viewer is shown first: every tile and gateway, and the server's clock (the page's "ago" uses it).</summary>
public sealed record PlantSnapshot(long Now, IReadOnlyList<DeviceView> Devices, IReadOnlyList<GatewayView> Gateways);

/// <summary>
/// What the live view shows, built from the stream: each device's latest readings with their zones
/// (<see cref="Zones"/>), each gateway's status, the open alerts and the delivery figures. Changed tiles are marked
/// and taken by <see cref="TakeChanged"/>, so a burst of messages from one device is one update. Bounded: at most
/// <see cref="MaxDevices"/> devices and <see cref="MaxFieldsPerDevice"/> signals each (the registry, when there is
/// one, keeps out what ingestion quarantines anyway). Thread-safe; pure (times come from the messages).
/// </summary>
public sealed class PlantState(Zones zones, DeviceRegistry registry)
{
    public const int MaxDevices = 10_000;
    public const int MaxFieldsPerDevice = 256;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Device> _devices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Gateway> _gateways = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changedDevices = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changedGateways = new(StringComparer.Ordinal);

    public static string KeyOf(string site, string gateway, string device) => $"{site}/{gateway}/{device}";

    /// <summary>Devices refused because the state was full (for the log).</summary>
    public long Refused { get; private set; }

    /// <summary>Takes a decoded message in; readings older than the one shown for their signal are ignored (backlog).</summary>
    public void Observe(TelemetryMessage message)
    {
        if (!registry.IsKnown(message.Gateway, message.Device))
        {
            return;
        }

        // The derived signals too (the ISO 10816 zone, NH3-N...), as the rules engine computes them: the view shows the zone itself.
        message = zones.WithDerived(message);
        var series = new SeriesKey(message.Pilot, message.Site, message.Gateway, message.Device);
        var key = KeyOf(message.Site, message.Gateway, message.Device);
        lock (_gate)
        {
            if (!_devices.TryGetValue(key, out var device))
            {
                if (_devices.Count >= MaxDevices)
                {
                    Refused++;
                    return;
                }

                _devices[key] = device = new Device(key, series);
            }

            var changed = false;
            foreach (var reading in message.Readings)
            {
                if (device.Fields.TryGetValue(reading.Field, out var shown) && shown.At > reading.Timestamp.ToUnixTimeMilliseconds())
                {
                    continue;
                }

                if (shown is null && device.Fields.Count >= MaxFieldsPerDevice)
                {
                    continue;
                }

                device.Fields[reading.Field] = new FieldView(
                    reading.Field,
                    reading.Value,
                    reading.Unit,
                    reading.Quality.ToWire(),
                    reading.Timestamp.ToUnixTimeMilliseconds(),
                    zones.Judge(message, series, reading),
                    shown?.Key ?? zones.Watches(series, reading.Field),
                    shown?.Limits ?? zones.LimitsOf(series, reading.Field));
                changed = true;
            }

            if (changed)
            {
                _changedDevices.Add(key);
                var gateway = GatewayOf(message.Site, message.Gateway);
                if (gateway.Pilot.Length == 0 || message.Site == gateway.Site)
                {
                    gateway.Pilot = message.Pilot;
                }

                var newest = message.Readings.Max(r => r.Timestamp).ToUnixTimeMilliseconds();
                if (newest > (gateway.LastReading ?? 0))
                {
                    gateway.LastReading = newest;
                    _changedGateways.Add(gateway.Key);
                }
            }
        }
    }

    /// <summary>
    /// Takes a gateway's (retained) status in. The latest to arrive wins, whatever its time: the broker publishes a
    /// gateway's last will ("offline") with the time it was made, when the gateway connected (MQTT 5.0 section
    /// 3.1.2.5), so it is older than the "online" it replaces.
    /// </summary>
    public void ObserveStatus(GatewayStatus status)
    {
        lock (_gate)
        {
            var gateway = GatewayOf(status.Site, status.Gateway);
            gateway.Site = status.Site;
            gateway.Status = status;
            _changedGateways.Add(gateway.Key);
        }
    }

    /// <summary>Replaces the open alerts with <paramref name="unresolved"/> (the alert store's); tiles whose alerts changed are marked.</summary>
    public void SetAlerts(IReadOnlyList<Alert> unresolved)
    {
        var byDevice = unresolved
            .GroupBy(a => KeyOf(a.Series.Site, a.Series.Gateway, a.Series.Device), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(a => a.Severity).ThenBy(a => a.Id).Select(ToView).ToList(), StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var (key, device) in _devices)
            {
                var now = byDevice.GetValueOrDefault(key) ?? [];
                if (!now.SequenceEqual(device.Alerts))
                {
                    device.Alerts = now;
                    _changedDevices.Add(key);
                }
            }

            // An alert on a device not seen since the start (silent: a missing-data alert) still gets its tile.
            foreach (var (key, alerts) in byDevice)
            {
                if (!_devices.ContainsKey(key) && _devices.Count < MaxDevices)
                {
                    _devices[key] = new Device(key, unresolved.First(a => KeyOf(a.Series.Site, a.Series.Gateway, a.Series.Device) == key).Series) { Alerts = alerts };
                    _changedDevices.Add(key);
                }
            }
        }
    }

    /// <summary>
    /// Takes the commands record's newest commands (newest first): each device's tile shows its newest automatic one
    /// (issued by a rule, <c>rule:ID</c>, or by the gateway itself, <c>gateway:...</c>), and is marked when it or its answer changed.
    /// </summary>
    public void SetActions(IEnumerable<CommandRecord> newestFirst)
    {
        var latest = new Dictionary<string, ActionView>(StringComparer.Ordinal);
        foreach (var c in newestFirst.Where(c => AutomaticActions.IsAutomatic(c.IssuedBy)))
        {
            latest.TryAdd(KeyOf(c.Site, c.Gateway, c.Device), new ActionView(
                c.Id, c.Point, c.Value, c.IssuedBy, c.State, c.Reason, c.ReadBack, c.IssuedAt.ToUnixTimeMilliseconds(), c.AnsweredAt?.ToUnixTimeMilliseconds(), c.ExpiresAt.ToUnixTimeMilliseconds()));
        }

        lock (_gate)
        {
            foreach (var (key, action) in latest)
            {
                if (_devices.TryGetValue(key, out var device) && device.LastAction != action)
                {
                    device.LastAction = action;
                    _changedDevices.Add(key);
                }
            }
        }
    }

    /// <summary>Takes the delivery accounting's latest figures per gateway (the <c>delivery</c> measurement).</summary>
    public void SetDelivery(IEnumerable<GatewayDelivery> figures)
    {
        lock (_gate)
        {
            foreach (var figure in figures)
            {
                if (_gateways.TryGetValue(figure.Gateway, out var gateway) && gateway.Delivery != figure)
                {
                    gateway.Delivery = figure;
                    _changedGateways.Add(gateway.Key);
                }
            }
        }
    }

    /// <summary>The tiles and gateways changed since the last call.</summary>
    public (IReadOnlyList<DeviceView> Devices, IReadOnlyList<GatewayView> Gateways) TakeChanged()
    {
        lock (_gate)
        {
            var devices = _changedDevices.Select(k => _devices[k].View()).ToList();
            var gateways = _changedGateways.Select(k => _gateways[k].View()).ToList();
            _changedDevices.Clear();
            _changedGateways.Clear();
            return (devices, gateways);
        }
    }

    public PlantSnapshot Snapshot(DateTimeOffset now, Func<string, bool> canSee)
    {
        lock (_gate)
        {
            return new PlantSnapshot(
                now.ToUnixTimeMilliseconds(),
                [.. _devices.Values.Where(d => canSee(d.Series.Site)).OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => d.View())],
                [.. _gateways.Values.Where(g => canSee(g.Site)).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.View())]);
        }
    }

    /// <summary>The device's tile, or null when it has not been seen.</summary>
    public DeviceView? Find(string site, string gateway, string device)
    {
        lock (_gate)
        {
            return _devices.GetValueOrDefault(KeyOf(site, gateway, device))?.View();
        }
    }

    /// <summary>
    /// A gateway by its id, which is unique (the delivery accounting keys on it too): its devices may sit on other
    /// sites (a buoy off the farm), so its own site is the one its status names, else that of its first reading.
    /// </summary>
    private Gateway GatewayOf(string site, string name)
    {
        if (!_gateways.TryGetValue(name, out var gateway))
        {
            _gateways[name] = gateway = new Gateway(name) { Site = site };
        }

        return gateway;
    }

    private static AlertView ToView(Alert a) =>
        new(a.Id, a.RuleId, a.Severity.ToString().ToLowerInvariant(), a.Field, a.State, a.Message, a.RaisedAt.ToUnixTimeMilliseconds());

    private static Level LevelOf(string severity) => severity switch
    {
        "critical" => Level.Critical,
        "warning" => Level.Warning,
        _ => Level.Ok,
    };

    private sealed class Device(string key, SeriesKey series)
    {
        public string Key { get; } = key;

        public SeriesKey Series { get; } = series;

        public Dictionary<string, FieldView> Fields { get; } = new(StringComparer.Ordinal);

        public List<AlertView> Alerts { get; set; } = [];

        public ActionView? LastAction { get; set; }

        /// <summary>A signal is at least the colour of its open alerts; the tile is the worst of all (grey when nothing is judged).</summary>
        public DeviceView View()
        {
            var fields = Fields.Values
                .Select(f => f with { Level = Alerts.Where(a => a.Field == f.Field).Aggregate(f.Level, (l, a) => Zones.Max(l, LevelOf(a.Severity))) })
                .OrderBy(f => f.Key ? 0 : 1)
                .ToList();
            var level = fields.Aggregate(Level.Unknown, (l, f) => Zones.Max(l, f.Level));
            level = Alerts.Aggregate(level, (l, a) => Zones.Max(l, LevelOf(a.Severity)));
            return new DeviceView(Key, Series.Pilot, Series.Site, Series.Gateway, Series.Device, level, Fields.Count == 0 ? 0 : Fields.Values.Max(f => f.At), fields, [.. Alerts]) { LastAction = LastAction };
        }
    }

    private sealed class Gateway(string name)
    {
        public string Key { get; } = name;

        public string Site { get; set; } = "";

        public string Name { get; } = name;

        public string Pilot { get; set; } = "";

        public GatewayStatus? Status { get; set; }

        public GatewayDelivery? Delivery { get; set; }

        public long? LastReading { get; set; }

        public GatewayView View()
        {
            var d = Delivery;
            double? completeness = d is null || d.Received + d.Missing == 0 ? null : (double)d.Received / (d.Received + d.Missing);
            return new GatewayView(
                Key,
                Pilot,
                Site,
                Name,
                Status?.State ?? "unknown",
                Status?.Timestamp.ToUnixTimeMilliseconds(),
                Status?.QueueDepth,
                Status?.OldestUnsent?.ToUnixTimeMilliseconds(),
                d?.Received,
                d?.Missing,
                d?.Dropped,
                completeness,
                LastReading);
        }
    }
}
