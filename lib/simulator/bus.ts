/**
 * The simulated I2C buses: a registry of simulated chips by (bus, address) and a drop-in for
 * i2c-bus 5's promisified bus object that talks to them.
 *
 * The bus behaves like i2c-bus on a Raspberry Pi (docs/linux-i2c-and-gpio.md §1):
 * - the same argument checks with the same messages, surfacing as rejected promises (i2c-bus runs
 *   them inside the Promise executor);
 * - results arrive asynchronously (setImmediate), each call atomic, calls served in call order;
 * - SMBus calls are split into I2C messages as Linux's i2c_smbus_xfer_emulated() does (the Pi's
 *   adapters have no hardware SMBus), i2cRead/i2cWrite are one plain message each;
 * - an address with no chip NACKs, with the two error shapes i2c-bus produces: Nan's for SMBus calls
 *   (", Remote I/O error", errno 121, code '') and Node fs's for i2cRead/i2cWrite (EREMOTEIO, -121).
 *
 * The registry lives on globalThis under Symbol.for('node-red-contrib-iopi.simulator'), so two loaded
 * copies of this module (e.g. the package installed twice in a Node-RED user directory) see the same
 * chips. Code here therefore never uses `instanceof SimulatedChip` on a registry entry.
 */
import type { BlockRead, BlockWrite, I2cBus } from '../i2c';
import { ArgumentError } from '../pins';
import { SimulatedChip } from './chip';
import { clearFaults, decideFault, describeTransaction, type TransactionMethod } from './faults';

const REGISTRY_KEY = Symbol.for('node-red-contrib-iopi.simulator');

/** The shared registry. `version` lets a future incompatible layout detect an older copy. */
interface Registry {
  readonly version: 1;
  readonly chips: Map<string, SimulatedChip>;
}

function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  let shared = holder[REGISTRY_KEY];
  if (!shared) {
    shared = { version: 1, chips: new Map() };
    Object.defineProperty(globalThis, REGISTRY_KEY, { value: shared, enumerable: false, configurable: true });
  }
  return shared;
}

function key(busNumber: number, address: number): string {
  return `${busNumber}:${address}`;
}

function checkPlace(busNumber: unknown, address: unknown): void {
  if (typeof busNumber !== 'number' || !Number.isInteger(busNumber) || busNumber < 0) {
    throw new ArgumentError('busNumber', 'an integer >= 0', busNumber);
  }
  if (typeof address !== 'number' || !Number.isInteger(address) || address < 0 || address > 0x7f) {
    throw new ArgumentError('address', 'an integer from 0x00 to 0x7F', address);
  }
}

/**
 * The simulated chip at `address` on bus `busNumber`, created at power-on state on first use; the
 * same object on later calls until {@link remove} or {@link reset}.
 */
export function chip(busNumber: number, address: number): SimulatedChip {
  checkPlace(busNumber, address);
  const chips = registry().chips;
  let found = chips.get(key(busNumber, address));
  if (!found) {
    found = new SimulatedChip(busNumber, address);
    chips.set(key(busNumber, address), found);
  }
  return found;
}

/**
 * Unplugs the chip at that place: it stops answering (NACK) and is forgotten; a later {@link chip}
 * creates a fresh one at power-on. Returns whether there was one.
 */
export function remove(busNumber: number, address: number): boolean {
  checkPlace(busNumber, address);
  return registry().chips.delete(key(busNumber, address));
}

/** Forgets every simulated chip on every bus, and every injected fault (./faults.ts). */
export function reset(): void {
  registry().chips.clear();
  clearFaults();
}

/** The chip answering at a place, if any. */
function lookup(busNumber: number, address: number): SimulatedChip | undefined {
  return registry().chips.get(key(busNumber, address));
}

// -----------------------------------------------------------------------------------------------
// Errors, in the shapes i2c-bus produces

