/**
 * Wire-time model for the benchmark: wraps a bus backend (the simulator) so that every transaction
 * occupies a simulated I2C bus for the time its bits take on the wire, and counts what went over it.
 *
 * Bits of one transaction: 9 per byte (8 data + ACK/NACK), address bytes included, plus a start and
 * a stop; a register read (write the pointer, then read) adds a repeated start and the address again.
 *   writeByte (SMBus write byte data):      S A R D P         = 3 bytes -> 29 bits (0.29 ms @ 100 kHz)
 *   readByte  (SMBus read byte data):       S A R Sr A D P    = 4 bytes -> 39 bits (0.39 ms)
 *   readI2cBlock(n):                        S A R Sr A D*n P  = 3+n    -> 9(3+n)+3 bits (6 bytes: 84 bits, 0.84 ms)
 *   writeI2cBlock(n):                       S A R D*n P       = 2+n    -> 9(2+n)+2 bits
 * Byte counts match lib/transport.ts `stats.bytes`.
 *
 * Time: the delay is real. A transaction starts when the bus is free (FIFO per bus, as the kernel's
 * adapter lock does), the simulated chip performs it at its start, and its promise settles only once
 * its bits have been clocked out. The wait is a precise non-blocking one: a setImmediate loop on
 * process.hrtime (setTimeout has a 1 ms granularity), so the event loop keeps running meanwhile.
 */
import type { Backend, BlockRead, BlockWrite, I2cBus } from '../lib/i2c';

export interface WireTransaction {
  /** Start on the wire, ns (process.hrtime.bigint as a number, relative to module load). */
  start: number;
  end: number;
  method: string;
  address: number;
  register?: number;
  /** Data bytes read or written. */
  length: number;
  bytes: number;
  bits: number;
}

export interface WireStats {
  transactions: number;
  bytes: number;
  bits: number;
  /** Every transaction, when logging is on. */
  log: WireTransaction[];
}

const T0 = process.hrtime.bigint();
/** Monotonic time in ns since module load (a double: exact to well under a microsecond for hours). */
export function nowNs(): number {
  return Number(process.hrtime.bigint() - T0);
}
export function nowMs(): number {
  return nowNs() / 1e6;
}

/** Resolves once `untilNs` (see {@link nowNs}) has passed, without blocking the event loop. */
export function waitUntil(untilNs: number): Promise<void> {
  return new Promise((resolve) => {
    const tick = () => (nowNs() >= untilNs ? resolve() : setImmediate(tick));
    tick();
  });
}

/** A precise sleep (setImmediate loop): for sub-millisecond and exact short waits. */
export function preciseSleep(ms: number): Promise<void> {
  return waitUntil(nowNs() + ms * 1e6);
}

/** Bits on the wire for a transaction of `bytes` bytes (address bytes included). */
export function wireBits(bytes: number, repeatedStart: boolean): number {
  return 9 * bytes + 2 + (repeatedStart ? 1 : 0);
}

/** Bits of the common transactions, for the printout. */
export const BITS = {
  readByte: wireBits(4, true),
  writeByte: wireBits(3, false),
  readBlock: (n: number) => wireBits(3 + n, true),
  writeBlock: (n: number) => wireBits(2 + n, false),
};

export interface WiredBackend extends Backend {
  /** SCL clock in Hz (change between runs; default 100 kHz). 0 = no wire time. */
  clockHz: number;
  /** Log each transaction in `stats(bus).log`. */
  logging: boolean;
  stats(busNumber: number): WireStats;
  /** Clears the counters and the log of one bus (or all). */
  clear(busNumber?: number): void;
}

/**
 * A backend that opens `inner` buses and puts each transaction on a simulated wire. One simulated
 * wire per bus number, shared by everything that opens that bus through this backend.
 */
export function wiredBackend(inner: Backend['open'], name = 'simulator'): WiredBackend {
  const wires = new Map<number, { tail: Promise<unknown>; stats: WireStats }>();
  const wire = (busNumber: number) => {
    let w = wires.get(busNumber);
    if (!w) {
      w = { tail: Promise.resolve(), stats: { transactions: 0, bytes: 0, bits: 0, log: [] } };
      wires.set(busNumber, w);
    }
    return w;
  };

  const backend: WiredBackend = {
    name,
    clockHz: 100_000,
    logging: true,
    stats: (busNumber) => wire(busNumber).stats,
    clear(busNumber) {
      for (const [n, w] of wires) {
        if (busNumber !== undefined && n !== busNumber) continue;
        w.stats.transactions = w.stats.bytes = w.stats.bits = 0;
        w.stats.log = [];
      }
    },
    open: async (busNumber: number) => {
      const bus = await inner(busNumber);
      const w = wire(busNumber);
      /** Runs `op` as one transaction on the wire: after the previous one, for its wire time. */
      const onWire = <T>(method: string, address: number, register: number | undefined, length: number, bytes: number, repeatedStart: boolean, op: () => Promise<T>): Promise<T> => {
        const run = async () => {
          const start = nowNs();
          const bits = wireBits(bytes, repeatedStart);
          const clock = backend.clockHz;
          const end = clock > 0 ? start + (bits / clock) * 1e9 : start;
          const result = op();
          // A transfer that fails (no ACK) still used the bus; count it the same.
          w.stats.transactions++;
          w.stats.bytes += bytes;
          w.stats.bits += bits;
          if (backend.logging) w.stats.log.push({ start, end, method, address, register, length, bytes, bits });
          try {
            return await result;
          } finally {
            await waitUntil(end);
          }
        };
        const result = w.tail.then(run, run);
        w.tail = result.catch(() => undefined);
        return result;
      };
      const wrapped: I2cBus = {
        readByte: (a, r) => onWire('readByte', a, r, 1, 4, true, () => bus.readByte(a, r)),
        writeByte: (a, r, b) => onWire('writeByte', a, r, 1, 3, false, () => bus.writeByte(a, r, b)),
        readWord: (a, r) => onWire('readWord', a, r, 2, 5, true, () => bus.readWord(a, r)),
        writeWord: (a, r, v) => onWire('writeWord', a, r, 2, 4, false, () => bus.writeWord(a, r, v)),
        readI2cBlock: (a, r, l, buf): Promise<BlockRead> => onWire('readI2cBlock', a, r, l, 3 + l, true, () => bus.readI2cBlock(a, r, l, buf)),
        writeI2cBlock: (a, r, l, buf): Promise<BlockWrite> => onWire('writeI2cBlock', a, r, l, 2 + l, false, () => bus.writeI2cBlock(a, r, l, buf)),
        i2cRead: (a, l, buf): Promise<BlockRead> => onWire('i2cRead', a, undefined, l, 1 + l, false, () => bus.i2cRead(a, l, buf)),
        i2cWrite: (a, l, buf): Promise<BlockWrite> => onWire('i2cWrite', a, undefined, l, 1 + l, false, () => bus.i2cWrite(a, l, buf)),
        close: () => bus.close(),
      };
      return wrapped;
    },
  };
  return backend;
}
