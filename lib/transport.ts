/**
 * One transport per I2C bus, shared by every chip on it.
 *
 * Every transaction of every chip on the bus goes through one FIFO, so transfers never interleave
 * and each address's first call (i2c-bus opens one file descriptor per address, lazily and without a
 * guard: parallel first calls leak descriptors) always runs alone. The bus is opened on the first
 * transaction and closed when the last chip releases the transport.
 *
 * Faults a real bus has are handled here, once for every chip on the bus:
 * - **Retry in place.** A transaction that fails with a transient error (EIO, a timeout, a NACK from
 *   an address that answered before on this bus) is tried again a few times, a few milliseconds
 *   apart, before the caller sees the error. The retry runs inside the same FIFO slot, so nothing
 *   overtakes it. Register writes are idempotent, and a read that failed after it reached the chip
 *   (and so may have cleared an interrupt) is simply read again: the caller gets the port as it is.
 * - **Reopen.** After a timeout or a bad file descriptor the handle may be unusable (i2c-bus keeps one
 *   fd per address; the kernel adapter or the virtual bus may be stuck on it), so the bus is closed
 *   and opened again before the retry. A transaction that still fails with an I/O error or a timeout
 *   marks the handle as suspect: the next transaction, whoever makes it, reopens first.
 * Each retry and reopen is counted and reported as an event, so the chip's owner can log a summary.
 */
import { EventEmitter } from 'node:events';
import type { Backend, I2cBus } from './i2c';
import { classifyI2cError, toI2cError, type I2cErrorKind } from './errors';
import { registerLabel } from './registers';

/** Counters a benchmark or a status view can read. */
export interface TransportStats {
  /** I2C transactions issued (one start ... stop, repeated starts included), retries included. */
  transactions: number;
  /** Bytes on the wire: address and data bytes. */
  bytes: number;
  /** Transactions that failed in the end (after their retries). */
  errors: number;
  /** Attempts that failed and were tried again. */
  retries: number;
  /** Times the bus handle was closed and opened again. */
  reopens: number;
}

/** How transient failures are retried. */
export interface RetryPolicy {
  /** Further attempts after an I/O error or a NACK from an address that answered before. Default 3. */
  retries: number;
  /** Further attempts after a timeout (each one may take as long as the timeout). Default 1. */
  timeoutRetries: number;
  /** Milliseconds to wait before retry n (1-based: index n-1; the last entry repeats). Default [1, 2, 5]. */
  delaysMs: readonly number[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 3, timeoutRetries: 1, delaysMs: [1, 2, 5] };

export interface TransportOptions {
  retry?: Partial<RetryPolicy>;
  /** Waits `ms` milliseconds (tests inject their own). Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Longest wait for the old handle to close when reopening. Default 1000 ms. */
  closeTimeoutMs?: number;
}

/** A failed attempt that was tried again. */
export interface RetryEvent {
  address: number;
  /** What was being done, e.g. "reading INTFA". */
  what: string;
  kind: I2cErrorKind;
  /** 1 for the first retry. */
  attempt: number;
  /** Whether the bus handle was reopened before this retry. */
  reopened: boolean;
}

export interface TransportEvents {
  retry: [RetryEvent];
  /** The bus handle was closed and opened again (`why` names the error kind that made it suspect). */
  reopen: [{ why: I2cErrorKind | 'bad-fd' }];
}

type Job<T> = () => Promise<T>;

const registry = new Map<string, Transport>();

const sleepReal = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** EBADF: the fd behind the handle is gone (closed under us). */
function isBadFd(err: unknown): boolean {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return (typeof errno === 'number' && Math.abs(errno) === 9) || (err as { code?: unknown } | null)?.code === 'EBADF';
}

export class Transport extends EventEmitter<TransportEvents> {
  readonly busNumber: number;
  readonly backend: Backend;
  readonly stats: TransportStats = { transactions: 0, bytes: 0, errors: 0, retries: 0, reopens: 0 };
  readonly retryPolicy: RetryPolicy;

  private refs = 0;
  private bus: I2cBus | undefined;
  /** The handle may be unusable (a timeout or I/O error was the last word): reopen before the next transaction. */
  private suspect: I2cErrorKind | 'bad-fd' | undefined;
  /** Addresses that have answered on this bus: a NACK from one of them is a glitch, not an absence. */
  private readonly answered = new Set<number>();
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private closed = false;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly closeTimeoutMs: number;

  private constructor(busNumber: number, backend: Backend, options: TransportOptions) {
    super();
    this.busNumber = busNumber;
    this.backend = backend;
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.sleep = options.sleep ?? sleepReal;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 1000;
  }

  /**
   * The shared transport of bus `busNumber` on `backend`; call {@link release} when done with it.
   * `options` apply when this call creates the transport (the first user of a bus sets them).
   */
  static acquire(busNumber: number, backend: Backend, options: TransportOptions = {}): Transport {
    const key = `${backend.name}:${busNumber}`;
    let transport = registry.get(key);
    if (!transport) {
      transport = new Transport(busNumber, backend, options);
      registry.set(key, transport);
    }
    transport.refs++;
    return transport;
  }

  /** Number of open transports (for leak checks). */
  static openCount(): number {
    return registry.size;
  }

  /** Users of this transport. */
  get users(): number {
    return this.refs;
  }

  /** Transactions queued or running. */
  get queued(): number {
    return this.pending;
  }

