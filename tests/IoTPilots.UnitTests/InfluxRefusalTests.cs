using IoTPilots.Cloud.Influx;

namespace IoTPilots.UnitTests;

/// <summary>The refusals below are influxd 1.6.7's own answers, taken from a real server (curl to /write).</summary>
public class InfluxRefusalTests
{
    [Fact]
    public void Unparsable_lines_are_named_one_by_one_and_the_rest_was_stored()
    {
        string[] lines = ["m f=1 1000", "bad line here", "m f=3 3000", "m,t=a g="];
        var refusal = new WriteRefusal(400, "partial write: unable to parse 'bad line here': invalid field format\nunable to parse 'm,t=a g=': missing field value dropped=0");

        var analysis = InfluxRefusal.Analyse(refusal, lines);

        Assert.True(InfluxRefusal.IsAboutData(refusal));
        Assert.Equal(new Dictionary<int, string> { [1] = "unable to parse: invalid field format", [3] = "unable to parse: missing field value" }, analysis.Bad);
        Assert.True(analysis.RestStored);
    }

    [Fact]
    public void A_type_conflict_names_the_field_and_every_line_giving_it_another_type()
    {
        string[] lines = ["p f=1 1000", "p f=\"s\" 5000", "p f=true 6000", "q f=\"s\" 7000"];
        var refusal = new WriteRefusal(400, "partial write: field type conflict: input field \"f\" on measurement \"p\" is type string, already exists as type float dropped=2");

        var analysis = InfluxRefusal.Analyse(refusal, lines);

        Assert.Equal([1, 2], analysis.Bad.Keys.Order());
        // A conflict hides the request's unparsable lines, if any: the rest must be sent again to find out.
        Assert.False(analysis.RestStored);
    }

    [Fact]
    public void A_partial_write_dropping_more_than_it_names_is_not_taken_as_stored()
    {
        string[] lines = ["p f=\"s\" 5000", "q g=\"s\" 6000"];
        var refusal = new WriteRefusal(400, "partial write: field type conflict: input field \"f\" on measurement \"p\" is type string, already exists as type float dropped=2");

        var analysis = InfluxRefusal.Analyse(refusal, lines);

        Assert.Equal([0], analysis.Bad.Keys);
        Assert.False(analysis.RestStored);
    }

    [Theory]
    [InlineData(400, "field type conflict", true)]
    [InlineData(400, "partial write: points beyond retention policy dropped=1", true)]
    [InlineData(422, "failure writing points to database", true)]
    [InlineData(400, "retention policy not found: nope", false)]
    [InlineData(400, "database is required", false)]
    public void Only_refusals_about_the_points_are_taken_as_data_problems(int status, string error, bool aboutData)
    {
        Assert.Equal(aboutData, InfluxRefusal.IsAboutData(new WriteRefusal(status, error)));
        Assert.Empty(InfluxRefusal.Analyse(new WriteRefusal(status, error), ["m f=1 1"]).Bad);
    }

    [Fact]
    public void Content_quoted_in_an_error_is_left_out()
    {
        Assert.Equal("unable to parse '…': bad timestamp", InfluxRefusal.WithoutContent("unable to parse 'telemetry,device=d do_mg_l=6.5 x': bad timestamp"));
    }

    [Fact]
    public void Field_types_are_read_as_influx_names_them()
    {
        Assert.Equal(
            [("a", "float"), ("b", "integer"), ("c", "string"), ("d\\ e", "boolean"), ("u", "unsigned")],
            LineParts.Fields("m\\ x,t=a\\ b a=1.5,b=2i,c=\"x, \\\"y\\\" z\",d\\ e=true,u=3u 1000"));
        Assert.Equal("m\\ x", LineParts.Measurement("m\\ x,t=a\\ b a=1.5 1"));
        Assert.Equal("m\\ x,t=a\\ b", LineParts.SeriesKey("m\\ x,t=a\\ b a=1.5 1"));
    }
}
