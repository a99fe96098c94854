/**
 * Fault injection for the simulated I2C buses: what goes wrong with a real IO Pi Plus in a shed.
 *
 * - {@link unplug} / {@link plugIn}: the chip at an address stops answering (every transaction is
 *   NACKed, exactly as for an address with no chip: ", Remote I/O error", errno 121) and comes back.
 *   `keepState: true` (default) models a loose SDA/SCL wire: the chip stays powered and returns with
 *   every register as it was. `keepState: false` models a loose power wire: it returns at power-on
 *   state (all pins inputs, everything else 0). An address can be unplugged before any chip exists
 *   there (e.g. before a flow is deployed: the chip is then "absent at deploy").
 * - {@link injectFault}: transactions matching a filter fail with an I/O error (EIO, errno 5), a
 *   timeout (ETIMEDOUT, errno 110), a NACK (errno 121) or any error you make; after letting `skip`
 *   matching transactions through, `times` of them fail (1 by default, `Infinity` until cleared).
 *   {@link failNth} is the shorthand for "the Nth matching transaction fails".
 * - A power glitch is {@link SimulatedChip.powerCycle} on `chip(bus, address)`.
 * - {@link clearFaults} removes every fault and plugs every address back in; the simulator's
 *   `reset()` does it too.
 *
 * Errors have the shapes i2c-bus 5 produces on a Pi: Nan's ErrnoException for the SMBus calls
 * (`'EIO, Input/output error'`, errno 5, code 'EIO'; `'ETIMEDOUT, Connection timed out'`, errno 110)
 * and Node fs errors for i2cRead/i2cWrite (`'EIO: i/o error, read'`, errno -5, code 'EIO').
 *
 * A "transaction" is one call of the simulated bus that reaches the wire: argument errors, calls on a
 * closed bus and zero-length plain reads never count and never fail here. By default a failed
 * transaction does not reach the chip; `reachesChip: true` lets it act on the chip first and then
 * report the error (a write that landed but whose last ACK was lost; a read whose data was lost after
 * it cleared the interrupt).
 *
 * Faults live on globalThis (like the chips), so every loaded copy of the simulator sees them.
 *
 * @example
 *   import { chip, unplug, plugIn, injectFault, failNth } from 'node-red-contrib-iopi/simulator';
 *   unplug(1, 0x20);                        // 0x20 on bus 1 NACKs (state kept)
 *   plugIn(1, 0x20);                        // answers again, registers as they were
 *   unplug(1, 0x21, { keepState: false });  // returns at power-on state when plugged in
 *   failNth(3, { address: 0x20, error: 'eio' });        // the 3rd transaction to 0x20 gets EIO
 *   const f = injectFault({ error: 'timeout', times: 5, match: (t) => t.write });  // 5 writes time out
 *   f.clear();
 *   chip(1, 0x20).powerCycle();             // a power glitch: back at power-on values
 */
import type { SimulatedChip } from './chip';

const FAULTS_KEY = Symbol.for('node-red-contrib-iopi.simulator.faults');

/** The bus methods a transaction can come from. */
export type TransactionMethod =
  | 'readByte' | 'writeByte' | 'readWord' | 'writeWord' | 'readI2cBlock' | 'writeI2cBlock'
  | 'i2cRead' | 'i2cWrite' | 'receiveByte' | 'sendByte' | 'writeQuick';

/** What a fault filter sees of one transaction. */
export interface Transaction {
  busNumber: number;
  address: number;
  method: TransactionMethod;
  /** The register (SMBus command) it starts at, for the SMBus calls that have one. */
  register?: number;
  /** Whether it reads from the chip / writes to the chip (a register read writes the pointer first: both). */
  read: boolean;
  write: boolean;
}

/** The error a fault gives: a named kind, or a function that makes the error for a transaction. */
export type FaultError = 'eio' | 'timeout' | 'nack' | ((transaction: Transaction) => Error);

export interface FaultOptions {
  /** Only transactions on this bus (default: any). */
  busNumber?: number;
  /** Only transactions to this address (default: any). */
  address?: number;
  /** Only transactions of these methods (default: any). */
  methods?: readonly TransactionMethod[];
  /** Only transactions this returns true for (called once per transaction that passed the other filters). */
  match?: (transaction: Transaction) => boolean;
  /** What happens: 'eio' (default), 'timeout', 'nack' or your own error. */
  error?: FaultError;
  /** Matching transactions let through before the first failure (default 0: the next one fails). */
  skip?: number;
  /** How many matching transactions fail (default 1; Infinity: all of them until cleared). */
  times?: number;
  /** The failing transaction acts on the chip before the error is reported (default false). */
  reachesChip?: boolean;
}

