namespace IoTPilots.Devices;

/// <summary>The four data tables of the Modbus data model [docs/domain.md M1].</summary>
public enum Table
{
    Coil,
    DiscreteInput,
    InputRegister,
    HoldingRegister,
}
