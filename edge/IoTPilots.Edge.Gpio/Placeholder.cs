namespace IoTPilots.Edge.Gpio;

internal static class Placeholder
{
}