/** An injected fault; it stays installed until it has failed `times` transactions or is cleared. */
export interface Fault {
  /** Matching transactions seen so far (failed or let through). */
  readonly seen: number;
  /** Transactions failed so far. */
  readonly failed: number;
  /** Whether it can still fail transactions. */
  readonly active: boolean;
  /** Every transaction it failed, in order. */
  readonly failures: readonly Transaction[];
  /** Removes it (transactions pass from now on). */
  clear(): void;
}

export interface UnplugOptions {
  /**
   * true (default): a data-line fault, the chip keeps its registers and comes back as it was.
   * false: a power fault, the chip comes back at power-on state.
   */
  keepState?: boolean;
}

interface FaultEntry extends Fault {
  options: FaultOptions;
  seenCount: number;
  failedList: Transaction[];
  cleared: boolean;
}

interface FaultRegistry {
  readonly version: 1;
  faults: FaultEntry[];
  /** Unplugged places ("bus:address") and whether the chip keeps its state. */
  unplugged: Map<string, { keepState: boolean }>;
}

function registry(): FaultRegistry {
  const holder = globalThis as unknown as Record<symbol, FaultRegistry | undefined>;
  let shared = holder[FAULTS_KEY];
  if (!shared) {
    shared = { version: 1, faults: [], unplugged: new Map() };
    Object.defineProperty(globalThis, FAULTS_KEY, { value: shared, enumerable: false, configurable: true });
  }
  return shared;
}

const place = (busNumber: number, address: number) => `${busNumber}:${address}`;

function checkPlace(busNumber: unknown, address: unknown): void {
  if (typeof busNumber !== 'number' || !Number.isInteger(busNumber) || busNumber < 0) {
    throw new TypeError(`busNumber must be an integer >= 0 (got ${String(busNumber)})`);
  }
  if (typeof address !== 'number' || !Number.isInteger(address) || address < 0 || address > 0x7f) {
    throw new TypeError(`address must be an integer from 0x00 to 0x7F (got ${String(address)})`);
  }
}

/**
 * The address stops answering: every transaction to it is NACKed until {@link plugIn}. Works whether
 * or not a chip exists there yet. Unplugging an unplugged address only updates `keepState`.
 */
export function unplug(busNumber: number, address: number, options: UnplugOptions = {}): void {
  checkPlace(busNumber, address);
  registry().unplugged.set(place(busNumber, address), { keepState: options.keepState !== false });
}

/**
 * The address answers again. If it was unplugged with `keepState: false`, its chip (if any) is power
 * cycled first. Returns whether it was unplugged.
 */
export function plugIn(busNumber: number, address: number): boolean {
  checkPlace(busNumber, address);
  const reg = registry();
  const entry = reg.unplugged.get(place(busNumber, address));
  if (!entry) return false;
  reg.unplugged.delete(place(busNumber, address));
  if (!entry.keepState) chipAt(busNumber, address)?.powerCycle();
  return true;
}

/** The chip at a place, read from the chip registry of ./bus (same globalThis key; no import cycle). */
function chipAt(busNumber: number, address: number): SimulatedChip | undefined {
  const holder = globalThis as unknown as Record<symbol, { chips?: Map<string, SimulatedChip> } | undefined>;
  return holder[Symbol.for('node-red-contrib-iopi.simulator')]?.chips?.get(place(busNumber, address));
}

/** Whether the address is unplugged. */
export function isUnplugged(busNumber: number, address: number): boolean {
  return registry().unplugged.has(place(busNumber, address));
}

/** Installs a fault; see {@link FaultOptions}. Faults are checked in the order they were installed. */
export function injectFault(options: FaultOptions = {}): Fault {
  const skip = options.skip ?? 0;
  const times = options.times ?? 1;
  if (typeof skip !== 'number' || !Number.isInteger(skip) || skip < 0) throw new TypeError(`skip must be an integer >= 0 (got ${String(skip)})`);
  if (typeof times !== 'number' || !(Number.isInteger(times) || times === Infinity) || times < 1) {
    throw new TypeError(`times must be an integer >= 1 or Infinity (got ${String(times)})`);
  }
  const error = options.error ?? 'eio';
  if (typeof error !== 'function' && !['eio', 'timeout', 'nack'].includes(error)) {
    throw new TypeError(`error must be 'eio', 'timeout', 'nack' or a function (got ${String(error)})`);
  }
  const entry: FaultEntry = {
    options: { ...options, skip, times, error },
    seenCount: 0,
    failedList: [],
    cleared: false,
    get seen() { return entry.seenCount; },
    get failed() { return entry.failedList.length; },
    get active() { return !entry.cleared && entry.failedList.length < times; },
    get failures() { return entry.failedList; },
    clear() {
      entry.cleared = true;
      const reg = registry();
      reg.faults = reg.faults.filter((f) => f !== entry);
    },
  };
  registry().faults.push(entry);
  return entry;
}

