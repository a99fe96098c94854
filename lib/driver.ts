/**
 * MCP23017 chip driver: the AB Electronics IOPi library's whole capability, done right.
 *
 * - Every argument is checked before anything is queued, so a bad call never sends a byte.
 * - Configuration registers and OLAT live in a register cache (./register-state.ts): what the chip
 *   holds, and the changes asked for, waiting in call order. A pin write is a masked write from the
 *   cached OLAT, never a read-modify-write of GPIO (which would clear pending interrupts and copy
 *   input levels into OLAT).
 * - Every change reaches the chip in order: changes that arrive while the chip is busy share one
 *   write only when no state is skipped (different pins, or the same value), unless the caller asked
 *   for the latest value only (`latest`).
 * - A write resolves once it is on the chip and rejects with a {@link NotWrittenError} if it could not
 *   be written within its wait time (`waitMs`, default `writeWaitMs` = 2 s): then it is withdrawn and
 *   never written later. Changes with `waitMs: Infinity` (settings) wait until they are written.
 * - All operations of one chip run one at a time in call order (a per-chip queue on top of the
 *   per-bus transport's queue, which retries transient errors in place).
 * - Every read that can clear an interrupt (GPIO, INTCAP) is done as the full service read
 *   (INTFA..GPIOB, 6 bytes from 0x0E) and published as a `service` event, so an input watcher sees
 *   every capture, whoever caused the read.
 * - Opening, restoring after a power glitch and writing changes all follow one write plan
 *   (./write-plan.ts): IOCON, OLAT, IPOL/DEFVAL/INTCON/GPPU, IODIR, GPINTEN.
 * - After an outage or a glitch the chip gets what was last written (the last change that resolved),
 *   then the changes still waiting, in order.
 */
import { EventEmitter } from 'node:events';
import type { Backend } from './i2c';
import { Transport, type TransportOptions } from './transport';
import { I2cError, toI2cError } from './errors';
import { systemClock, type Clock } from './clock';
import { BANK0, IOCON, IOCON_WRITABLE, hex, registerLabel, type Port } from './registers';
import {
  ArgumentError, checkAddress, checkBit, checkBusNumber, checkBusValue, checkPin, checkPort, checkPortValue,
  pinMask, portMask, portToBus, busToPort,
} from './pins';
import {
  RegisterState, WRITABLE_ADDRESSES, byteOf, type CachedRegister, type RegisterChange,
  type RegisterUpdate, type RegisterValues, type WriteRequest,
} from './register-state';
import { planWrites } from './write-plan';

/** The 16-bit configuration registers the driver caches (bit k = pin k+1). */
export type ConfigRegister = CachedRegister;

/** Chip-wide INT output options (IOCON MIRROR / ODR / INTPOL). */
export interface InterruptOutputOptions {
  /** INTA and INTB both show an interrupt of either port. */
  mirror: boolean;
  /** Open-drain INT (needs a pull-up; overrides `activeHigh`). */
  openDrain: boolean;
  /** Push-pull INT driven high when active (ignored when open-drain). */
  activeHigh: boolean;
}

/** Per-pin settings as 16-bit values, applied to the pins in `mask`. */
export interface PinSettings {
  /** Pins the settings apply to (bit k = pin k+1). */
  mask: number;
  /** 1 = input, 0 = output. */
  direction?: number;
  /** 1 = 100 kΩ pull-up on. */
  pullup?: number;
  /** 1 = input read inverted. */
  invert?: number;
  /** 1 = interrupt on this pin. */
  interruptEnable?: number;
  /** 1 = interrupt while the pin differs from `interruptDefault`; 0 = on every change. */
  interruptCompare?: number;
  /** The value compared against in compare mode. */
  interruptDefault?: number;
  /** Output latch. */
  output?: number;
}

/** Several settings written together, or not at all. */
export interface ChipUpdate {
  pins?: PinSettings | readonly PinSettings[];
  interruptOutput?: Partial<InterruptOutputOptions>;
}

/** How a change waits for the chip. */
export interface WriteOptions {
  /**
   * Longest wait (ms) for the chip to take this change (an outage, a long queue). When it is up the
   * change is withdrawn, never written, and the call rejects with a {@link NotWrittenError}.
   * Default: the driver's `writeWaitMs`. `Infinity`: wait until it is written (settings).
   */
  waitMs?: number;
  /**
   * Latest value only: this change may replace an earlier one to the same pins that has not been
   * written yet, so only the last value reaches the chip (high-rate streams). Default false: every
   * state is written, in order.
   */
  latest?: boolean;
}

