/**
 * One transport per I2C bus, shared by every chip on it.
 *
 * Every transaction of every chip on the bus goes through one FIFO, so transfers never interleave
 * and each address's first call (i2c-bus opens one file descriptor per address, lazily and without a
 * guard: parallel first calls leak descriptors) always runs alone. The bus is opened on the first
 * transaction and closed when the last chip releases the transport.
 */
import type { Backend, I2cBus } from './i2c';
import { toI2cError } from './errors';
import { registerLabel } from './registers';

/** Counters a benchmark or a status view can read. */
export interface TransportStats {
  /** I2C transactions issued (one start ... stop, repeated starts included). */
  transactions: number;
  /** Bytes on the wire: address bytes and data bytes. */
  bytes: number;
  /** Transactions that failed. */
  errors: number;
}

type Job<T> = () => Promise<T>;

const registry = new Map<string, Transport>();

export class Transport {
  readonly busNumber: number;
  readonly backend: Backend;
  readonly stats: TransportStats = { transactions: 0, bytes: 0, errors: 0 };

  private refs = 0;
  private bus: I2cBus | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private closed = false;

  private constructor(busNumber: number, backend: Backend) {
    this.busNumber = busNumber;
    this.backend = backend;
  }

  /** The shared transport of bus `busNumber` on `backend`; call {@link release} when done with it. */
  static acquire(busNumber: number, backend: Backend): Transport {
    const key = `${backend.name}:${busNumber}`;
    let transport = registry.get(key);
    if (!transport) {
      transport = new Transport(busNumber, backend);
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
        const bus = await this.openBus(address);
        this.stats.transactions++;
        // A read is a write of the register pointer (address + register byte), a repeated start, the
        // address again and the data: `writeBytes` counts the first two, the rest is added here.
        this.stats.bytes += writeBytes + (readBytes > 0 ? 1 + readBytes : 0);
        return await job(bus);
      } catch (err) {
        this.stats.errors++;
        throw toI2cError(err, this.busNumber, address, what);
      } finally {
        this.pending--;
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
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