type I2cFailure = Error & { errno: number; code: string; syscall?: string };

/** SMBus call, address not acknowledged: Nan's ErrnoException with an errno its table lacks. */
function smbusRemoteIoError(): I2cFailure {
  return Object.assign(new Error(', Remote I/O error'), { errno: 121, code: '' });
}

/** A Node fs error (i2cRead/i2cWrite use fs.read/fs.write; close uses fs.close). */
function fsError(code: string, errno: number, text: string, syscall: string): I2cFailure {
  return Object.assign(new Error(`${code}: ${text}, ${syscall}`), { errno: -errno, code, syscall });
}

/** A call on a closed bus: EBADF. */
function badFileDescriptor(syscall?: 'read' | 'write'): I2cFailure {
  if (syscall) return fsError('EBADF', 9, 'bad file descriptor', syscall);
  return Object.assign(new Error('EBADF: bad file descriptor'), { errno: -9, code: 'EBADF' });
}

// -----------------------------------------------------------------------------------------------
// i2c-bus's argument checks, same messages (i2c-bus.js 5.2.3)

/** String concatenation as i2c-bus does it (`'Invalid byte ' + byte`), safe for any value. */
function show(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** i2c-bus's argument checks: an integer in range, else an Error with its wording. */
function checkRange(value: unknown, max: number, what: string): void {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > max) {
    throw new Error(`Invalid ${what} ` + show(value));
  }
}

const checkAddress = (addr: unknown) => checkRange(addr, 0x7f, 'I2C address');
const checkCommand = (cmd: unknown) => checkRange(cmd, 0xff, 'I2C command');
const checkByte = (byte: unknown) => checkRange(byte, 0xff, 'byte');
const checkWord = (word: unknown) => checkRange(word, 0xffff, 'word');
const checkBit = (bit: unknown) => checkRange(bit, 1, 'bit');

function checkBufferAndLength(length: unknown, buffer: unknown, maxLength?: number): void {
  if (!Number.isInteger(length) || (length as number) < 0 || (maxLength !== undefined && (length as number) > maxLength)) {
    throw new Error('Invalid buffer length ' + show(length));
  }
  if (!Buffer.isBuffer(buffer)) throw new Error('Invalid buffer ' + show(buffer));
  if (buffer.length < (length as number)) throw new Error('Buffer must contain at least ' + show(length) + ' bytes');
}

function checkBusNumber(busNumber: unknown): void {
  if (!Number.isInteger(busNumber) || (busNumber as number) < 0) {
    throw new Error('Invalid I2C bus number ' + show(busNumber));
  }
}

/** I2C_SMBUS_BLOCK_MAX: i2c-bus refuses longer I2C block transfers before any syscall. */
const SMBUS_BLOCK_MAX = 32;
/** i2c-dev's read()/write() handle at most 8192 bytes per call (drivers/i2c/i2c-dev.c). */
const I2C_DEV_MAX_MESSAGE = 8192;
/** i2c-bus's scan range. */
const FIRST_SCAN_ADDR = 0x03;
const LAST_SCAN_ADDR = 0x77;

/** How a NACK surfaces: Nan's shape for SMBus calls, fs's for plain reads/writes. */
type CallKind = 'smbus' | 'read' | 'write';

// -----------------------------------------------------------------------------------------------
// The bus

/**
 * A simulated /dev/i2c-N opened through {@link openPromisified}; the same methods, results and
 * errors as i2c-bus 5's PromisifiedBus (plus receiveByte, sendByte, writeQuick and scan).
 */
export class SimulatedBus implements I2cBus {
  readonly busNumber: number;
  private closed = false;
  /** Whether a call got past validation before close (i2c-bus then holds an fd to close). */
  private used = false;

  /** @internal Use {@link openPromisified}. */
  constructor(busNumber: number) {
    this.busNumber = busNumber;
  }

