/**
 * What the chip holds and what it has been asked to hold: the register cache of the driver.
 *
 * - `written` is what the chip holds, as far as we know: every byte we wrote successfully (and OLAT
 *   as read from the chip at the first open). After an outage or a power glitch the chip gets exactly
 *   this back, so it ends with the state of the last change that was confirmed as written.
 * - Changes wait in call order as {@link WriteRequest}s. `desired` is `written` with every waiting
 *   change applied, which is what getters and toggles see.
 * - Requests are written in order, in batches: consecutive requests share one batch (one pass of
 *   the write plan) only when no state of an earlier one would be skipped, i.e. when they touch
 *   different bits or set the same value. Requests marked `latest` may also overwrite each other's
 *   bits in a batch (only the last value reaches the chip, for high-rate streams).
 * - A request has a deadline. One that is still waiting at its deadline is withdrawn: `desired` is
 *   computed again without it and its promise is rejected, so it is never written later. A request
 *   with no deadline (Infinity) waits until it is written (the settings nodes stage at deploy).
 *
 * No I/O and no timers here: the driver decides when batches are written and when deadlines are checked.
 */
import { BANK0, IOCON_WRITABLE } from './registers';

/** The 16-bit registers kept here (bit k = pin k+1); IOCON is kept as its 8-bit value. */
export type CachedRegister = 'IODIR' | 'IPOL' | 'GPINTEN' | 'DEFVAL' | 'INTCON' | 'GPPU' | 'OLAT';

export const CACHED_REGISTERS: readonly CachedRegister[] = ['IODIR', 'IPOL', 'GPINTEN', 'DEFVAL', 'INTCON', 'GPPU', 'OLAT'];

/** BANK=0 address of each cached register's port A byte (port B is the next address). */
export const CACHED_ADDRESS: Record<CachedRegister, number> = {
  IODIR: BANK0.IODIRA,
  IPOL: BANK0.IPOLA,
  GPINTEN: BANK0.GPINTENA,
  DEFVAL: BANK0.DEFVALA,
  INTCON: BANK0.INTCONA,
  GPPU: BANK0.GPPUA,
  OLAT: BANK0.OLATA,
};

export interface RegisterValues extends Record<CachedRegister, number> {
  IOCON: number;
}

/** Power-on values (datasheet Table 3-1): all pins inputs, everything else 0. */
export function powerOnValues(): RegisterValues {
  return { IODIR: 0xffff, IPOL: 0, GPINTEN: 0, DEFVAL: 0, INTCON: 0, GPPU: 0, OLAT: 0, IOCON: 0 };
}

/** One change: the bits in `mask` of `register` get `value`'s bits, or are inverted ('toggle'). */
export interface RegisterChange {
  register: CachedRegister;
  mask: number;
  value: number | 'toggle';
}

/** What one call asks for: written together, or not at all. */
export interface RegisterUpdate {
  changes: RegisterChange[];
  /** New IOCON value (INT output options). */
  iocon?: number;
}

export type RequestState = 'waiting' | 'writing';

export interface WriteRequest {
  readonly seq: number;
  readonly update: RegisterUpdate;
  readonly latest: boolean;
  /** How long it may wait (ms; Infinity: until written), for messages. */
  readonly waitMs: number;
  /** Clock time after which a waiting request is withdrawn; Infinity: never. */
  readonly deadline: number;
  state: RequestState;
  resolve(values: RegisterValues): void;
  reject(error: Error): void;
}

/** Requests written together, the state they lead to and the bytes that must go to the chip for it. */
export interface Batch {
  requests: WriteRequest[];
  target: RegisterValues;
  /** BANK=0 address -> value. */
  bytes: Map<number, number>;
}

/** The value of a BANK=0 address in a set of register values (IOCON at both of its addresses). */
export function byteOf(values: RegisterValues, address: number): number {
  if (address === BANK0.IOCONA || address === BANK0.IOCONB) return values.IOCON & IOCON_WRITABLE;
  for (const register of CACHED_REGISTERS) {
    const base = CACHED_ADDRESS[register];
    if (address === base) return values[register] & 0xff;
    if (address === base + 1) return (values[register] >> 8) & 0xff;
  }
  throw new RangeError(`address 0x${address.toString(16)} is not a cached register`);
}

