using System.Security.Claims;
using IoTPilots.Contract;

namespace IoTPilots.Cloud.Access;

/// <summary>
/// The sites a user or key may see: all of them (<c>*</c>, the program manager, an integrator) or a list (a farm's
/// people see their farm). Stored and carried in the session as text: <c>*</c> or <c>site-a,site-b</c>.
/// </summary>
public sealed class SiteScope
{
    public const string ClaimType = "pilots:sites";

    public static readonly SiteScope All = new(null);

    /// <summary>No site: what a request without a known caller may see.</summary>
    public static readonly SiteScope None = new([]);

    private readonly HashSet<string>? _sites;

    private SiteScope(HashSet<string>? sites) => _sites = sites;

    public bool IsAll => _sites is null;

    /// <summary>The sites, sorted; empty for <see cref="All"/>.</summary>
    public IReadOnlyList<string> Sites => _sites is null ? [] : [.. _sites.Order(StringComparer.Ordinal)];

    public bool Allows(string site) => _sites is null || _sites.Contains(site);

    public override string ToString() => _sites is null ? "*" : string.Join(",", Sites);

    /// <summary>
    /// <c>*</c>, or site ids separated by commas, each as the wire contract has them (<see cref="Identifiers.Rule"/>).
    /// </summary>
    /// <exception cref="FormatException">Empty, or a part that is not a site id; the message starts with <paramref name="name"/>.</exception>
    public static SiteScope Parse(string? text, string name)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new FormatException($"{name}: empty; give '*' for every site or site ids separated by commas, e.g. haiphong-ras-1,cat-hai-ras-1");
        }

        if (text.Trim() == "*")
        {
            return All;
        }

        var sites = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in text.Split(','))
        {
            var site = part.Trim();
            if (site == "*")
            {
                throw new FormatException($"{name}: '*' means every site and cannot be combined with others");
            }

            if (!Identifiers.IsValid(site))
            {
                throw new FormatException($"{name}: '{(site.Length <= 40 ? site : site[..40] + "...")}' is not a site id ({Identifiers.Rule})");
            }

            sites.Add(site);
        }

        return new SiteScope(sites);
    }

    /// <summary>The scope of an authenticated caller (from the claim the sign-in or the key put there); none without one.</summary>
    public static SiteScope Of(ClaimsPrincipal user)
    {
        if (user.Identity?.IsAuthenticated != true || user.FindFirst(ClaimType)?.Value is not { } text)
        {
            return None;
        }

        try
        {
            return Parse(text, ClaimType);
        }
        catch (FormatException)
        {
            return None;
        }
    }
}
