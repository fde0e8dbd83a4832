using System.Text;
using MQTTnet;

namespace IoTPilots.Mqtt.AzureIotHub;

/// <summary>
/// The hub's CONNECT username and a SAS-token password, minted afresh from <see cref="TimeProvider"/> each
/// time MQTTnet connects. MQTTnet asks its <see cref="IMqttClientCredentialsProvider"/> on every CONNECT, so a
/// client whose options were built once (as <see cref="MqttSession"/> does) still presents a valid token
/// after a reconnect. Tokens are not refreshed on a live connection over MQTT 3.1.1: the hub "severs the
/// device/module connection" when its token expires (SAS article, "Create a token service"), so the
/// publisher should disconnect and reconnect once <see cref="MustRenew"/> is true, before the hub does it.
/// </summary>
public sealed class IotHubSasCredentials : IMqttClientCredentialsProvider
{
    /// <summary>
    /// Renew when 15 % of the token's life is left, the Azure C# device SDK's default
    /// (DeviceAuthenticationWithTokenRefresh: DefaultTimeToLiveSeconds = 1 h, DefaultBufferPercentage = 15).
    /// </summary>
    public const double DefaultRenewalBuffer = 0.15;

    private readonly IotHubConnectionString _connection;
    private readonly TimeProvider _time;
    private readonly TimeSpan _tokenTtl;
    private readonly double _renewalBuffer;
    private readonly Lock _lock = new();
    private DateTimeOffset? _expiresAt;

    public IotHubSasCredentials(IotHubConnectionString connection, TimeProvider time, TimeSpan tokenTtl, double renewalBuffer = DefaultRenewalBuffer)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(time);

        // The expiry is whole seconds (SasToken drops the fraction), so anything shorter would expire on issue.
        ArgumentOutOfRangeException.ThrowIfLessThan(tokenTtl, TimeSpan.FromSeconds(2));
        ArgumentOutOfRangeException.ThrowIfNegative(renewalBuffer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(renewalBuffer, 1.0);
        _connection = connection;
        _time = time;
        _tokenTtl = tokenTtl;
        _renewalBuffer = renewalBuffer;
        UserName = IotHubMqtt.Username(connection);
    }

    public string UserName { get; }

    /// <summary>Expiry of the last token handed out; null until the first connect asks for one.</summary>
    public DateTimeOffset? ExpiresAt
    {
        get
        {
            lock (_lock)
            {
                return _expiresAt;
            }
        }
    }

    /// <summary>When the connection should be recycled to pick up a fresh token; null before the first token.</summary>
    public DateTimeOffset? RenewAt
    {
        get
        {
            lock (_lock)
            {
                return _expiresAt - (_tokenTtl * _renewalBuffer);
            }
        }
    }

    /// <summary>True once the current token is inside its renewal buffer (or already expired).</summary>
    public bool MustRenew(DateTimeOffset now) => RenewAt is { } renewAt && now >= renewAt;

    /// <summary>Mints a token valid for the TTL from now and remembers its expiry.</summary>
    public string CreatePassword()
    {
        var now = _time.GetUtcNow();
        var expiry = now + _tokenTtl;
        var token = SasToken.Create(_connection.ResourceUri, _connection.SharedAccessKey, expiry, _connection.SharedAccessKeyName);
        lock (_lock)
        {
            // The token carries whole seconds, so that is when the hub will really drop the connection.
            _expiresAt = DateTimeOffset.FromUnixTimeSeconds(expiry.ToUnixTimeSeconds());
        }

        return token;
    }

    string IMqttClientCredentialsProvider.GetUserName(MqttClientOptions clientOptions) => UserName;

    byte[] IMqttClientCredentialsProvider.GetPassword(MqttClientOptions clientOptions) => Encoding.UTF8.GetBytes(CreatePassword());
}