  readByte(address: number, command: number): Promise<number> {
    return this.call('smbus', { method: 'readByte', register: command }, address, () => checkCommand(command), (chip) => {
      chip.writeMessage([command]);
      return chip.readMessage(1)[0];
    });
  }

  writeByte(address: number, command: number, byte: number): Promise<void> {
    return this.call('smbus', { method: 'writeByte', register: command }, address, () => { checkCommand(command); checkByte(byte); }, (chip) => {
      chip.writeMessage([command, byte]);
    });
  }

  /** SMBus words are low byte first (docs/mcp23017.md §3.2): the byte at `command`, then the next one is the high byte. */
  readWord(address: number, command: number): Promise<number> {
    return this.call('smbus', { method: 'readWord', register: command }, address, () => checkCommand(command), (chip) => {
      chip.writeMessage([command]);
      const data = chip.readMessage(2);
      return data[0] | (data[1] << 8);
    });
  }

  writeWord(address: number, command: number, word: number): Promise<void> {
    return this.call('smbus', { method: 'writeWord', register: command }, address, () => { checkCommand(command); checkWord(word); }, (chip) => {
      chip.writeMessage([command, word & 0xff, word >> 8]);
    });
  }

  readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<BlockRead> {
    return this.call(
      'smbus', { method: 'readI2cBlock', register: command }, address,
      () => { checkCommand(command); checkBufferAndLength(length, buffer, SMBUS_BLOCK_MAX); },
      (chip) => {
        chip.writeMessage([command]);
        chip.readMessage(length).copy(buffer, 0);
        return { bytesRead: length, buffer };
      },
    );
  }

  writeI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<BlockWrite> {
    return this.call(
      'smbus', { method: 'writeI2cBlock', register: command }, address,
      () => { checkCommand(command); checkBufferAndLength(length, buffer, SMBUS_BLOCK_MAX); },
      (chip) => {
        chip.writeMessage([command, ...buffer.subarray(0, length)]);
        return { bytesWritten: length, buffer };
      },
    );
  }

  /** One plain I2C read message from the chip's current pointer (i2c-bus: fs.read on the fd). */
  i2cRead(address: number, length: number, buffer: Buffer): Promise<BlockRead> {
    return this.call(
      'read', { method: 'i2cRead' }, address, () => checkBufferAndLength(length, buffer),
      (chip) => {
        const count = Math.min(length, I2C_DEV_MAX_MESSAGE);
        chip.readMessage(count).copy(buffer, 0);
        return { bytesRead: count, buffer };
      },
      // Node's fs.read answers a zero-length read at once, without a syscall: nothing reaches the bus.
      length === 0 ? () => ({ bytesRead: 0, buffer }) : undefined,
    );
  }

  /** One plain I2C write message (i2c-bus: fs.write on the fd); the first byte sets the pointer. */
  i2cWrite(address: number, length: number, buffer: Buffer): Promise<BlockWrite> {
    return this.call('write', { method: 'i2cWrite' }, address, () => checkBufferAndLength(length, buffer), (chip) => {
      const count = Math.min(length, I2C_DEV_MAX_MESSAGE);
      chip.writeMessage(buffer.subarray(0, count));
      return { bytesWritten: count, buffer };
    });
  }

  /** SMBus receive byte: one 1-byte read message from the current pointer. */
  receiveByte(address: number): Promise<number> {
    return this.call('smbus', { method: 'receiveByte' }, address, () => undefined, (chip) => chip.readMessage(1)[0]);
  }

  /** SMBus send byte: one 1-byte write message, which only sets the pointer. */
  sendByte(address: number, byte: number): Promise<void> {
    return this.call('smbus', { method: 'sendByte' }, address, () => checkByte(byte), (chip) => {
      chip.writeMessage([byte]);
    });
  }

