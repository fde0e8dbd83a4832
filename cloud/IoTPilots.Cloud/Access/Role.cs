namespace IoTPilots.Cloud.Access;

/// <summary>What a user or an API key may do. Each role includes the ones before it.</summary>
public enum Role
{
    /// <summary>Reads alerts, the console, the live view and the ingestion figures.</summary>
    Viewer = 1,

    /// <summary>Also acknowledges and shelves alerts.</summary>
    Operator = 2,

    /// <summary>Also manages users and API keys.</summary>
    Admin = 3,
}

/// <summary>Roles as stored, as claims and as typed on the command line: lowercase English.</summary>
public static class RoleText
{
    public static IReadOnlyList<string> Names { get; } = ["viewer", "operator", "admin"];

    public static string Of(Role role) => role.ToString().ToLowerInvariant();

    /// <summary>Names only: "1" or "Admins" is not a role.</summary>
    public static bool TryParse(string? text, out Role role)
    {
        foreach (var candidate in Enum.GetValues<Role>())
        {
            if (string.Equals(Of(candidate), text?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                role = candidate;
                return true;
            }
        }

        role = default;
        return false;
    }

    /// <exception cref="FormatException">Not a role; the message starts with <paramref name="name"/>.</exception>
    public static Role Parse(string? text, string name) => TryParse(text, out var role)
        ? role
        : throw new FormatException($"{name}: '{text}' is not a role; give one of {string.Join(", ", Names)}");

    /// <summary>Whether <paramref name="have"/> may do what needs <paramref name="need"/>.</summary>
    public static bool Allows(Role have, Role need) => have >= need;
}
