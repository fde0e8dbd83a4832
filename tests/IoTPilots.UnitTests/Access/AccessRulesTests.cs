using System.Security.Claims;
using IoTPilots.Cloud.Access;

namespace IoTPilots.UnitTests.Access;

/// <summary>Roles, site scopes and API keys: the pure decisions behind every 401, 403 and 404.</summary>
public sealed class AccessRulesTests
{
    private static ClaimsPrincipal Caller(Role role, string sites) =>
        new(new ClaimsIdentity(AccessClaims.For("someone", role, SiteScope.Parse(sites, "sites")), "test"));

    [Theory]
    [InlineData(Role.Viewer, Role.Viewer, true)]
    [InlineData(Role.Viewer, Role.Operator, false)]
    [InlineData(Role.Viewer, Role.Admin, false)]
    [InlineData(Role.Operator, Role.Viewer, true)]
    [InlineData(Role.Operator, Role.Operator, true)]
    [InlineData(Role.Operator, Role.Admin, false)]
    [InlineData(Role.Admin, Role.Operator, true)]
    [InlineData(Role.Admin, Role.Admin, true)]
    public void Each_role_includes_the_ones_below_it(Role have, Role need, bool allowed)
    {
        Assert.Equal(allowed, RoleText.Allows(have, need));
        Assert.Equal(allowed, AccessClaims.Allows(Caller(have, "*"), need));
    }

    [Fact]
    public void Admin_work_needs_every_site_and_an_anonymous_caller_may_do_nothing()
    {
        Assert.False(AccessClaims.Allows(Caller(Role.Admin, "haiphong-ras-1"), Role.Admin));
        Assert.True(AccessClaims.Allows(Caller(Role.Admin, "haiphong-ras-1"), Role.Operator));
        Assert.False(AccessClaims.Allows(new ClaimsPrincipal(new ClaimsIdentity()), Role.Viewer));
        Assert.False(SiteScope.Of(new ClaimsPrincipal(new ClaimsIdentity())).Allows("haiphong-ras-1"));
    }

    [Theory]
    [InlineData("viewer", Role.Viewer)]
    [InlineData(" Operator ", Role.Operator)]
    [InlineData("ADMIN", Role.Admin)]
    public void Roles_parse_by_name_in_any_case(string text, Role role) => Assert.Equal(role, RoleText.Parse(text, "--role"));

    [Theory]
    [InlineData("1")]
    [InlineData("root")]
    [InlineData("admins")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_else_is_not_a_role_and_the_error_names_the_argument(string? text)
    {
        var ex = Assert.Throws<FormatException>(() => RoleText.Parse(text, "--role"));
        Assert.StartsWith($"--role: '{text}' is not a role; give one of viewer, operator, admin", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_scope_is_every_site_or_a_list_and_a_scoped_caller_sees_only_its_sites()
    {
        var all = SiteScope.Parse(" * ", "--sites");
        Assert.True(all.IsAll);
        Assert.True(all.Allows("anything"));
        Assert.Equal("*", all.ToString());

        var two = SiteScope.Parse("haiphong-ras-1, cat-hai-ras-1,haiphong-ras-1", "--sites");
        Assert.False(two.IsAll);
        Assert.Equal(["cat-hai-ras-1", "haiphong-ras-1"], two.Sites);
        Assert.True(two.Allows("cat-hai-ras-1"));
        Assert.False(two.Allows("haiphong-port-1"));
        Assert.False(two.Allows("HAIPHONG-RAS-1"));
        Assert.Equal("cat-hai-ras-1,haiphong-ras-1", two.ToString());

        var caller = Caller(Role.Viewer, "haiphong-ras-1");
        Assert.True(new ClaimsSiteAccess().CanSee(new Microsoft.AspNetCore.Http.DefaultHttpContext { User = caller }, "haiphong-ras-1"));
        Assert.False(new ClaimsSiteAccess().CanSee(new Microsoft.AspNetCore.Http.DefaultHttpContext { User = caller }, "cat-hai-ras-1"));
    }

    [Theory]
    [InlineData("", "--sites: empty")]
    [InlineData("  ", "--sites: empty")]
    [InlineData("*,haiphong-ras-1", "--sites: '*' means every site and cannot be combined")]
    [InlineData("Farm A", "--sites: 'Farm A' is not a site id")]
    [InlineData("haiphong-ras-1,", "--sites: '' is not a site id")]
    [InlineData("site/1", "--sites: 'site/1' is not a site id")]
    public void A_bad_site_list_is_refused_naming_the_argument_and_the_part(string text, string error)
    {
        var ex = Assert.Throws<FormatException>(() => SiteScope.Parse(text, "--sites"));
        Assert.StartsWith(error, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_are_256_random_bits_with_a_prefix_and_are_stored_as_their_sha256()
    {
        var key = ApiKeys.Generate();
        Assert.StartsWith("pk_", key, StringComparison.Ordinal);
        Assert.Equal(46, key.Length);
        Assert.True(ApiKeys.IsWellFormed(key));
        Assert.NotEqual(key, ApiKeys.Generate());

        // FIPS 180-2, appendix B.1: SHA-256("abc").
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeys.Hash("abc"));
        Assert.Equal(64, ApiKeys.Hash(key).Length);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("pk_short")]
    [InlineData("xx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("pk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+")]
    [InlineData("pk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Anything_not_shaped_like_our_keys_is_not_looked_up(string? key) => Assert.False(ApiKeys.IsWellFormed(key));

    [Theory]
    [InlineData("Bearer pk_abc", null, "pk_abc", true)]
    [InlineData("bearer   pk_abc  ", null, "pk_abc", true)]
    [InlineData(null, " pk_abc ", "pk_abc", true)]
    [InlineData("Bearer pk_abc", "pk_other", "pk_abc", true)]
    [InlineData("Basic dXNlcjpwYXNz", null, null, false)]
    [InlineData(null, null, null, false)]
    [InlineData("Bearer ", null, "", true)]
    public void A_key_comes_in_the_authorization_header_or_x_api_key(string? authorization, string? header, string? key, bool present)
    {
        Assert.Equal(key, ApiKeys.FromHeaders(authorization, header, out var found));
        Assert.Equal(present, found);
    }
}
