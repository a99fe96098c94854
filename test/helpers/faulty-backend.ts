/**
 * A Backend on the simulator that counts bus opens/closes and every transaction, can hold
 * transactions until the test lets them go (to make "the chip is busy" deterministic), and can fail
 * chosen transactions with the error shapes i2c-bus produces.
 */
import type { Backend, I2cBus } from '../../lib/i2c';
import { openPromisified } from '../../lib/simulator';

export interface Call {
  method: string;
  address: number;
  register?: number;
  data?: number[];
  length?: number;
}

/** Error shapes of i2c-bus 5 (docs/linux-i2c-and-gpio.md §1.6). */
export const i2cErrors = {
  smbusNack: () => Object.assign(new Error(', Remote I/O error'), { errno: 121, code: '' }),
  fsNack: () => Object.assign(new Error('EREMOTEIO: remote I/O error, read'), { errno: -121, code: 'EREMOTEIO', syscall: 'read' }),
  noBus: (bus: number) => Object.assign(new Error(`ENOENT: no such file or directory, open '/dev/i2c-${bus}'`), { errno: -2, code: 'ENOENT', syscall: 'open' }),
  eio: () => Object.assign(new Error('EIO, Input/output error'), { errno: 5, code: 'EIO' }),
  timeout: () => Object.assign(new Error('ETIMEDOUT, Connection timed out'), { errno: 110, code: 'ETIMEDOUT' }),
  access: (bus: number) => Object.assign(new Error(`EACCES: permission denied, open '/dev/i2c-${bus}'`), { errno: -13, code: 'EACCES', syscall: 'open' }),
};

export interface FaultyBackend extends Backend {
  calls: Call[];
  opens: number;
  closes: number;
  /** Makes the next `open` of a bus fail with this error. */
  failOpen(err: Error): void;
  /** Makes the next transaction matching `method` (any if omitted) fail with this error. */
  failNext(err: Error, method?: string): void;
  /** While held, transactions wait (in order) until {@link release}. */
  hold(): void;
  release(): void;
  /** Transactions waiting because of {@link hold}. */
  readonly waiting: number;
}

let counter = 0;

export function faultyBackend(): FaultyBackend {
  const calls: Call[] = [];
  const openFailures: Error[] = [];
  const failures: { err: Error; method?: string }[] = [];
  let held = false;
  let waiters: (() => void)[] = [];

  const gate = async () => {
    if (!held) return;
    await new Promise<void>((resolve) => waiters.push(resolve));
  };

  const backend: FaultyBackend = {
    name: `faulty-${++counter}`,
    calls,
    opens: 0,
    closes: 0,
    failOpen: (err) => void openFailures.push(err),
    failNext: (err, method) => void failures.push({ err, method }),
    hold: () => void (held = true),
    release: () => {
      held = false;
      const w = waiters;
      waiters = [];
      for (const resolve of w) resolve();
    },
    get waiting() {
      return waiters.length;
    },
    open: async (busNumber: number) => {
      backend.opens++;
      const failure = openFailures.shift();
      if (failure) throw failure;
      const bus = await openPromisified(busNumber);
      const run = async <T>(call: Call, op: () => Promise<T>): Promise<T> => {
        calls.push(call);
        await gate();
        const index = failures.findIndex((f) => f.method === undefined || f.method === call.method);
        if (index >= 0) {
          const [f] = failures.splice(index, 1);
          throw f.err;
        }
        return op();
      };
      const wrapped: I2cBus = {
        readByte: (a, r) => run({ method: 'readByte', address: a, register: r, length: 1 }, () => bus.readByte(a, r)),
        writeByte: (a, r, b) => run({ method: 'writeByte', address: a, register: r, data: [b] }, () => bus.writeByte(a, r, b)),
        readWord: (a, r) => run({ method: 'readWord', address: a, register: r, length: 2 }, () => bus.readWord(a, r)),
        writeWord: (a, r, w) => run({ method: 'writeWord', address: a, register: r, data: [w & 0xff, w >> 8] }, () => bus.writeWord(a, r, w)),
        readI2cBlock: (a, r, l, buf) => run({ method: 'readI2cBlock', address: a, register: r, length: l }, () => bus.readI2cBlock(a, r, l, buf)),
        writeI2cBlock: (a, r, l, buf) => run({ method: 'writeI2cBlock', address: a, register: r, data: [...buf.subarray(0, l)] }, () => bus.writeI2cBlock(a, r, l, buf)),
        i2cRead: (a, l, buf) => run({ method: 'i2cRead', address: a, length: l }, () => bus.i2cRead(a, l, buf)),
        i2cWrite: (a, l, buf) => run({ method: 'i2cWrite', address: a, data: [...buf.subarray(0, l)] }, () => bus.i2cWrite(a, l, buf)),
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

/** Transactions that write a byte at BANK=0 address `register` (block writes covering it included). */
export function writesAt(calls: readonly Call[], register: number, address?: number): Call[] {
  return calls.filter((c) => c.data !== undefined && c.register !== undefined && (address === undefined || c.address === address)
    && register >= c.register && register < c.register + c.data.length);
}

/** Waits until `test()` holds, polling every 1 ms, failing after `ms`. */
export async function waitUntil(test: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
