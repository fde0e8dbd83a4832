namespace IoTPilots.Cloud.Access;

/// <summary>Which sites the caller of a request may see. Everything that lists per-site data filters through it.</summary>
public interface ISiteAccess
{
    bool CanSee(HttpContext context, string site);
}