  /** Gives up one reference; the last one waits for queued transactions and closes the bus. */
  async release(): Promise<void> {
    if (this.refs === 0) return;
    this.refs--;
    if (this.refs > 0) return;
    this.closed = true;
    registry.delete(`${this.backend.name}:${this.busNumber}`);
    await this.tail.catch(() => undefined);
    const bus = this.bus;
    this.bus = undefined;
    if (bus) await bus.close().catch(() => undefined);
    this.removeAllListeners();
  }

  /** Reads one register (SMBus read byte data). */
  readByte(address: number, register: number): Promise<number> {
    return this.enqueue(address, `reading ${registerLabel(register)}`, 2, 1, (bus) => bus.readByte(address, register));
  }

  /** Writes one register (SMBus write byte data). */
  writeByte(address: number, register: number, value: number): Promise<void> {
    return this.enqueue(address, `writing ${registerLabel(register)}`, 3, 0, (bus) => bus.writeByte(address, register, value));
  }

  /** Reads `length` (1-32) registers from `register` on in one transaction (sequential mode). */
  readBlock(address: number, register: number, length: number): Promise<Buffer> {
    return this.enqueue(address, `reading ${registerLabel(register)}`, 2, length, async (bus) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await bus.readI2cBlock(address, register, length, buffer);
      if (bytesRead !== length) throw Object.assign(new Error(`short read: ${bytesRead} of ${length} bytes`), { errno: 5 });
      return buffer;
    });
  }

  /** Writes `values` (1-32 bytes) to consecutive registers from `register` on in one transaction. */
  writeBlock(address: number, register: number, values: readonly number[]): Promise<void> {
    const buffer = Buffer.from(values);
    return this.enqueue(address, `writing ${registerLabel(register)}`, 2 + values.length, 0, async (bus) => {
      await bus.writeI2cBlock(address, register, buffer.length, buffer);
    });
  }

  private enqueue<T>(address: number, what: string, writeBytes: number, readBytes: number, job: (bus: I2cBus) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`the transport of /dev/i2c-${this.busNumber} is closed`));
    this.pending++;
    const run: Job<T> = async () => {
      try {
        return await this.attempt(address, what, writeBytes, readBytes, job);
      } finally {
        this.pending--;
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** One transaction with its retries (runs in its FIFO slot). */
  private async attempt<T>(address: number, what: string, writeBytes: number, readBytes: number, job: (bus: I2cBus) => Promise<T>): Promise<T> {
    let retriesLeft = this.retryPolicy.retries;
    let timeoutRetriesLeft = this.retryPolicy.timeoutRetries;
    let attempt = 0;
    for (;;) {
      let bus: I2cBus;
      try {
        if (this.suspect && this.bus) await this.reopen();
        else this.suspect = undefined;
        bus = await this.openBus(address);
      } catch (err) {
        this.stats.errors++;
        throw err;
      }
      try {
        this.stats.transactions++;
        // A read is a write of the register pointer (address + register byte), a repeated start, the
        // address again and the data: `writeBytes` counts the first two, the rest is added here.
        this.stats.bytes += writeBytes + (readBytes > 0 ? 1 + readBytes : 0);
        const value = await job(bus);
        this.answered.add(address);
        return value;
      } catch (err) {
        const kind = classifyI2cError(err);
        const badFd = isBadFd(err);
        // A NACK from an address that never answered is an absent chip: say so at once.
        const transient = kind === 'io' || kind === 'timeout' || badFd || (kind === 'absent' && this.answered.has(address));
        const budget = kind === 'timeout' ? timeoutRetriesLeft : retriesLeft;
        if (!transient || budget <= 0 || this.closed) {
          this.stats.errors++;
          // The handle may be what is broken: whoever comes next starts on a fresh one.
          if (kind === 'io' || kind === 'timeout' || badFd) this.suspect = badFd ? 'bad-fd' : kind;
          if (kind === 'absent') this.answered.delete(address); // it is gone: its next NACK is final at once
          throw toI2cError(err, this.busNumber, address, what);
        }
        if (kind === 'timeout') timeoutRetriesLeft--;
        else retriesLeft--;
        attempt++;
        this.stats.retries++;
        // After a timeout or a bad fd the retry runs on a reopened handle. An I/O error is retried on
        // the same handle (what usually works), its last retry on a fresh one.
        if (kind === 'timeout' || badFd) this.suspect = badFd ? 'bad-fd' : 'timeout';
        else if (kind === 'io' && retriesLeft === 0) this.suspect = 'io';
        this.emit('retry', { address, what, kind, attempt, reopened: this.suspect !== undefined });
        const delays = this.retryPolicy.delaysMs;
        const delay = delays.length ? delays[Math.min(attempt - 1, delays.length - 1)] : 0;
        if (delay > 0) await this.sleep(delay);
      }
    }
  }

  /** Closes the handle (waiting at most closeTimeoutMs) so the next transaction opens the bus again. */
  private async reopen(): Promise<void> {
    const why = this.suspect ?? 'io';
    this.suspect = undefined;
    const bus = this.bus;
    this.bus = undefined;
    this.stats.reopens++;
    if (bus) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        bus.close().catch(() => undefined),
        new Promise<void>((resolve) => { timer = setTimeout(resolve, this.closeTimeoutMs); }),
      ]);
      if (timer) clearTimeout(timer);
    }
    this.emit('reopen', { why });
  }

  private async openBus(address: number): Promise<I2cBus> {
    if (!this.bus) {
      try {
        this.bus = await this.backend.open(this.busNumber);
      } catch (err) {
        throw toI2cError(err, this.busNumber, address, 'opening the bus');
      }
    }
    return this.bus;
  }
}
