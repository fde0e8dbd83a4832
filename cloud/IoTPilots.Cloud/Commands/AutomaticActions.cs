namespace IoTPilots.Cloud.Commands;

/// <summary>Which commands are automatic actions (issue 15), for the live view's tiles and the report.</summary>
public static class AutomaticActions
{
    /// <summary>
    /// Issued by a rule (<c>rule:ID</c>, <see cref="RuleActions"/>) or by the gateway on its own (<c>gateway:max_run</c>),
    /// not by a person: user names have no colon (<see cref="Access.AccountInput.Name"/>), and API keys act as <c>key:NAME</c>.
    /// </summary>
    public static bool IsAutomatic(string issuedBy) =>
        issuedBy.StartsWith("rule:", StringComparison.Ordinal) || issuedBy.StartsWith("gateway:", StringComparison.Ordinal);
}