/** One port's part of a service read. */
export interface PortService {
  /** INTF: the pin whose change latched the interrupt (0 = nothing pending). */
  flags: number;
  /** INTCAP: the whole port as it was at that first event (meaningful only where `flags` ≠ 0). */
  captured: number;
  /** GPIO: the port now. */
  current: number;
}

/** Result of one service read, as 16-bit values (low byte = port 0) and per port. */
export interface ServiceResult {
  flags: number;
  captured: number;
  current: number;
  ports: [PortService, PortService];
  /**
   * Pins whose direction or polarity changed since the previous service read: their `current` is a
   * new baseline, not an input change.
   */
  rebased: number;
}

/** Result of {@link Mcp23017.verify}. */
export interface VerifyResult {
  /** The chip held the configuration we gave it. */
  ok: boolean;
  /** Every register found different, e.g. `IODIRA is 0xFF, expected 0x00`. */
  mismatches: string[];
}

export type ChipState = 'closed' | 'opening' | 'online' | 'offline';

/** The direction and polarity of the pins when inputs were last read (see {@link DriverOptions.previousConfig}). */
export interface InputConfig {
  IODIR: number;
  IPOL: number;
}

export interface DriverEvents {
  service: [ServiceResult];
  online: [];
  offline: [I2cError];
  restored: [VerifyResult];
  /** The outputs the driver wants (OLAT with every waiting write) changed. */
  outputs: [number];
  /** The chip was found in BANK=1 (left so by other software) and switched back; the IOCON value found. */
  bank1: [number];
}

export interface DriverOptions {
  busNumber: number;
  address: number;
  /** The i2c-bus addon (default) or the simulator. */
  backend: Backend;
  /** INT output options; default: not mirrored, push-pull, active-low (the chip's power-on state). */
  interruptOutput?: Partial<InterruptOutputOptions>;
  /** Default wait time of a write (ms) before it is given up, see {@link WriteOptions.waitMs}. Default 2000. */
  writeWaitMs?: number;
  /** Time source for write deadlines (tests inject one). */
  clock?: Clock;
  /** Options of the bus transport, if this driver is the first on its bus. */
  transport?: TransportOptions;
  /**
   * Direction and polarity under which the caller's last known input values were read (e.g. before a
   * redeploy): pins whose setting is the same after the first open are compared, not rebased.
   * Default: every pin is a new baseline at the first read.
   */
  previousConfig?: InputConfig;
}

export const DEFAULT_WRITE_WAIT_MS = 2000;

type Job<T> = () => Promise<T>;

/** A queued flush (or open); `boundary` is fixed when a later job is queued behind it. */
interface FlushJob {
  boundary?: number;
}

/** INT output options: each flag given is checked (0, 1, false, true), the others come from `base`. */
function checkInterruptOutput(options: unknown, base: InterruptOutputOptions, argument: string, prefix: string): InterruptOutputOptions {
  if (typeof options !== 'object' || options === null) throw new ArgumentError(argument, 'an object', options);
  const next = { ...base };
  for (const key of ['mirror', 'openDrain', 'activeHigh'] as const) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) next[key] = checkBit(value, prefix + key) === 1;
  }
  return next;
}

function checkWriteOptions(options: unknown): { waitMs: number | undefined; latest: boolean } {
  if (options === undefined) return { waitMs: undefined, latest: false };
  if (typeof options !== 'object' || options === null) throw new ArgumentError('options', 'an object', options);
  const { waitMs, latest } = options as WriteOptions;
  if (waitMs !== undefined && waitMs !== Infinity && (typeof waitMs !== 'number' || !Number.isInteger(waitMs) || waitMs < 0)) {
    throw new ArgumentError('options.waitMs', 'an integer >= 0 or Infinity', waitMs);
  }
  if (latest !== undefined && typeof latest !== 'boolean') throw new ArgumentError('options.latest', 'true or false', latest);
  return { waitMs, latest: latest === true };
}

/** Thrown by operations that cannot run because the chip is not online. */
export class ChipOfflineError extends Error {
  override readonly cause: I2cError | undefined;
  constructor(message: string, cause?: I2cError) {
    super(message);
    this.name = 'ChipOfflineError';
    this.cause = cause;
  }
}

/** A change that was not written and never will be (its wait time ran out, or the driver closed). */
export class NotWrittenError extends Error {
  override readonly cause: I2cError | undefined;
  /** The I2C error kind that kept it from the chip, if any. */
  readonly kind: I2cError['kind'] | undefined;
  constructor(message: string, cause?: I2cError) {
    super(message);
    this.name = 'NotWrittenError';
    this.cause = cause;
    this.kind = cause?.kind;
  }
}

