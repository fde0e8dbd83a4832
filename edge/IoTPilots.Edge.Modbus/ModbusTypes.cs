namespace IoTPilots.Edge.Modbus;

/// <summary>Public function codes of the Modbus Application Protocol v1.1b3, section 6.</summary>
public enum FunctionCode : byte
{
    ReadCoils = 0x01,
    ReadDiscreteInputs = 0x02,
    ReadHoldingRegisters = 0x03,
    ReadInputRegisters = 0x04,
    WriteSingleCoil = 0x05,
    WriteSingleRegister = 0x06,
    WriteMultipleCoils = 0x0F,
    WriteMultipleRegisters = 0x10,
}

/// <summary>Exception codes, Modbus Application Protocol v1.1b3 section 7.</summary>
public enum ExceptionCode : byte
{
    IllegalFunction = 0x01,
    IllegalDataAddress = 0x02,
    IllegalDataValue = 0x03,
    ServerDeviceFailure = 0x04,
    Acknowledge = 0x05,
    ServerDeviceBusy = 0x06,
    GatewayPathUnavailable = 0x0A,
    GatewayTargetFailedToRespond = 0x0B,
}

/// <summary>The device answered with an exception response.</summary>
public sealed class ModbusExceptionResponse(byte unitId, FunctionCode function, ExceptionCode code)
    : Exception($"unit {unitId} refused {function} (FC{(byte)function}): {Describe(code)}")
{
    public byte UnitId { get; } = unitId;

    public FunctionCode Function { get; } = function;

    public ExceptionCode Code { get; } = code;

    public static string Describe(ExceptionCode code) => code switch
    {
        ExceptionCode.IllegalFunction => "exception 1, illegal function (the device does not support this function code)",
        ExceptionCode.IllegalDataAddress => "exception 2, illegal data address (check the register map and the 0/1-based offset)",
        ExceptionCode.IllegalDataValue => "exception 3, illegal data value (count or value out of range)",
        ExceptionCode.ServerDeviceFailure => "exception 4, server device failure",
        ExceptionCode.Acknowledge => "exception 5, acknowledge (long operation in progress)",
        ExceptionCode.ServerDeviceBusy => "exception 6, server device busy",
        ExceptionCode.GatewayPathUnavailable => "exception 10, gateway path unavailable",
        ExceptionCode.GatewayTargetFailedToRespond => "exception 11, gateway target device failed to respond",
        _ => $"exception {(byte)code}",
    };
}

/// <summary>The bytes received are not a valid Modbus frame (CRC, length, transaction id, function).</summary>
public sealed class ModbusFrameException(string message) : Exception(message);

/// <summary>The device did not answer within the timeout, after all retries.</summary>
public sealed class ModbusTimeoutException(string message) : TimeoutException(message);
