using System.Globalization;

namespace IoTPilots.Rules;

/// <summary>
/// An action as people read it, derived from its point and value so that any point reads sensibly without a text
/// in the rules file: a switch (<c>*_on</c>, 1 or 0) is started or stopped, e.g. <c>backup_aerator_on = 1</c> on
/// tank-03 is "Start the backup aerator (tank-03)" / "Bật máy sục khí dự phòng (tank-03)"; any other point is set
/// to its value. Vietnamese puts the head noun first ("máy sục khí dự phòng", aerator backup), so the words of a
/// point name are translated one by one from a small glossary and read in reverse; an unknown word stays as written.
/// </summary>
public static class RuleActionText
{
    // The equipment a farm, a port or a plant switches from the cloud; Vietnamese from the farmers' own words
    // (máy sục khí: aerator; máy bơm: pump; máy cho ăn: feeder).
    private static readonly Dictionary<string, string> Vietnamese = new(StringComparer.Ordinal)
    {
        ["aerator"] = "máy sục khí",
        ["backup"] = "dự phòng",
        ["standby"] = "dự phòng",
        ["pump"] = "máy bơm",
        ["feeder"] = "máy cho ăn",
        ["heater"] = "máy sưởi",
        ["chiller"] = "máy làm lạnh",
        ["fan"] = "quạt",
        ["valve"] = "van",
        ["blower"] = "máy thổi khí",
        ["oxygen"] = "oxy",
        ["light"] = "đèn",
        ["lights"] = "đèn",
        ["uv"] = "đèn UV",
        ["water"] = "nước",
        ["cooling"] = "làm mát",
        ["alarm"] = "còi báo động",
        ["siren"] = "còi báo động",
        ["motor"] = "động cơ",
    };

    /// <param name="device">The device the command goes to, named after the action.</param>
    public static LocalizedText Label(RuleAction action, string device)
    {
        var words = action.Point.Split('_', StringSplitOptions.RemoveEmptyEntries).ToList();
        var isSwitch = words.Count > 1 && words[^1] == "on" && action.Value is 0 or 1;
        if (isSwitch)
        {
            words.RemoveAt(words.Count - 1);
            var en = string.Join(' ', words);
            var vi = string.Join(' ', Enumerable.Reverse(words).Select(w => Vietnamese.GetValueOrDefault(w, w)));
            return action.Value == 1
                ? new LocalizedText($"Start the {en} ({device})", $"Bật {vi} ({device})")
                : new LocalizedText($"Stop the {en} ({device})", $"Tắt {vi} ({device})");
        }

        return new LocalizedText(
            $"Set {action.Point} of {device} to {action.Value.ToString(CultureInfo.InvariantCulture)}",
            $"Đặt {action.Point} của {device} = {MessageTemplate.Number(action.Value, vietnamese: true)}");
    }
}