export class Mcp23017 extends EventEmitter<DriverEvents> {
  readonly busNumber: number;
  readonly address: number;
  readonly transport: Transport;
  readonly writeWaitMs: number;

  private readonly registers = new RegisterState();
  private readonly clock: Clock;
  /** OLAT is adopted from the chip at the first successful open (a redeploy does not flicker relays). */
  private adopted = false;
  /** Direction and polarity at the last service read: a pin whose setting changed since is rebased. */
  private lastReadConfig: InputConfig | undefined;

  private tail: Promise<unknown> = Promise.resolve();
  /** The flush (or open) job at the tail of the queue that has not started: new changes join it. */
  private tailFlush: FlushJob | undefined;
  private openJob: Promise<void> | undefined;
  private stateValue: ChipState = 'closed';
  private lastError: I2cError | undefined;
  private closing = false;
  private deadlineTimer: unknown;
  private deadlineAt = Infinity;

  constructor(options: DriverOptions) {
    super();
    this.busNumber = checkBusNumber(options.busNumber, 'busNumber');
    this.address = checkAddress(options.address);
    const defaults: InterruptOutputOptions = { mirror: false, openDrain: false, activeHigh: false };
    const iocon = Mcp23017.ioconValue(checkInterruptOutput(options.interruptOutput ?? {}, defaults, 'interruptOutput', 'interruptOutput.'));
    const wait = options.writeWaitMs ?? DEFAULT_WRITE_WAIT_MS;
    if (wait !== Infinity && (typeof wait !== 'number' || !Number.isInteger(wait) || wait < 0)) {
      throw new ArgumentError('writeWaitMs', 'an integer >= 0 or Infinity', wait);
    }
    this.writeWaitMs = wait;
    this.clock = options.clock ?? systemClock;
    if (options.previousConfig) this.lastReadConfig = { IODIR: options.previousConfig.IODIR & 0xffff, IPOL: options.previousConfig.IPOL & 0xffff };
    this.transport = Transport.acquire(this.busNumber, options.backend, options.transport);
    // The INT options are a setting like any other: the first open writes them.
    void this.stage({ changes: [], iocon }, { waitMs: Infinity }).catch(() => undefined);
  }

  /** IOCON for the given INT options, always BANK=0 and sequential addressing (SEQOP=0). */
  static ioconValue(options: InterruptOutputOptions): number {
    return (options.mirror ? IOCON.MIRROR : 0) | (options.openDrain ? IOCON.ODR : 0) | (options.activeHigh ? IOCON.INTPOL : 0);
  }

  /** Where the chip is, e.g. "0x20 on /dev/i2c-1". */
  get label(): string {
    return `${hex(this.address)} on /dev/i2c-${this.busNumber}`;
  }

  get state(): ChipState {
    return this.stateValue;
  }

  /** The error that took the chip offline, if it is offline. */
  get error(): I2cError | undefined {
    return this.lastError;
  }

  /** Changes not written yet (waiting, or being written). */
  get waitingWrites(): number {
    return this.registers.size;
  }

  /** Direction and polarity under which inputs were last read (undefined before the first read). */
  get inputConfig(): InputConfig | undefined {
    return this.lastReadConfig;
  }

  // ---------------------------------------------------------------------------------------------
  // Life cycle

  /**
   * Finds the chip and gives it the whole configuration (the write plan): a presence check that also
   * undoes BANK=1 left by other software, then IOCON (BANK=0, SEQOP=0), OLAT, IPOL..GPPU, IODIR and
   * GPINTEN. It writes what was last written plus the settings waiting at the head of the queue, then
   * the changes still waiting, in order. On the first open, OLAT is taken from the chip (output bits no
   * caller has set keep their level: a redeploy does not flicker relays).
   * Rejects with an {@link I2cError} (e.g. "no device at 0x20 on /dev/i2c-1 (Remote I/O error)").
   */
  open(): Promise<void> {
    if (this.closing) return Promise.reject(new ChipOfflineError(`${this.label} is closed`));
    if (this.openJob) return this.openJob;
    // Offline stays offline until this open succeeds (a failed probe is no new outage).
    if (this.stateValue === 'closed') this.stateValue = 'opening';
    const flush: FlushJob = {};
    const job = this.enqueue(async () => {
      if (this.tailFlush === flush) this.tailFlush = undefined;
      const boundary = flush.boundary ?? this.registers.lastSeq;
      try {
        await this.writeAll(!this.adopted, boundary);
      } catch (err) {
        throw this.setOffline(err, 'opening the chip');
      }
      this.setOnline();
      await this.writeWaiting(boundary);
      // Changes staged while this job ran (the chip was not online then, so no flush was queued).
      if (this.registers.size > 0) this.scheduleFlush();
    }, flush).finally(() => {
      if (this.openJob === job) this.openJob = undefined;
    });
    this.openJob = job;
    return job;
  }