/** Every writable BANK=0 address: IODIR..GPPU (0x00-0x0D) and OLAT (0x14-0x15). */
export const WRITABLE_ADDRESSES: readonly number[] = [...Array.from({ length: 14 }, (_, i) => i), BANK0.OLATA, BANK0.OLATB];

/** `values` after `update`. */
export function applyUpdate(values: RegisterValues, update: RegisterUpdate): RegisterValues {
  const next = { ...values };
  for (const change of update.changes) {
    const before = next[change.register];
    const value = change.value === 'toggle' ? ~before : change.value;
    next[change.register] = ((before & ~change.mask) | (value & change.mask)) & 0xffff;
  }
  if (update.iocon !== undefined) next.IOCON = update.iocon & 0xff;
  return next;
}

export class RegisterState {
  private writtenValues: RegisterValues;
  private desiredValues: RegisterValues;
  /** Requests not yet written, in call order (writing ones first). */
  private readonly queue: WriteRequest[] = [];
  private seqCounter = 0;

  constructor(initial: RegisterValues = powerOnValues()) {
    this.writtenValues = { ...initial };
    this.desiredValues = { ...initial };
  }

  /** What the chip holds (as far as we know). */
  get written(): Readonly<RegisterValues> {
    return this.writtenValues;
  }

  /** What the chip will hold once every waiting request is written. */
  get desired(): Readonly<RegisterValues> {
    return this.desiredValues;
  }

  /** Sequence number of the newest request (0: none yet). */
  get lastSeq(): number {
    return this.seqCounter;
  }

  /** Requests not yet written (waiting or being written). */
  get size(): number {
    return this.queue.length;
  }

  /** Earliest deadline of a waiting request (Infinity if none). */
  get nextDeadline(): number {
    let next = Infinity;
    for (const r of this.queue) if (r.state === 'waiting' && r.deadline < next) next = r.deadline;
    return next;
  }

  /** Queues an update; its promise resolves with the register values once it is written. */
  add(update: RegisterUpdate, options: { latest: boolean; waitMs: number; now: number }): { request: WriteRequest; done: Promise<RegisterValues> } {
    let resolve!: (values: RegisterValues) => void;
    let reject!: (error: Error) => void;
    const done = new Promise<RegisterValues>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const request: WriteRequest = {
      seq: ++this.seqCounter,
      update,
      latest: options.latest,
      waitMs: options.waitMs,
      deadline: options.waitMs === Infinity ? Infinity : options.now + options.waitMs,
      state: 'waiting',
      resolve,
      reject,
    };
    this.queue.push(request);
    this.desiredValues = applyUpdate(this.desiredValues, update);
    return { request, done };
  }

  /** Sets what the chip holds for a register without a request (OLAT as read at the first open). */
  adopt(register: CachedRegister, value: number): void {
    this.writtenValues = { ...this.writtenValues, [register]: value & 0xffff };
    this.recompute();
  }