  /** SMBus quick command: a message with no data (read or write by `bit`); it only probes for an ACK. */
  writeQuick(address: number, bit: number): Promise<void> {
    return this.call('smbus', { method: 'writeQuick' }, address, () => checkBit(bit), (chip) => {
      if (bit === 0) chip.writeMessage([]);
      else chip.readMessage(0);
    });
  }

  /**
   * Addresses that acknowledge, probed like i2c-bus does: a receive byte on each address of the
   * range (0x03-0x77 by default; one address if only `startAddr` is given). As on real hardware the
   * probe reads one byte at each chip's pointer, with that read's side effects. Like i2c-bus (which
   * scans through a second bus object) it works on a closed bus too.
   */
  scan(startAddr?: number, endAddr?: number): Promise<number[]> {
    return new Promise((resolve) => {
      let first = FIRST_SCAN_ADDR;
      let last = LAST_SCAN_ADDR;
      if (startAddr !== undefined) {
        first = startAddr;
        last = endAddr ?? startAddr;
      }
      checkAddress(first);
      checkAddress(last);
      setImmediate(() => {
        const found: number[] = [];
        for (let addr = first; addr <= last; addr++) {
          const target = lookup(this.busNumber, addr);
          if (target) {
            target.readMessage(1);
            found.push(addr);
          }
        }
        resolve(found);
      });
    });
  }

  /**
   * Closes the bus; later calls reject with EBADF. Like i2c-bus, whose close() closes each address's
   * fd again, a second close rejects with EBADF if the bus had been used.
   */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      const again = this.closed;
      this.closed = true;
      setImmediate(() => (again && this.used ? reject(fsError('EBADF', 9, 'bad file descriptor', 'close')) : resolve()));
    });
  }

  /**
   * One call: i2c-bus's checks (address first) inside the executor, so a bad argument rejects; then,
   * on a later turn of the event loop, the whole operation at once against the chip at `address`.
   * The bus state (closed or not) is taken when the call is made, as the fd is with i2c-bus.
   * `noTransfer`, if given, is the result of a call that never reaches the bus (no ACK needed).
   */
  private call<T>(
    kind: CallKind, what: { method: TransactionMethod; register?: number }, address: number, validate: () => void,
    op: (chip: SimulatedChip) => T, noTransfer?: () => T,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      checkAddress(address);
      validate();
      const closed = this.closed;
      if (!closed) this.used = true;
      setImmediate(() => {
        if (closed) return reject(badFileDescriptor(kind === 'smbus' ? undefined : kind));
        if (noTransfer) return resolve(noTransfer());
        const target = lookup(this.busNumber, address);
        // Injected faults (./faults.ts): an unplugged address NACKs like an empty one; an error fault
        // fails the transaction, after letting it act on the chip if it asks for that.
        const fault = target ? decideFault(describeTransaction(this.busNumber, address, what.method, what.register)) : undefined;
        if (!target || fault?.kind === 'absent') {
          return reject(kind === 'smbus' ? smbusRemoteIoError() : fsError('EREMOTEIO', 121, 'remote I/O error', kind));
        }
        if (fault) {
          if (fault.reachesChip) {
            try {
              target.transaction(() => op(target));
            } catch {
              /* the injected error is what the caller gets */
            }
          }
          return reject(fault.error);
        }
        try {
          // One transaction: the messages of a combined SMBus transfer emit at most one 'change'.
          resolve(target.transaction(() => op(target)));
        } catch (err) {
          reject(err);
        }
      });
    });
  }
}

/**
 * Opens simulated bus `busNumber`. Every bus number >= 0 exists; chips appear on it through
 * {@link chip}. `options` (i2c-bus's forceAccess) is accepted and has no effect.
 */
export function openPromisified(busNumber: number, options?: { forceAccess?: boolean }): Promise<SimulatedBus> {
  void options;
  return new Promise((resolve) => {
    checkBusNumber(busNumber);
    const bus = new SimulatedBus(busNumber);
    setImmediate(() => resolve(bus));
  });
}
