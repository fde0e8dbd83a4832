using IoTPilots.Cloud.Ingestion;
using IoTPilots.Cloud.Nats;
using IoTPilots.Contract;
using IoTPilots.Mqtt;

namespace IoTPilots.UnitTests.Nats;

/// <summary>The NATS mode's pure parts: its settings and the MQTT-to-JetStream naming (nats-server 2.9.10 server/mqtt.go).</summary>
public sealed class NatsModeTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Topics_map_to_subjects_as_the_NATS_MQTT_gateway_maps_them()
    {
        // mqttToNATSSubjectConversion: '/' -> '.', '+' -> '*', '#' -> '>'.
        Assert.Equal("pilots.v1.site-a.gw-1.tank-01.telemetry", MqttStream.ToSubject(Topics.Telemetry("site-a", "gw-1", "tank-01")));
        Assert.Equal("pilots.v1.*.*.*.telemetry", MqttStream.ToSubject(Topics.AllTelemetry));
        Assert.Equal("pilots.>", MqttStream.ToSubject("pilots/#"));
        Assert.Equal("pilots/v1/site-a/gw-1/gap", MqttStream.TopicOf("$MQTT.msgs.pilots.v1.site-a.gw-1.gap"));
        Assert.Null(MqttStream.TopicOf("pilots.v1.site-a.gw-1.gap"));
        Assert.Throws<FormatException>(() => MqttStream.ToSubject("pilots/v1.2/x"));
        Assert.Throws<FormatException>(() => MqttStream.ToSubject("pilots//x"));
    }

    [Fact]
    public void The_ingestion_consumer_filter_covers_telemetry_and_gaps_with_their_common_prefix()
    {
        // JetStream 2.9 takes one filter subject per consumer: the common literal levels, then '>'.
        Assert.Equal("$MQTT.msgs.pilots.v1.>", MqttStream.ConsumerFilter([Topics.AllTelemetry, Topics.AllGaps]));
        Assert.Equal("$MQTT.msgs.pilots.v1.*.*.*.telemetry", MqttStream.ConsumerFilter([Topics.AllTelemetry]));
        Assert.Equal("$MQTT.msgs.>", MqttStream.ConsumerFilter(["a/b", "c/d"]));
    }

    [Fact]
    public void Only_the_filters_given_match_what_the_consumer_receives()
    {
        Assert.True(MqttStream.Matches(Topics.AllTelemetry, Topics.Telemetry("s", "g", "d")));
        Assert.True(MqttStream.Matches(Topics.AllGaps, "pilots/v1/s/g/gap"));
        Assert.False(MqttStream.Matches(Topics.AllTelemetry, Topics.Status("s", "g")));
        Assert.False(MqttStream.Matches(Topics.AllGaps, "pilots/v1/s/g/d/gap"));
        Assert.True(MqttStream.Matches("pilots/#", "pilots/v1/s"));
    }

    [Fact]
    public void A_shared_subscription_names_its_group()
    {
        Assert.Equal(("ingest", Topics.AllTelemetry), MqttStream.Shared($"$share/ingest/{Topics.AllTelemetry}"));
        Assert.Null(MqttStream.Shared(Topics.AllTelemetry));
        Assert.Null(MqttStream.Shared("$share/nofilter"));
    }

    [Fact]
    public void The_mode_is_chosen_by_PILOTS_NATS_URL()
    {
        Assert.Null(NatsOptions.FromEnvironment(Env()));
        Assert.Null(IngestionOptions.FromEnvironment(Env()).Nats);
        var options = IngestionOptions.FromEnvironment(Env(
            ("PILOTS_NATS_URL", "nats://127.0.0.1:4222,nats://127.0.0.1:4223"),
            ("PILOTS_MQTT_URL", "mqtt://127.0.0.1:1893?protocol=3.1.1"),
            ("PILOTS_NATS_ACK_WAIT_S", "5")));
        Assert.Equal("nats://127.0.0.1:4222,nats://127.0.0.1:4223", options.Nats!.Url);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Nats.AckWait);
        Assert.True(options.Broker.Mqtt311);
    }

    [Fact]
    public void Bad_NATS_settings_stop_the_start_naming_the_variable()
    {
        var url = Assert.Throws<FormatException>(() => NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "nats://a:4222,http://b"))));
        Assert.StartsWith("PILOTS_NATS_URL:", url.Message);
        var wait = Assert.Throws<FormatException>(() => NatsOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "nats://a:4222"), ("PILOTS_NATS_ACK_WAIT_S", "0"))));
        Assert.StartsWith("PILOTS_NATS_ACK_WAIT_S:", wait.Message);
        // NATS's MQTT gateway speaks 3.1.1 only: an MQTT 5 URL in the NATS mode could never connect.
        var mqtt = Assert.Throws<FormatException>(() => IngestionOptions.FromEnvironment(Env(("PILOTS_NATS_URL", "nats://a:4222"), ("PILOTS_MQTT_URL", "mqtt://a:1883"))));
        Assert.StartsWith("PILOTS_MQTT_URL:", mqtt.Message);
    }

    [Fact]
    public void An_MQTT_URL_chooses_3_1_1_with_a_protocol_option()
    {
        Assert.False(MqttEndpoint.Parse("mqtt://h:1883").Mqtt311);
        Assert.False(MqttEndpoint.Parse("mqtt://h:1883?protocol=5").Mqtt311);
        var v311 = MqttEndpoint.Parse("mqtt://u:p@h:1893?protocol=3.1.1");
        Assert.True(v311.Mqtt311);
        Assert.Equal("mqtt://h:1893?protocol=3.1.1", v311.ToString());
        Assert.Equal(v311, MqttEndpoint.Parse(v311.ToString()) with { Username = "u", Password = "p" });
        var bad = Assert.Throws<FormatException>(() => MqttEndpoint.Parse("mqtt://h:1883?protocol=3", "PILOTS_MQTT_URL"));
        Assert.StartsWith("PILOTS_MQTT_URL:", bad.Message);
    }
}
