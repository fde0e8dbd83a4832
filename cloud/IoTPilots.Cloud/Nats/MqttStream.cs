namespace IoTPilots.Cloud.Nats;

/// <summary>
/// Where NATS's MQTT gateway keeps QoS 1 messages, and how MQTT names map onto it. Pure; follows nats-server 2.9.10
/// server/mqtt.go:
/// <list type="bullet">
/// <item>A QoS 1 PUBLISH is stored in the stream <c>$MQTT_msgs</c> (subjects <c>$MQTT.msgs.&gt;</c>, file storage,
/// interest retention, <c>mqtt.stream_replicas</c> replicas) under <c>$MQTT.msgs.</c> + the topic's subject, and
/// only once JetStream has stored it does the gateway send PUBACK (<c>mqttProcessPub</c>, then
/// <c>mqttEnqueuePubAck</c>); a store that fails, e.g. while the stream has no leader, closes the connection
/// instead, so the edge keeps the record and sends it again. A plain stream on <c>pilots.v1.&gt;</c> would also see
/// the message, but through the core publish that precedes the store, which nothing acknowledges: during a leader
/// election it is dropped while the edge already holds a PUBACK. So this mode reads <c>$MQTT_msgs</c> itself.</item>
/// <item>Interest retention: a message that no consumer's filter covers when it arrives is skipped (stream.go,
/// <c>noInterest</c>), yet still acknowledged. The ingestion's durable consumer must exist before gateways publish;
/// the cloud creates it at start, and it outlives every worker.</item>
/// <item>Topic to subject (<c>mqttToNATSSubjectConversion</c>): <c>/</c> becomes <c>.</c>, <c>+</c> becomes
/// <c>*</c>, <c>#</c> becomes <c>&gt;</c>; topics with <c>.</c>, spaces or empty levels are refused here (the
/// contract's identifiers never have them).</item>
/// </list>
/// </summary>
public static class MqttStream
{
    public const string Name = "$MQTT_msgs";

    public const string SubjectPrefix = "$MQTT.msgs.";

    /// <summary>The consumer filter covering every MQTT filter given: their common literal levels, then <c>&gt;</c>.</summary>
    public static string ConsumerFilter(IReadOnlyList<string> mqttFilters)
    {
        var split = mqttFilters.Select(f => f.Split('/')).ToList();
        if (split.Count == 1)
        {
            return SubjectPrefix + ToSubject(mqttFilters[0]);
        }

        var common = new List<string>();
        for (var i = 0; split.All(s => s.Length > i + 1 && s[i] == split[0][i] && s[i] is not ("+" or "#")); i++)
        {
            common.Add(split[0][i]);
        }

        return SubjectPrefix + string.Concat(common.Select(level => level + ".")) + ">";
    }

    /// <summary>An MQTT topic or filter as a NATS subject.</summary>
    /// <exception cref="FormatException">It has a level NATS cannot carry.</exception>
    public static string ToSubject(string mqtt)
    {
        var levels = mqtt.Split('/');
        if (levels.Any(l => l.Length == 0 || l.Contains('.') || l.Contains(' ')))
        {
            throw new FormatException($"MQTT topic '{mqtt}' has an empty level, a '.' or a space, which this mapping does not carry");
        }

        return string.Join('.', levels.Select(l => l switch { "+" => "*", "#" => ">", _ => l }));
    }

    /// <summary>The MQTT topic of a message stored in <see cref="Name"/>; null for a subject outside it.</summary>
    public static string? TopicOf(string subject) =>
        subject.StartsWith(SubjectPrefix, StringComparison.Ordinal) ? subject[SubjectPrefix.Length..].Replace('.', '/') : null;

    /// <summary>Whether <paramref name="topic"/> matches the MQTT filter (MQTT 5.0 §4.7: <c>+</c> one level, <c>#</c> the rest).</summary>
    public static bool Matches(string filter, string topic)
    {
        var f = filter.Split('/');
        var t = topic.Split('/');
        for (var i = 0; i < f.Length; i++)
        {
            if (f[i] == "#")
            {
                return true;
            }

            if (i >= t.Length || (f[i] != "+" && f[i] != t[i]))
            {
                return false;
            }
        }

        return f.Length == t.Length;
    }

    /// <summary>The shared-subscription group and filter of <c>$share/{group}/{filter}</c> (MQTT 5.0 §4.8.2); null for another filter.</summary>
    public static (string Group, string Filter)? Shared(string filter)
    {
        const string prefix = "$share/";
        if (!filter.StartsWith(prefix, StringComparison.Ordinal) || filter.IndexOf('/', prefix.Length) is var slash && slash < 0)
        {
            return null;
        }

        return (filter[prefix.Length..slash], filter[(slash + 1)..]);
    }
}
