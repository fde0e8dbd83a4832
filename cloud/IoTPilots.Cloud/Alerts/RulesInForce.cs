using IoTPilots.Rules;

namespace IoTPilots.Cloud.Alerts;

/// <summary>
/// The rules engine this process judges with. Each new leader term starts a fresh engine with the rules then in force
/// (<see cref="RulesService"/>: nothing carries over from an earlier term), and a reload changes that engine's rules;
/// what reads the rules from outside the service (which rules offer a one-tap action) reads them here, so it follows both.
/// </summary>
public sealed class RulesInForce(RulesEngine engine)
{
    private RulesEngine _engine = engine;

    public RulesEngine Engine
    {
        get => Volatile.Read(ref _engine);
        set => Volatile.Write(ref _engine, value);
    }
}
