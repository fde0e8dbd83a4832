"""A Modbus slave from pymodbus (Debian's python3-pymodbus), the reference the edge's own stack is tested against.

  pymodbus_server.py tcp PORT   --unit N [--holding A=V,V,...] [--input A=V,...]
  pymodbus_server.py rtu DEVICE --unit N [--baud 9600] [...]

Register values are 16-bit words, decimal or 0x-hex, written from address A (PDU addressing, from 0).
Prints 'serving' once the data store is built; the test then waits for the port or the first answer.
"""
import argparse
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartSerialServer, StartTcpServer
from pymodbus.transaction import ModbusRtuFramer


def block(specs):
    words = [0] * 1000
    for spec in specs or []:
        start, values = spec.split("=", 1)
        for i, v in enumerate(values.split(",")):
            words[int(start, 0) + i] = int(v, 0) & 0xFFFF
    return ModbusSequentialDataBlock(0, words)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["tcp", "rtu"])
    p.add_argument("where")
    p.add_argument("--unit", type=int, required=True)
    p.add_argument("--baud", type=int, default=9600)
    p.add_argument("--holding", action="append")
    p.add_argument("--input", action="append")
    a = p.parse_args()
    slave = ModbusSlaveContext(
        hr=block(a.holding), ir=block(a.input),
        co=ModbusSequentialDataBlock(0, [0] * 1000), di=ModbusSequentialDataBlock(0, [0] * 1000),
        zero_mode=True)
    context = ModbusServerContext(slaves={a.unit: slave}, single=False)
    print("serving", flush=True)
    if a.mode == "tcp":
        StartTcpServer(context=context, address=("127.0.0.1", int(a.where)))
    else:
        StartSerialServer(context=context, framer=ModbusRtuFramer, port=a.where, baudrate=a.baud,
                          bytesize=8, parity="N", stopbits=1, timeout=0.05)


if __name__ == "__main__":
    sys.exit(main())
