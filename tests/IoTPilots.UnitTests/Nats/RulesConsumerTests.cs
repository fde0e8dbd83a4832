using IoTPilots.Cloud.Alerts;
using IoTPilots.Cloud.Nats;
using IoTPilots.Contract;
using IoTPilots.Mqtt;
using IoTPilots.UnitTests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.JetStream.Models;

namespace IoTPilots.UnitTests.Nats;

/// <summary>
/// The rules engine's own JetStream consumer in the NATS mode (docs/scaling.md, "The rules engine"): what it asks the
/// server for, what it skips, and how the cloud's sources split its filters between the stream and MQTT.
/// </summary>
public sealed class RulesConsumerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 22, 0, 0, TimeSpan.Zero);

    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void The_rules_consumer_starts_at_its_creation_and_is_forgotten_a_minute_after_its_window()
    {
        var plan = ConsumerPlan.Replayed(new StreamReplay("pilots.a-rules", [Topics.AllTelemetry], TimeSpan.FromMinutes(10)));
        var config = plan.Config([Topics.AllTelemetry], TimeSpan.FromSeconds(30), 65535);

        Assert.Equal("pilots_a-rules", config.Name);
        Assert.Equal("$MQTT.msgs.pilots.v1.*.*.*.telemetry", config.FilterSubject);
        Assert.Equal(ConsumerConfigDeliverPolicy.New, config.DeliverPolicy);
        Assert.Equal(ConsumerConfigAckPolicy.Explicit, config.AckPolicy);
        Assert.Equal(TimeSpan.FromMinutes(11), config.InactiveThreshold);
        Assert.Equal(TimeSpan.FromSeconds(30), config.AckWait);
    }

    [Fact]
    public void The_ingestion_consumer_takes_everything_and_is_never_forgotten()
    {
        var config = ConsumerPlan.Shared("pilots").Config([Topics.AllTelemetry, Topics.AllGaps], TimeSpan.FromSeconds(5), 100_000);

        Assert.Equal("pilots", config.Name);
        Assert.Equal(ConsumerConfigDeliverPolicy.All, config.DeliverPolicy);
        Assert.Equal(TimeSpan.Zero, config.InactiveThreshold);
        Assert.Equal(65535, config.MaxAckPending);
        Assert.True(ConsumerPlan.Shared("pilots").Hands(Now.AddDays(-30), Now));
    }

    [Fact]
    public void Only_messages_stored_within_the_window_are_handed_to_the_rules_engine()
    {
        var plan = ConsumerPlan.Replayed(new StreamReplay("r", [Topics.AllTelemetry], TimeSpan.FromMinutes(10)));

        Assert.True(plan.Hands(Now.AddSeconds(-1), Now));
        Assert.True(plan.Hands(Now.AddMinutes(-10), Now));
        Assert.False(plan.Hands(Now.AddMinutes(-10).AddTicks(-1), Now));
        // A server clock a little ahead of the cloud's is live, not old.
        Assert.True(plan.Hands(Now.AddSeconds(2), Now));
        // Without the server's stamp nothing is known to be old.
        Assert.True(plan.Hands(null, Now));
    }

    [Fact]
    public void The_rules_engine_reads_telemetry_from_the_stream_and_retained_statuses_over_MQTT()
    {
        var mqtt = new FakeMessageSources();
        var broker = MqttEndpoint.Parse("mqtt://127.0.0.1:1883?protocol=3.1.1");
        var sources = new JetStreamMessageSources(new NatsOptions("nats://127.0.0.1:4222"), mqtt, broker, NullLoggerFactory.Instance);

        var source = sources.Open(new MessageSourceOptions("cloud-rules-pilots", [Topics.AllTelemetry, GatewayStatus.AllTopics])
        {
            Replay = new StreamReplay("pilots-rules", [Topics.AllTelemetry], TimeSpan.FromMinutes(10)),
        });

        Assert.IsNotType<FakeMessageSource>(source);
        var statuses = Assert.Single(mqtt.Opened);
        Assert.Equal([GatewayStatus.AllTopics], statuses.Options.Filters);
        Assert.Null(statuses.Options.Replay);
    }

    [Fact]
    public void Without_a_catch_up_window_the_rules_engine_subscribes_over_MQTT_as_in_the_Mosquitto_mode()
    {
        var mqtt = new FakeMessageSources();
        var sources = new JetStreamMessageSources(new NatsOptions("nats://127.0.0.1:4222"), mqtt, MqttEndpoint.Parse("mqtt://127.0.0.1:1883?protocol=3.1.1"), NullLoggerFactory.Instance);

        var source = sources.Open(new MessageSourceOptions("cloud-rules-pilots", [Topics.AllTelemetry, GatewayStatus.AllTopics]));

        Assert.Same(Assert.Single(mqtt.Opened), source);
    }

    [Fact]
    public void The_catch_up_window_is_read_from_the_environment_and_a_wrong_one_is_refused_by_name()
    {
        Assert.Equal(TimeSpan.FromMinutes(10), RulesOptions.FromEnvironment(Env(), "1").CatchUp);
        Assert.Equal(TimeSpan.Zero, RulesOptions.FromEnvironment(Env(("PILOTS_RULES_CATCHUP_S", "0")), "1").CatchUp);
        Assert.Equal(TimeSpan.FromSeconds(90), RulesOptions.FromEnvironment(Env(("PILOTS_RULES_CATCHUP_S", "90")), "1").CatchUp);
        foreach (var wrong in new[] { "ten", "-1", "86401" })
        {
            var error = Assert.Throws<FormatException>(() => RulesOptions.FromEnvironment(Env(("PILOTS_RULES_CATCHUP_S", wrong)), "1"));
            Assert.StartsWith($"PILOTS_RULES_CATCHUP_S: '{wrong}' is not a number of seconds from 0 to 86400", error.Message, StringComparison.Ordinal);
        }
    }
}
