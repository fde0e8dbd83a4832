using System.Net;
using System.Security.Cryptography;
using System.Text;
using IoTPilots.Mqtt.AzureIotHub;

namespace IoTPilots.UnitTests.AzureIotHub;

public sealed class SasTokenTests
{
    // A made-up 32-byte device key, bytes 0x00..0x1F, for the vectors computed independently below.
    private const string TestKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    // The resource and expiry of the device example in "Control access to IoT Hub with shared access
    // signatures" ("Use a symmetric key in the identity registry"); the article elides the key ("..."), so its
    // signature cannot be reproduced, only its shape.
    private const string DocResource = "myhub.azure-devices.net/devices/device1";
    private static readonly DateTimeOffset DocExpiry = DateTimeOffset.FromUnixTimeSeconds(1456971697);

    [Fact]
    public void Matches_the_known_answer_in_the_Azure_IoT_Node_SDK_tests()
    {
        // Azure/azure-iot-sdk-node, common/core/test/_shared_access_signature_test.js, '#toString returns a
        // signature token' without skn: key = base64("password"), resourceUri 'uri', expiry 12345 gives
        // 'SharedAccessSignature sr=uri&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&se=12345'.
        // ('uri' has nothing to escape, so the Node SDK's pre-encoded sr and ours agree.)
        var key = Convert.ToBase64String(Encoding.UTF8.GetBytes("password"));

        var token = SasToken.Create("uri", key, DateTimeOffset.FromUnixTimeSeconds(12345));

        Assert.Equal("SharedAccessSignature sr=uri&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&se=12345", token);
    }

    [Fact]
    public void Device_token_matches_an_independently_computed_vector_with_lowercase_escapes_in_sr()
    {
        // No complete published vector for a device URI exists (Azure's examples elide the key), so this one was
        // computed outside .NET with Python's hmac, hashlib, base64 and urllib.parse:
        //   sr  = quote(resource, safe='-._~') with the %XX escapes lowercased -> myhub.azure-devices.net%2fdevices%2fdevice1
        //   sig = b64encode(HMAC(b64decode(TestKey), f"{sr}\n1456971697", sha256)), then quote(sig, safe='')
        // The sr form is the one the SAS article's example shows: sr=myhub.azure-devices.net%2fdevices%2fdevice1.
        var token = SasToken.Create(DocResource, TestKey, DocExpiry);

        Assert.Equal(
            "SharedAccessSignature sr=myhub.azure-devices.net%2fdevices%2fdevice1&sig=0GYU7fnxhOs%2Frmgk0Z%2FxWw%2F7iFtqzYoQXBtZiig2VkM%3D&se=1456971697",
            token);
    }

    [Fact]
    public void Module_token_matches_an_independently_computed_vector()
    {
        // Same Python computation as above for a module identity's resource URI.
        var token = SasToken.Create("myhub.azure-devices.net/devices/gw-aqua-01/modules/uplink", TestKey, DocExpiry);

        Assert.Equal(
            "SharedAccessSignature sr=myhub.azure-devices.net%2fdevices%2fgw-aqua-01%2fmodules%2fuplink&sig=6RqLM5Rrt2FJaOhIvXNElAZoEAb8Jjp%2FezdmvvMLKQU%3D&se=1456971697",
            token);
    }

    [Fact]
    public void Policy_name_is_appended_as_skn_and_is_not_signed()
    {
        // SAS article: skn is "the name of the shared access policy ... absent if the token refers to
        // device-registry credentials", and the signature covers only "{URL-encoded-resourceURI}\n{expiry}".
        var withoutPolicy = SasToken.Create(DocResource, TestKey, DocExpiry);

        var withPolicy = SasToken.Create(DocResource, TestKey, DocExpiry, keyName: "device");

        Assert.Equal(withoutPolicy + "&skn=device", withPolicy);
    }

    [Fact]
    public void Token_verifies_the_way_the_hub_checks_it()
    {
        // Azure/iotedge's SharedAccessSignature (Microsoft.Azure.Devices.Edge.Util) splits the token at '&' and
        // '=', keeps sr undecoded ("preserve the casing of the escape characters"), URL-decodes the other fields,
        // and compares base64(HMAC-SHA256(key, sr + "\n" + se)) with sig. Mixed-case IDs keep their case.
        var expiry = new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);
        var token = SasToken.Create("Pilots-Hub.azure-devices.net/devices/GW:aqua.01", TestKey, expiry, "device");

        Assert.StartsWith("SharedAccessSignature ", token, StringComparison.Ordinal);
        var fields = token["SharedAccessSignature ".Length..].Split('&').Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1]);
        Assert.Equal(["sr", "sig", "se", "skn"], fields.Keys);
        Assert.Equal("Pilots-Hub.azure-devices.net%2fdevices%2fGW%3aaqua.01", fields["sr"]);
        Assert.Equal("Pilots-Hub.azure-devices.net/devices/GW:aqua.01", WebUtility.UrlDecode(fields["sr"]));
        Assert.Equal(expiry.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), fields["se"]);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(TestKey), Encoding.UTF8.GetBytes(fields["sr"] + "\n" + fields["se"])));
        Assert.Equal(expected, WebUtility.UrlDecode(fields["sig"]));
    }

    [Fact]
    public void Expiry_is_whole_unix_seconds()
    {
        var token = SasToken.Create(DocResource, TestKey, DocExpiry.AddMilliseconds(999));

        Assert.Equal(SasToken.Create(DocResource, TestKey, DocExpiry), token);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("")]
    public void Bad_key_is_rejected_without_echoing_it(string key)
    {
        var error = Assert.Throws<FormatException>(() => SasToken.Create(DocResource, key, DocExpiry));

        Assert.Contains("key", error.Message, StringComparison.Ordinal);
        if (key.Length > 0)
        {
            Assert.DoesNotContain(key, error.Message, StringComparison.Ordinal);
        }
    }
}