  /** Waits for queued operations, then releases the bus (closed when its last chip leaves). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.tail.catch(() => undefined);
    this.clearDeadlineTimer();
    this.registers.rejectAll(new NotWrittenError(`not written: ${this.label} was closed first`, this.lastError));
    this.stateValue = 'closed';
    await this.transport.release();
    this.removeAllListeners();
  }

  /**
   * Checks that the chip still holds its configuration (one 14-byte read of IODIR..GPPU and one of
   * OLAT, both free of side effects). After a power glitch the chip is back at power-on values: what
   * was last written is written again and `restored` is emitted with every register that was wrong.
   */
  verify(): Promise<VerifyResult> {
    return this.enqueue(async () => {
      if (this.stateValue !== 'online') throw this.offlineError();
      try {
        const config = await this.transport.readBlock(this.address, 0x00, 14);
        const olat = await this.transport.readBlock(this.address, BANK0.OLATA, 2);
        const pending = this.registers.pendingAddresses();
        const written = this.registers.written;
        const mismatches: string[] = [];
        for (const address of WRITABLE_ADDRESSES) {
          if (pending.has(address)) continue; // about to be written anyway
          const actual = address === BANK0.OLATA ? olat[0] : address === BANK0.OLATB ? olat[1] : config[address];
          const expected = byteOf(written, address);
          if (actual !== expected) mismatches.push(`${registerLabel(address)} is ${hex(actual)}, expected ${hex(expected)}`);
        }
        const result: VerifyResult = { ok: mismatches.length === 0, mismatches };
        if (!result.ok) {
          await this.writeAll(false, 0); // what the chip was last given; changes queued later follow
          this.emit('restored', result);
        }
        return result;
      } catch (err) {
        throw this.setOffline(err, 'verifying the configuration');
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Bulk configuration

  /** Applies per-pin settings to the pins in `settings.mask` as one change. */
  configurePins(settings: PinSettings, options?: WriteOptions): Promise<void> {
    if (typeof settings !== 'object' || settings === null) throw new ArgumentError('settings', 'an object', settings);
    return this.configure({ pins: settings }, options);
  }

  /** Several pin settings and the INT output options as one change: written together, or not at all. */
  configure(update: ChipUpdate, options?: WriteOptions): Promise<void> {
    if (typeof update !== 'object' || update === null) throw new ArgumentError('update', 'an object', update);
    const changes: RegisterChange[] = [];
    const list = update.pins === undefined ? [] : Array.isArray(update.pins) ? update.pins : [update.pins as PinSettings];
    for (const settings of list) changes.push(...this.pinChanges(settings));
    let iocon: number | undefined;
    if (update.interruptOutput !== undefined) {
      iocon = Mcp23017.ioconValue(checkInterruptOutput(update.interruptOutput, this.getInterruptOutput(), 'interruptOutput', 'interruptOutput.'));
    }
    return this.stage({ changes, iocon }, options).then(() => undefined);
  }

  /** Sets the INT output options (IOCON MIRROR / ODR / INTPOL). */
  setInterruptOutput(options: Partial<InterruptOutputOptions>, writeOptions?: WriteOptions): Promise<void> {
    const iocon = Mcp23017.ioconValue(checkInterruptOutput(options, this.getInterruptOutput(), 'options', ''));
    return this.stage({ changes: [], iocon }, writeOptions).then(() => undefined);
  }

  getInterruptOutput(): InterruptOutputOptions {
    const iocon = this.registers.desired.IOCON;
    return {
      mirror: (iocon & IOCON.MIRROR) !== 0,
      openDrain: (iocon & IOCON.ODR) !== 0,
      activeHigh: (iocon & IOCON.INTPOL) !== 0,
    };
  }

  /** The desired value of a cached register (16-bit), or IOCON (8-bit): including changes not written yet. */
  getRegister(register: ConfigRegister | 'IOCON'): number {
    return this.registers.desired[register];
  }

  /** What the chip holds, as far as the driver knows: the value last written (16-bit), or IOCON (8-bit). */
  getWrittenRegister(register: ConfigRegister | 'IOCON'): number {
    return this.registers.written[register];
  }

  // ---------------------------------------------------------------------------------------------
  // The vendor library's API (pins 1-16, ports 0-1, 16-bit bus; value 1/true sets the bit)

  setPinDirection(pin: number, value: number | boolean): Promise<void> { return this.setPinBit('IODIR', pin, value); }
  getPinDirection(pin: number): 0 | 1 { return this.getPinBit('IODIR', pin); }
  setPortDirection(port: Port, value: number): Promise<void> { return this.setPortBits('IODIR', port, value); }
  getPortDirection(port: Port): number { return this.getPortBits('IODIR', port); }
  setBusDirection(value: number): Promise<void> { return this.setBusBits('IODIR', value); }
  getBusDirection(): number { return this.registers.desired.IODIR; }

  setPinPullup(pin: number, value: number | boolean): Promise<void> { return this.setPinBit('GPPU', pin, value); }
  getPinPullup(pin: number): 0 | 1 { return this.getPinBit('GPPU', pin); }
  setPortPullups(port: Port, value: number): Promise<void> { return this.setPortBits('GPPU', port, value); }
  getPortPullups(port: Port): number { return this.getPortBits('GPPU', port); }
  setBusPullups(value: number): Promise<void> { return this.setBusBits('GPPU', value); }
  getBusPullups(): number { return this.registers.desired.GPPU; }

  invertPin(pin: number, value: number | boolean): Promise<void> { return this.setPinBit('IPOL', pin, value); }
  getPinPolarity(pin: number): 0 | 1 { return this.getPinBit('IPOL', pin); }
  invertPort(port: Port, value: number): Promise<void> { return this.setPortBits('IPOL', port, value); }
  getPortPolarity(port: Port): number { return this.getPortBits('IPOL', port); }
  invertBus(value: number): Promise<void> { return this.setBusBits('IPOL', value); }
  getBusPolarity(): number { return this.registers.desired.IPOL; }

  setInterruptOnPin(pin: number, value: number | boolean): Promise<void> { return this.setPinBit('GPINTEN', pin, value); }
  getInterruptOnPin(pin: number): 0 | 1 { return this.getPinBit('GPINTEN', pin); }
  setInterruptOnPort(port: Port, value: number): Promise<void> { return this.setPortBits('GPINTEN', port, value); }
  getInterruptOnPort(port: Port): number { return this.getPortBits('GPINTEN', port); }
  setInterruptOnBus(value: number): Promise<void> { return this.setBusBits('GPINTEN', value); }
  getInterruptOnBus(): number { return this.registers.desired.GPINTEN; }

  /** INTCON of a port: 1 bits compare with DEFVAL, 0 bits interrupt on change. */
  setInterruptType(port: Port, value: number): Promise<void> { return this.setPortBits('INTCON', port, value); }
  getInterruptType(port: Port): number { return this.getPortBits('INTCON', port); }
  /** DEFVAL of a port: in compare mode a pin interrupts while it differs from its bit here. */
  setInterruptDefaults(port: Port, value: number): Promise<void> { return this.setPortBits('DEFVAL', port, value); }
  getInterruptDefaults(port: Port): number { return this.getPortBits('DEFVAL', port); }

  /** IOCON.MIRROR: 1 = INTA and INTB both signal either port. */
  mirrorInterrupts(value: number | boolean): Promise<void> {
    return this.setInterruptOutput({ mirror: checkBit(value) === 1 });
  }
  /** IOCON.INTPOL: 1 = active-high, 0 = active-low (push-pull only). */
  setInterruptPolarity(value: number | boolean): Promise<void> {
    return this.setInterruptOutput({ activeHigh: checkBit(value) === 1 });
  }
  getInterruptPolarity(): 0 | 1 { return (this.registers.desired.IOCON & IOCON.INTPOL) !== 0 ? 1 : 0; }
  /** IOCON.ODR: 1 = open-drain INT outputs. */
  setInterruptOpenDrain(value: number | boolean): Promise<void> {
    return this.setInterruptOutput({ openDrain: checkBit(value) === 1 });
  }

  /** Sets one output pin from the cached OLAT (a masked write, never a read of GPIO). Resolves with the OLAT written. */
  writePin(pin: number, value: number | boolean, options?: WriteOptions): Promise<number> {
    const p = checkPin(pin);
    const bit = checkBit(value);
    return this.writeMasked(pinMask(p), bit ? 0xffff : 0, options);
  }

  writePort(port: Port, value: number, options?: WriteOptions): Promise<number> {
    const p = checkPort(port);
    const v = checkPortValue(value);
    return this.writeMasked(portMask(p), portToBus(p, v), options);
  }

  writeBus(value: number, options?: WriteOptions): Promise<number> {
    return this.writeMasked(0xffff, checkBusValue(value), options);
  }

  /** Sets the OLAT bits in `mask` to those of `value` (16-bit). Resolves with the OLAT written. */
  writeMasked(mask: number, value: number, options?: WriteOptions): Promise<number> {
    const m = checkBusValue(mask, 'mask');
    const v = checkBusValue(value, 'value');
    return this.stage({ changes: [{ register: 'OLAT', mask: m, value: v }] }, options).then((r) => r.OLAT);
  }

  /** Inverts the OLAT bits in `mask`, relative to every earlier call. Resolves with the OLAT written. */
  toggleMasked(mask: number, options?: WriteOptions): Promise<number> {
    const m = checkBusValue(mask, 'mask');
    return this.stage({ changes: [{ register: 'OLAT', mask: m, value: 'toggle' }] }, options).then((r) => r.OLAT);
  }

  togglePin(pin: number, options?: WriteOptions): Promise<number> {
    return this.toggleMasked(pinMask(checkPin(pin)), options);
  }

  /** The output latch as the driver wants it (16-bit), including writes not written yet. */
  getOutputs(): number {
    return this.registers.desired.OLAT;
  }

  /** The output latch as last written to the chip. */
  getWrittenOutputs(): number {
    return this.registers.written.OLAT;
  }

  /** Reads one pin (GPIO, inversion applied). Like every GPIO read this clears the port's interrupt; the capture is published. */
  readPin(pin: number): Promise<0 | 1> {
    const p = checkPin(pin); // not async: a bad argument throws at the call, like every other method
    return this.service().then((result) => ((result.current & pinMask(p)) !== 0 ? 1 : 0));
  }

  readPort(port: Port): Promise<number> {
    const p = checkPort(port);
    return this.service().then((result) => busToPort(p, result.current));
  }

  async readBus(): Promise<number> {
    return (await this.service()).current;
  }

  /** INTF of a port: which pin caused the pending interrupt. No side effects on the chip. */
  readInterruptStatus(port: Port): Promise<number> {
    const p = checkPort(port);
    return this.enqueue(async () => {
      if (this.stateValue !== 'online') throw this.offlineError();
      try {
        return await this.transport.readByte(this.address, BANK0.INTFA + p);
      } catch (err) {
        throw this.setOffline(err, 'reading INTF');
      }
    });
  }

  /** INTCAP of a port (clears the interrupts; done as a service read so no capture is lost). */
  readInterruptCapture(port: Port): Promise<number> {
    const p = checkPort(port);
    return this.service().then((result) => busToPort(p, result.captured));
  }

  /** Clears pending interrupts on both ports (service read; the captures are published). */
  async resetInterrupts(): Promise<void> {
    await this.service();
  }

  /**
   * Reads INTFA, INTFB, INTCAPA, INTCAPB, GPIOA, GPIOB in one 6-byte transaction from 0x0E. INTF is
   * clocked out before INTCAP, so it shows what was pending; the INTCAP bytes then clear both ports.
   * Comparing captured and current recovers a press and its release between two reads. A read that
   * failed and was retried by the transport may have cleared a capture: the retry still returns the
   * port as it is now, so a lasting change is never lost (a press and release both inside the lost
   * capture are).
   */
  service(): Promise<ServiceResult> {
    return this.enqueue(async () => {
      if (this.stateValue !== 'online') throw this.offlineError();
      let bytes: Buffer;
      try {
        bytes = await this.transport.readBlock(this.address, BANK0.INTFA, 6);
      } catch (err) {
        throw this.setOffline(err, 'servicing interrupts');
      }
      const ports: [PortService, PortService] = [
        { flags: bytes[0], captured: bytes[2], current: bytes[4] },
        { flags: bytes[1], captured: bytes[3], current: bytes[5] },
      ];
      const written = this.registers.written;
      const last = this.lastReadConfig;
      const rebased = last ? ((written.IODIR ^ last.IODIR) | (written.IPOL ^ last.IPOL)) & 0xffff : 0xffff;
      this.lastReadConfig = { IODIR: written.IODIR, IPOL: written.IPOL };
      const result: ServiceResult = {
        flags: ports[0].flags | (ports[1].flags << 8),
        captured: ports[0].captured | (ports[1].captured << 8),
        current: ports[0].current | (ports[1].current << 8),
        ports,
        rebased,
      };
      this.emit('service', result);
      return result;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private setPinBit(register: ConfigRegister, pin: number, value: number | boolean): Promise<void> {
    const p = checkPin(pin);
    const bit = checkBit(value);
    return this.stage({ changes: [{ register, mask: pinMask(p), value: bit ? 0xffff : 0 }] }).then(() => undefined);
  }

  private getPinBit(register: ConfigRegister, pin: number): 0 | 1 {
    return (this.registers.desired[register] & pinMask(checkPin(pin))) !== 0 ? 1 : 0;
  }

  private setPortBits(register: ConfigRegister, port: Port, value: number): Promise<void> {
    const p = checkPort(port);
    const v = checkPortValue(value);
    return this.stage({ changes: [{ register, mask: portMask(p), value: portToBus(p, v) }] }).then(() => undefined);
  }

  private getPortBits(register: ConfigRegister, port: Port): number {
    return busToPort(checkPort(port), this.registers.desired[register]);
  }

  private setBusBits(register: ConfigRegister, value: number): Promise<void> {
    return this.stage({ changes: [{ register, mask: 0xffff, value: checkBusValue(value) }] }).then(() => undefined);
  }

  /** The register changes of per-pin settings (checked; throws before anything is staged). */
  private pinChanges(settings: PinSettings): RegisterChange[] {
    if (typeof settings !== 'object' || settings === null) throw new ArgumentError('settings', 'an object', settings);
    const mask = checkBusValue(settings.mask, 'mask');
    const fields: [keyof PinSettings, ConfigRegister][] = [
      ['direction', 'IODIR'], ['pullup', 'GPPU'], ['invert', 'IPOL'], ['interruptEnable', 'GPINTEN'],
      ['interruptCompare', 'INTCON'], ['interruptDefault', 'DEFVAL'], ['output', 'OLAT'],
    ];
    const changes: RegisterChange[] = [];
    for (const [field, register] of fields) {
      const value = settings[field];
      if (value !== undefined) changes.push({ register, mask, value: checkBusValue(value, field) });
    }
    return changes;
  }

  /** Queues a change (call order = write order) and makes sure a job will write it. */
  private stage(update: RegisterUpdate, options?: WriteOptions): Promise<RegisterValues> {
    const { waitMs, latest } = checkWriteOptions(options);
    if (this.closing) return Promise.reject(new ChipOfflineError(`${this.label} is closed`));
    const before = this.registers.desired.OLAT;
    const { done } = this.registers.add(update, { latest, waitMs: waitMs ?? this.writeWaitMs, now: this.clock.now() });
    if (this.registers.desired.OLAT !== before || update.changes.some((c) => c.register === 'OLAT')) this.emit('outputs', this.registers.desired.OLAT);
    this.armDeadline();
    this.scheduleFlush();
    return done;
  }

  /** A flush job for waiting changes, unless one is queued and not started (they join it) or the chip is not open. */
  private scheduleFlush(): void {
    if (this.tailFlush || (this.stateValue !== 'online' && this.stateValue !== 'opening')) return;
    const flush: FlushJob = {};
    void this.enqueue(async () => {
      if (this.tailFlush === flush) this.tailFlush = undefined;
      await this.writeWaiting(flush.boundary ?? this.registers.lastSeq);
    }, flush);
  }

  /** Writes the waiting changes up to `boundary`, batch by batch; on a failure they wait again (offline). */
  private async writeWaiting(boundary: number): Promise<void> {
    while (this.stateValue === 'online') {
      const batch = this.registers.nextBatch(boundary);
      if (!batch) return;
      try {
        await this.writeBytes(batch.bytes, batch.target.IOCON);
      } catch (err) {
        const error = this.setOffline(err, 'writing');
        this.withOutputs(() => this.registers.abort(batch, this.clock.now(), (r) => this.notWritten(r, error)));
        return;
      }
      this.registers.commit(batch);
    }
  }

  /** Writes bytes in the order of the write plan. */
  private async writeBytes(bytes: ReadonlyMap<number, number>, iocon: number): Promise<void> {
    for (const write of planWrites(bytes, iocon & IOCON_WRITABLE)) {
      if (write.values.length === 1) await this.transport.writeByte(this.address, write.register, write.values[0]);
      else await this.transport.writeBlock(this.address, write.register, write.values);
    }
  }

  /**
   * The whole (re)initialisation, see {@link open}; also the restore after a glitch. Writes what the
   * chip was last given, with the first batch of changes waiting up to `boundary` folded in.
   */
  private async writeAll(adopt: boolean, boundary: number): Promise<void> {
    const t = this.transport;
    const a = this.address;
    // Presence check and BANK recovery (docs/mcp23017.md §6.4): in BANK=1, 0x05 is IOCON; in BANK=0
    // it is GPINTENB, which is rewritten below anyway. Clearing bit 7 there is harmless either way;
    // reading IOCON at its BANK=0 address afterwards tells which one it was.
    const probe = await t.readByte(a, 0x05);
    if (probe & IOCON.BANK) {
      const cleared = probe & ~IOCON.BANK & 0xff;
      await t.writeByte(a, 0x05, cleared);
      const iocon = await t.readByte(a, BANK0.IOCONA);
      if (iocon === (cleared & IOCON_WRITABLE)) this.emit('bank1', probe);
    }
    if (adopt) {
      // Read before IOCON is written: BANK is 0 now, and a 2-byte read at 0x14 covers OLATA and OLATB
      // in sequential and in byte mode alike.
      const olat = await t.readBlock(a, BANK0.OLATA, 2);
      this.withOutputs(() => this.registers.adopt('OLAT', olat[0] | (olat[1] << 8)));
    }
    const first = this.registers.nextBatch(boundary, true) as NonNullable<ReturnType<RegisterState['nextBatch']>>;
    try {
      await this.writeBytes(first.bytes, first.target.IOCON);
    } catch (err) {
      this.withOutputs(() => this.registers.abort(first, this.clock.now(), (r) => this.notWritten(r, toI2cError(err, this.busNumber, this.address, 'opening the chip'))));
      throw err;
    }
    this.registers.commit(first);
    if (adopt) this.adopted = true;
  }

  /** Runs `fn` and emits `outputs` if the desired OLAT changed. */
  private withOutputs(fn: () => void): void {
    const before = this.registers.desired.OLAT;
    fn();
    if (this.registers.desired.OLAT !== before) this.emit('outputs', this.registers.desired.OLAT);
  }

  private notWritten(request: WriteRequest, cause?: I2cError): NotWrittenError {
    const error = cause ?? this.lastError;
    const waited = request.waitMs === Infinity ? '' : ` within ${request.waitMs} ms`;
    const why = error ? `: ${error.message}` : this.stateValue === 'online' ? ' (the bus was busy)' : ` (${this.label} is not open)`;
    return new NotWrittenError(`not written${waited}${why}`, error);
  }

  private armDeadline(): void {
    const next = this.registers.nextDeadline;
    if (next === this.deadlineAt) return;
    if (next > this.deadlineAt && this.deadlineTimer !== undefined) return; // the earlier timer re-arms
    this.clearDeadlineTimer();
    if (next === Infinity || this.closing) return;
    this.deadlineAt = next;
    this.deadlineTimer = this.clock.setTimeout(() => {
      this.deadlineTimer = undefined;
      this.deadlineAt = Infinity;
      this.withOutputs(() => this.registers.expire(this.clock.now(), (r) => this.notWritten(r)));
      this.armDeadline();
    }, Math.max(0, next - this.clock.now()));
  }

  private clearDeadlineTimer(): void {
    if (this.deadlineTimer !== undefined) this.clock.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
  }

  private setOnline(): void {
    const was = this.stateValue;
    this.stateValue = 'online';
    this.lastError = undefined;
    if (was !== 'online') this.emit('online');
  }

  /** Marks the chip offline after an I2C failure and returns the classified error to throw. */
  private setOffline(err: unknown, what: string): I2cError {
    const error = toI2cError(err, this.busNumber, this.address, what);
    const was = this.stateValue;
    this.stateValue = 'offline';
    this.lastError = error;
    if (was !== 'offline' && !this.closing) this.emit('offline', error);
    return error;
  }

  private offlineError(): Error {
    if (this.lastError) return this.lastError;
    return new ChipOfflineError(`${this.label} is not open`);
  }

  private enqueue<T>(job: Job<T>, flush?: FlushJob): Promise<T> {
    // A job queued behind a flush that has not started fixes what that flush writes: changes staged
    // from now on are written after this job (by a new flush), never before it.
    if (this.tailFlush && this.tailFlush !== flush) this.tailFlush.boundary = this.registers.lastSeq;
    this.tailFlush = flush;
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
