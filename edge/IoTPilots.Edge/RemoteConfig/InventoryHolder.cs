using IoTPilots.Contract;
using IoTPilots.Devices;

namespace IoTPilots.Edge.RemoteConfig;

/// <summary>
/// The inventory the gateway runs now, swapped whole by a push or a rollback. Polling and the command path take it
/// with the token that tells them it was swapped: polling then stops its pollers and starts the new set.
/// </summary>
public sealed class InventoryHolder(Inventory initial, RunningInventory? status = null)
{
    private readonly Lock _gate = new();
    private CancellationTokenSource _swapped = new();

    public Inventory Current
    {
        get
        {
            lock (_gate)
            {
                return initial;
            }
        }
    }

    /// <summary>What the gateway's status says of it; null where remote configuration is off.</summary>
    public RunningInventory? Status { get; set; } = status;

    /// <summary>The inventory now and a token cancelled when it is swapped, read together.</summary>
    public (Inventory Inventory, CancellationToken Swapped) Take()
    {
        lock (_gate)
        {
            return (initial, _swapped.Token);
        }
    }

    public void Swap(Inventory next)
    {
        CancellationTokenSource old;
        lock (_gate)
        {
            initial = next;
            old = _swapped;
            _swapped = new CancellationTokenSource();
        }

        // Not disposed: a poller may still hold its token; cancelled tokens cost nothing.
        old.Cancel();
    }
}