/** The `n`th matching transaction (1 = the next one) fails once. */
export function failNth(n: number, options: Omit<FaultOptions, 'skip' | 'times'> = {}): Fault {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new TypeError(`n must be an integer >= 1 (got ${String(n)})`);
  return injectFault({ ...options, skip: n - 1, times: 1 });
}

/** Removes every fault and plugs every address back in (chips unplugged without keepState are not power cycled). */
export function clearFaults(): void {
  const reg = registry();
  for (const f of reg.faults) f.cleared = true;
  reg.faults = [];
  reg.unplugged.clear();
}

/** The faults still installed. */
export function activeFaults(): readonly Fault[] {
  return registry().faults.filter((f) => f.active);
}

// -----------------------------------------------------------------------------------------------
// Used by the simulated bus

const READS: ReadonlySet<TransactionMethod> = new Set(['readByte', 'readWord', 'readI2cBlock', 'i2cRead', 'receiveByte']);
const WRITES: ReadonlySet<TransactionMethod> = new Set([
  'readByte', 'readWord', 'readI2cBlock', 'writeByte', 'writeWord', 'writeI2cBlock', 'i2cWrite', 'sendByte', 'writeQuick',
]);

/** @internal The transaction a bus call makes. */
export function describeTransaction(busNumber: number, address: number, method: TransactionMethod, register?: number): Transaction {
  return { busNumber, address, method, register, read: READS.has(method), write: WRITES.has(method) };
}

/** Error shapes of i2c-bus 5: Nan's for SMBus calls, Node fs's for i2cRead/i2cWrite. */
function makeError(kind: 'eio' | 'timeout' | 'nack', t: Transaction): Error {
  const fs = t.method === 'i2cRead' || t.method === 'i2cWrite';
  const syscall = t.method === 'i2cRead' ? 'read' : 'write';
  switch (kind) {
    case 'eio':
      return fs
        ? Object.assign(new Error(`EIO: i/o error, ${syscall}`), { errno: -5, code: 'EIO', syscall })
        : Object.assign(new Error('EIO, Input/output error'), { errno: 5, code: 'EIO' });
    case 'timeout':
      return fs
        ? Object.assign(new Error(`ETIMEDOUT: connection timed out, ${syscall}`), { errno: -110, code: 'ETIMEDOUT', syscall })
        : Object.assign(new Error('ETIMEDOUT, Connection timed out'), { errno: 110, code: 'ETIMEDOUT' });
    default:
      return fs
        ? Object.assign(new Error(`EREMOTEIO: remote I/O error, ${syscall}`), { errno: -121, code: 'EREMOTEIO', syscall })
        : Object.assign(new Error(', Remote I/O error'), { errno: 121, code: '' });
  }
}

/** @internal What happens to a transaction: nothing, a NACK (unplugged), or an injected error. */
export type FaultDecision = undefined | { kind: 'absent'; error: Error } | { kind: 'error'; error: Error; reachesChip: boolean };

/** @internal Called by the simulated bus once per transaction that reaches the wire. */
export function decideFault(t: Transaction): FaultDecision {
  const reg = registry();
  if (reg.unplugged.has(place(t.busNumber, t.address))) return { kind: 'absent', error: makeError('nack', t) };
  for (const f of reg.faults) {
    const o = f.options;
    if (!f.active) continue;
    if (o.busNumber !== undefined && o.busNumber !== t.busNumber) continue;
    if (o.address !== undefined && o.address !== t.address) continue;
    if (o.methods && !o.methods.includes(t.method)) continue;
    if (o.match && !o.match(t)) continue;
    f.seenCount++;
    if (f.seenCount <= (o.skip ?? 0)) continue;
    f.failedList.push(t);
    if (!f.active) reg.faults = reg.faults.filter((x) => x !== f);
    const error = typeof o.error === 'function' ? o.error(t) : makeError(o.error ?? 'eio', t);
    return { kind: 'error', error, reachesChip: o.reachesChip === true };
  }
  return undefined;
}
