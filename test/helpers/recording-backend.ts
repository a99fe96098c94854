/**
 * A Backend that wraps the simulator and records every I2C call, so tests can assert bus traffic:
 * what was read and written, in which order, and that a rejected call sent nothing.
 */
import type { Backend, I2cBus } from '../../lib/i2c';
import { openPromisified } from '../../lib/simulator';

export interface Transaction {
  bus: number;
  method: string;
  address: number;
  register?: number;
  /** Bytes written (for writes). */
  data?: number[];
  /** Bytes read (for reads). */
  length?: number;
}

export interface RecordingBackend extends Backend {
  log: Transaction[];
  opens: number;
  closes: number;
  /** Writes at a register (block writes covering it count as well). */
  writesAt(register: number): Transaction[];
  clear(): void;
}

let counter = 0;

export function recordingBackend(): RecordingBackend {
  const log: Transaction[] = [];
  const backend: RecordingBackend = {
    name: `recording-${++counter}`,
    log,
    opens: 0,
    closes: 0,
    writesAt(register: number) {
      return log.filter((t) => t.data !== undefined && t.register !== undefined && register >= t.register && register < t.register + t.data.length);
    },
    clear() {
      log.length = 0;
    },
    open: async (busNumber: number) => {
      backend.opens++;
      const bus = await openPromisified(busNumber);
      const wrapped: I2cBus = {
        readByte: (a, r) => (log.push({ bus: busNumber, method: 'readByte', address: a, register: r, length: 1 }), bus.readByte(a, r)),
        writeByte: (a, r, b) => (log.push({ bus: busNumber, method: 'writeByte', address: a, register: r, data: [b] }), bus.writeByte(a, r, b)),
        readWord: (a, r) => (log.push({ bus: busNumber, method: 'readWord', address: a, register: r, length: 2 }), bus.readWord(a, r)),
        writeWord: (a, r, w) => (log.push({ bus: busNumber, method: 'writeWord', address: a, register: r, data: [w & 0xff, w >> 8] }), bus.writeWord(a, r, w)),
        readI2cBlock: (a, r, l, buf) => (log.push({ bus: busNumber, method: 'readI2cBlock', address: a, register: r, length: l }), bus.readI2cBlock(a, r, l, buf)),
        writeI2cBlock: (a, r, l, buf) => (log.push({ bus: busNumber, method: 'writeI2cBlock', address: a, register: r, data: [...buf.subarray(0, l)] }), bus.writeI2cBlock(a, r, l, buf)),
        i2cRead: (a, l, buf) => (log.push({ bus: busNumber, method: 'i2cRead', address: a, length: l }), bus.i2cRead(a, l, buf)),
        i2cWrite: (a, l, buf) => (log.push({ bus: busNumber, method: 'i2cWrite', address: a, data: [...buf.subarray(0, l)] }), bus.i2cWrite(a, l, buf)),
        close: () => {
          backend.closes++;
          return bus.close();
        },
      };
      return wrapped;
    },
  };
  return backend;
}