  /**
   * The next batch: waiting requests from the head of the queue, up to `maxSeq`, that can share one
   * pass of the write plan. They are marked 'writing'. Undefined if there is nothing to write.
   * `full`: the batch is for a full (re)write of the chip (open, restore): its bytes are every
   * writable register, and it may be empty (then it writes what the chip was last given).
   */
  nextBatch(maxSeq = Infinity, full = false): Batch | undefined {
    const requests: WriteRequest[] = [];
    let target: RegisterValues = { ...this.writtenValues };
    // Bits each register has been given in this batch, and whether every request giving them was `latest`.
    const touched: Partial<Record<CachedRegister, number>> = {};
    let ioconTouched = false;
    let allLatest = true;
    let olatMask = 0;
    for (const request of this.queue) {
      if (request.state !== 'waiting' || request.seq > maxSeq) break;
      const next = applyUpdate(target, request.update);
      if (requests.length > 0) {
        let skips = false;
        for (const change of request.update.changes) {
          const overlap = (touched[change.register] ?? 0) & change.mask;
          if (overlap & (next[change.register] ^ target[change.register])) skips = true;
        }
        if (request.update.iocon !== undefined && ioconTouched && next.IOCON !== target.IOCON) skips = true;
        if (skips && !(allLatest && request.latest)) break;
      }
      for (const change of request.update.changes) {
        touched[change.register] = (touched[change.register] ?? 0) | change.mask;
        if (change.register === 'OLAT') olatMask |= change.mask;
      }
      if (request.update.iocon !== undefined) ioconTouched = true;
      allLatest &&= request.latest;
      target = next;
      requests.push(request);
    }
    if (requests.length === 0 && !full) return undefined;
    for (const r of requests) r.state = 'writing';
    const bytes = new Map<number, number>();
    if (full) {
      for (const address of WRITABLE_ADDRESSES) if (address !== BANK0.IOCONB) bytes.set(address, byteOf(target, address));
      return { requests, target, bytes };
    }
    // Outputs are written whenever asked for (the caller's intent, and cheap); configuration bytes
    // only where they change.
    if (olatMask & 0x00ff) bytes.set(BANK0.OLATA, target.OLAT & 0xff);
    if (olatMask & 0xff00) bytes.set(BANK0.OLATB, (target.OLAT >> 8) & 0xff);
    for (const address of WRITABLE_ADDRESSES) {
      if (address === BANK0.OLATA || address === BANK0.OLATB || address === BANK0.IOCONB) continue;
      const value = byteOf(target, address);
      if (value !== byteOf(this.writtenValues, address)) bytes.set(address, value);
    }
    return { requests, target, bytes };
  }

  /** The batch is on the chip: it is what the chip holds now, and its requests are resolved. */
  commit(batch: Batch): void {
    this.writtenValues = { ...batch.target };
    // The batch is the head of the queue, so `desired` (written + the queue) does not change.
    if (batch.requests.length && this.queue[0] === batch.requests[0]) this.queue.splice(0, batch.requests.length);
    else {
      for (const r of batch.requests) this.remove(r);
      this.recompute();
    }
    for (const r of batch.requests) r.resolve(this.writtenValues);
  }

  /** The batch was not written: its requests wait again (those already past `now` are withdrawn with `error`). */
  abort(batch: Batch, now: number, error: (request: WriteRequest) => Error): void {
    for (const r of batch.requests) r.state = 'waiting';
    this.expire(now, error);
  }

  /** Withdraws every waiting request whose deadline has passed; returns how many. */
  expire(now: number, error: (request: WriteRequest) => Error): number {
    const expired = this.queue.filter((r) => r.state === 'waiting' && r.deadline <= now);
    if (expired.length === 0) return 0;
    for (const r of expired) this.remove(r);
    this.recompute();
    for (const r of expired) r.reject(error(r));
    return expired.length;
  }

  /** Withdraws every request that is not being written (on close). */
  rejectAll(error: Error): void {
    const waiting = this.queue.filter((r) => r.state === 'waiting');
    for (const r of waiting) this.remove(r);
    this.recompute();
    for (const r of waiting) r.reject(error);
  }

  /** BANK=0 addresses that a request not yet written will change (their chip value is about to differ). */
  pendingAddresses(): Set<number> {
    const addresses = new Set<number>();
    for (const r of this.queue) {
      for (const change of r.update.changes) {
        const base = CACHED_ADDRESS[change.register];
        if (change.mask & 0x00ff) addresses.add(base);
        if (change.mask & 0xff00) addresses.add(base + 1);
      }
      if (r.update.iocon !== undefined) addresses.add(BANK0.IOCONA).add(BANK0.IOCONB);
    }
    return addresses;
  }

  private remove(request: WriteRequest): void {
    const i = this.queue.indexOf(request);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private recompute(): void {
    let values: RegisterValues = { ...this.writtenValues };
    for (const r of this.queue) values = applyUpdate(values, r.update);
    this.desiredValues = values;
  }
}
