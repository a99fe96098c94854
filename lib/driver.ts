/**
 * MCP23017 chip driver: the AB Electronics IOPi library's whole capability, done right.
 *
 * - Every argument is checked before anything is queued, so a bad call never sends a byte.
 * - Configuration registers and OLAT live in a shadow that holds the *desired* state. A call updates
 *   the shadow at once (in call order) and queues a flush; the flush writes the changed registers
 *   from the shadow. Consecutive calls that arrive while the chip is busy are therefore coalesced
 *   into one write, and a pin write is a masked write from the OLAT shadow, never a read-modify-write
 *   of GPIO (which would clear pending interrupts and copy input levels into OLAT).
 * - All operations of one chip run one at a time in call order (a per-chip queue on top of the
 *   per-bus transport's queue).
 * - Every read that can clear an interrupt (GPIO, INTCAP) is done as the full service read
 *   (INTFA..GPIOB, 6 bytes from 0x0E) and published as a `service` event, so an input watcher sees
 *   every capture, whoever caused the read.
 * - The shadow survives failures: `open()` (first time and after an outage) and `verify()` (after a
 *   power glitch) write the whole desired state back, outputs first so that they come up glitch-free.
 */
import { EventEmitter } from 'node:events';
import type { Backend } from './i2c';
import { Transport } from './transport';
import { I2cError, toI2cError } from './errors';
import { BANK0, IOCON, IOCON_WRITABLE, hex, registerLabel, type Port } from './registers';
import {
  ArgumentError, checkAddress, checkBit, checkBusNumber, checkBusValue, checkPin, checkPort, checkPortValue,
  pinMask, portMask, portToBus, busToPort,
} from './pins';

/** The 16-bit configuration registers the driver keeps in its shadow (bit k = pin k+1). */
export type ConfigRegister = 'IODIR' | 'IPOL' | 'GPINTEN' | 'DEFVAL' | 'INTCON' | 'GPPU' | 'OLAT';

const CONFIG_REGISTERS: readonly ConfigRegister[] = ['IODIR', 'IPOL', 'GPINTEN', 'DEFVAL', 'INTCON', 'GPPU', 'OLAT'];

/** BANK=0 address of each shadowed register's port A byte. */
const ADDRESS: Record<ConfigRegister, number> = {
  IODIR: BANK0.IODIRA,
  IPOL: BANK0.IPOLA,
  GPINTEN: BANK0.GPINTENA,
  DEFVAL: BANK0.DEFVALA,
  INTCON: BANK0.INTCONA,
  GPPU: BANK0.GPPUA,
  OLAT: BANK0.OLATA,
};

/** Power-on values (DS Table 3-1): all pins inputs, everything else 0. */
const POWER_ON: Record<ConfigRegister, number> = {
  IODIR: 0xffff, IPOL: 0, GPINTEN: 0, DEFVAL: 0, INTCON: 0, GPPU: 0, OLAT: 0,
};

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
  /** Registers found different, e.g. `IODIRA is 0xFF, expected 0x00`. */
  mismatches: string[];
}

export type ChipState = 'closed' | 'opening' | 'online' | 'offline';

export interface DriverEvents {
  service: [ServiceResult];
  online: [];
  offline: [I2cError];
  restored: [VerifyResult];
  outputs: [number];
}

export interface DriverOptions {
  busNumber: number;
  address: number;
  /** The i2c-bus addon (default) or the simulator. */
  backend: Backend;
  /** INT output options; default: not mirrored, push-pull, active-low (the chip's power-on state). */
  interruptOutput?: Partial<InterruptOutputOptions>;
}

/** How an output write is queued behind writes still waiting for the bus. */
export interface WriteOptions {
  /**
   * Latest value only: a write may replace states still queued, so under a burst only the newest
   * reaches the chip (for high-rate streams). Default: every state reaches the chip, in order.
   */
  latest?: boolean;
}

type Job<T> = () => Promise<T>;

/** Bytes a flush writes, and the IODIR/IPOL bits they change (rebased at the next service read once written). */
interface DirtyBytes {
  values: Map<number, number>;
  rebase: number;
}

/** A queued flush; `snapshot` is set when a later job freezes the bytes it will write. */
interface FlushState {
  snapshot?: DirtyBytes;
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

/** Thrown by operations that cannot run because the chip is not online. */
export class ChipOfflineError extends Error {
  override readonly cause: I2cError | undefined;
  constructor(message: string, cause?: I2cError) {
    super(message);
    this.name = 'ChipOfflineError';
    this.cause = cause;
  }
}

export class Mcp23017 extends EventEmitter<DriverEvents> {
  readonly busNumber: number;
  readonly address: number;
  readonly transport: Transport;

  private readonly shadow: Record<ConfigRegister, number> = { ...POWER_ON };
  private iocon: number;
  /** Byte addresses whose shadow differs from what the chip was last given. */
  private readonly dirty = new Set<number>();
  /** OLAT bits set by a caller; the others are adopted from the chip at the first open (no glitch on redeploy). */
  private olatKnown = 0;
  private adopted = false;
  /** Pins whose direction or polarity was written since the last service read. */
  private rebaseMask = 0xffff;
  /** Pins whose direction or polarity is changed in the shadow but not yet taken by a write. */
  private stagedRebase = 0;

  private tail: Promise<unknown> = Promise.resolve();
  private pendingFlush: Promise<void> | undefined;
  private pendingFlushState: FlushState | undefined;
  /** Snapshots of queued flushes that a later job froze and that have not run yet. */
  private readonly frozen = new Set<DirtyBytes>();
  private tailIsFlush = false;
  private openJob: Promise<void> | undefined;
  private stateValue: ChipState = 'closed';
  private lastError: I2cError | undefined;
  private closing = false;
  /** Callers that staged changes before the first open(): that open writes them. */
  private openWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  constructor(options: DriverOptions) {
    super();
    this.busNumber = checkBusNumber(options.busNumber, 'busNumber');
    this.address = checkAddress(options.address);
    const defaults: InterruptOutputOptions = { mirror: false, openDrain: false, activeHigh: false };
    this.iocon = Mcp23017.ioconValue(checkInterruptOutput(options.interruptOutput ?? {}, defaults, 'interruptOutput', 'interruptOutput.'));
    this.transport = Transport.acquire(this.busNumber, options.backend);
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

  // ---------------------------------------------------------------------------------------------
  // Life cycle

  /**
   * Finds the chip and gives it the whole desired configuration: a presence check that also undoes
   * BANK=1 left by other software, IOCON (BANK=0, SEQOP=0), then OLAT before IODIR so outputs start
   * at their value, GPINTEN last so no half-configured pin latches an interrupt. On the first open,
   * output bits no caller has set keep the chip's current latch (a redeploy does not flicker relays).
   * Rejects with an {@link I2cError} (e.g. "no device at 0x20 on /dev/i2c-1 (Remote I/O error)").
   */
  open(): Promise<void> {
    if (this.closing) return Promise.reject(new ChipOfflineError(`${this.label} is closed`));
    if (this.openJob) return this.openJob;
    if (this.stateValue !== 'online') this.stateValue = 'opening';
    const job = this.enqueue(async () => {
      const waiters = this.openWaiters.splice(0);
      try {
        await this.writeAll(!this.adopted);
        this.adopted = true;
        this.setOnline();
        for (const w of waiters) w.resolve();
      } catch (err) {
        const error = this.setOffline(err, 'opening the chip');
        for (const w of waiters) w.reject(error);
        throw error;
      }
    }, false).finally(() => {
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
    const closedError = new ChipOfflineError(`${this.label} was closed before it was opened`);
    for (const w of this.openWaiters.splice(0)) w.reject(closedError);
    this.stateValue = 'closed';
    await this.transport.release();
    this.removeAllListeners();
  }

  /**
   * Checks that the chip still holds its configuration (one 14-byte read of IODIR..GPPU and one of
   * OLAT, both free of side effects). After a power glitch the chip is back at power-on values: the
   * whole configuration and the last outputs are written again and `restored` is emitted.
   */
  verify(): Promise<VerifyResult> {
    return this.enqueue(async () => {
      if (this.stateValue !== 'online') throw this.offlineError();
      try {
        const config = await this.transport.readBlock(this.address, 0x00, 14);
        const olat = await this.transport.readBlock(this.address, BANK0.OLATA, 2);
        const mismatches: string[] = [];
        const check = (address: number, actual: number) => {
          if (this.dirty.has(address) || this.isFrozen(address)) return; // a queued flush will write it anyway
          const expected = this.expectedByte(address);
          if (actual !== expected) mismatches.push(`${registerLabel(address)} is ${hex(actual)}, expected ${hex(expected)}`);
        };
        for (let i = 0; i < 14; i++) check(i, config[i]);
        check(BANK0.OLATA, olat[0]);
        check(BANK0.OLATB, olat[1]);
        const result: VerifyResult = { ok: mismatches.length === 0, mismatches };
        if (!result.ok) {
          await this.writeAll(false);
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

  /** Applies per-pin settings to the pins in `settings.mask` in one flush. */
  configurePins(settings: PinSettings): Promise<void> {
    if (typeof settings !== 'object' || settings === null) throw new ArgumentError('settings', 'an object', settings);
    const mask = checkBusValue(settings.mask, 'mask');
    const fields: [keyof PinSettings, ConfigRegister][] = [
      ['direction', 'IODIR'], ['pullup', 'GPPU'], ['invert', 'IPOL'], ['interruptEnable', 'GPINTEN'],
      ['interruptCompare', 'INTCON'], ['interruptDefault', 'DEFVAL'], ['output', 'OLAT'],
    ];
    const updates: [ConfigRegister, number][] = [];
    for (const [field, register] of fields) {
      const value = settings[field];
      if (value !== undefined) updates.push([register, checkBusValue(value, field)]);
    }
    for (const [register, value] of updates) this.stage(register, mask, value);
    return this.flush();
  }

  /** Sets the INT output options (IOCON MIRROR / ODR / INTPOL). */
  setInterruptOutput(options: Partial<InterruptOutputOptions>): Promise<void> {
    this.stageIocon(Mcp23017.ioconValue(checkInterruptOutput(options, this.getInterruptOutput(), 'options', '')));
    return this.flush();
  }

  getInterruptOutput(): InterruptOutputOptions {
    return {
      mirror: (this.iocon & IOCON.MIRROR) !== 0,
      openDrain: (this.iocon & IOCON.ODR) !== 0,
      activeHigh: (this.iocon & IOCON.INTPOL) !== 0,
    };
  }

  /** The desired value of a shadowed register (16-bit), or IOCON (8-bit). */
  getRegister(register: ConfigRegister | 'IOCON'): number {
    return register === 'IOCON' ? this.iocon : this.shadow[register];
  }

  // ---------------------------------------------------------------------------------------------
  // The vendor library's API (pins 1-16, ports 0-1, 16-bit bus; value 1/true sets the bit)

  setPinDirection(pin: number, value: number | boolean): Promise<void> { return this.setPinBit('IODIR', pin, value); }
  getPinDirection(pin: number): 0 | 1 { return this.getPinBit('IODIR', pin); }
  setPortDirection(port: Port, value: number): Promise<void> { return this.setPortBits('IODIR', port, value); }
  getPortDirection(port: Port): number { return this.getPortBits('IODIR', port); }
  setBusDirection(value: number): Promise<void> { return this.setBusBits('IODIR', value); }
  getBusDirection(): number { return this.shadow.IODIR; }

  setPinPullup(pin: number, value: number | boolean): Promise<void> { return this.setPinBit('GPPU', pin, value); }
  getPinPullup(pin: number): 0 | 1 { return this.getPinBit('GPPU', pin); }
  setPortPullups(port: Port, value: number): Promise<void> { return this.setPortBits('GPPU', port, value); }
  getPortPullups(port: Port): number { return this.getPortBits('GPPU', port); }
  setBusPullups(value: number): Promise<void> { return this.setBusBits('GPPU', value); }
  getBusPullups(): number { return this.shadow.GPPU; }

  invertPin(pin: number, value: number | boolean): Promise<void> { return this.setPinBit('IPOL', pin, value); }
  getPinPolarity(pin: number): 0 | 1 { return this.getPinBit('IPOL', pin); }
  invertPort(port: Port, value: number): Promise<void> { return this.setPortBits('IPOL', port, value); }
  getPortPolarity(port: Port): number { return this.getPortBits('IPOL', port); }
  invertBus(value: number): Promise<void> { return this.setBusBits('IPOL', value); }
  getBusPolarity(): number { return this.shadow.IPOL; }

  setInterruptOnPin(pin: number, value: number | boolean): Promise<void> { return this.setPinBit('GPINTEN', pin, value); }
  getInterruptOnPin(pin: number): 0 | 1 { return this.getPinBit('GPINTEN', pin); }
  setInterruptOnPort(port: Port, value: number): Promise<void> { return this.setPortBits('GPINTEN', port, value); }
  getInterruptOnPort(port: Port): number { return this.getPortBits('GPINTEN', port); }
  setInterruptOnBus(value: number): Promise<void> { return this.setBusBits('GPINTEN', value); }
  getInterruptOnBus(): number { return this.shadow.GPINTEN; }

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
  getInterruptPolarity(): 0 | 1 { return (this.iocon & IOCON.INTPOL) !== 0 ? 1 : 0; }
  /** IOCON.ODR: 1 = open-drain INT outputs. */
  setInterruptOpenDrain(value: number | boolean): Promise<void> {
    return this.setInterruptOutput({ openDrain: checkBit(value) === 1 });
  }

  /** Sets one output pin from the OLAT shadow (a masked write, never a read of GPIO). */
  writePin(pin: number, value: number | boolean): Promise<void> { return this.setPinBit('OLAT', pin, value); }
  writePort(port: Port, value: number): Promise<void> { return this.setPortBits('OLAT', port, value); }
  writeBus(value: number): Promise<void> { return this.setBusBits('OLAT', value); }

  /** Sets the OLAT bits in `mask` to those of `value` (16-bit). */
  writeMasked(mask: number, value: number, options: WriteOptions = {}): Promise<void> {
    const m = checkBusValue(mask, 'mask');
    const v = checkBusValue(value, 'value');
    this.stage('OLAT', m, v);
    return this.flush();
  }

  /** Inverts the OLAT bits in `mask`, relative to every earlier call. */
  toggleMasked(mask: number, options: WriteOptions = {}): Promise<void> {
    const m = checkBusValue(mask, 'mask');
    this.stage('OLAT', m, ~this.shadow.OLAT & 0xffff);
    return this.flush();
  }

  togglePin(pin: number): Promise<void> {
    return this.toggleMasked(pinMask(checkPin(pin)));
  }

  /** The output latch as the driver wants it (16-bit), including writes still queued. */
  getOutputs(): number {
    return this.shadow.OLAT;
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
   * Comparing captured and current recovers a press and its release between two reads.
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
      const result: ServiceResult = {
        flags: ports[0].flags | (ports[1].flags << 8),
        captured: ports[0].captured | (ports[1].captured << 8),
        current: ports[0].current | (ports[1].current << 8),
        ports,
        rebased: this.rebaseMask,
      };
      this.rebaseMask = 0;
      this.emit('service', result);
      return result;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private setPinBit(register: ConfigRegister, pin: number, value: number | boolean): Promise<void> {
    const p = checkPin(pin);
    const bit = checkBit(value);
    this.stage(register, pinMask(p), bit ? 0xffff : 0);
    return this.flush();
  }

  private getPinBit(register: ConfigRegister, pin: number): 0 | 1 {
    return (this.shadow[register] & pinMask(checkPin(pin))) !== 0 ? 1 : 0;
  }

  private setPortBits(register: ConfigRegister, port: Port, value: number): Promise<void> {
    const p = checkPort(port);
    const v = checkPortValue(value);
    this.stage(register, portMask(p), portToBus(p, v));
    return this.flush();
  }

  private getPortBits(register: ConfigRegister, port: Port): number {
    return busToPort(checkPort(port), this.shadow[register]);
  }

  private setBusBits(register: ConfigRegister, value: number): Promise<void> {
    this.stage(register, 0xffff, checkBusValue(value));
    return this.flush();
  }

  /** Updates the shadow now (call order = write order) and marks the changed bytes dirty. */
  private stage(register: ConfigRegister, mask: number, value: number): void {
    if (this.closing) return;
    const before = this.shadow[register];
    const after = ((before & ~mask) | (value & mask)) & 0xffff;
    this.shadow[register] = after;
    if (register === 'OLAT') {
      this.olatKnown |= mask;
      this.emit('outputs', after);
    }
    // Rebased only once written: a service read queued before the write still sees the old setting.
    if (register === 'IODIR' || register === 'IPOL') this.stagedRebase |= before ^ after;
    const base = ADDRESS[register];
    // Outputs are always written when asked for (a write is the caller's intent, and cheap);
    // configuration bytes only when they change.
    if (register === 'OLAT' || (before & 0x00ff) !== (after & 0x00ff)) if (mask & 0x00ff) this.dirty.add(base);
    if (register === 'OLAT' || (before & 0xff00) !== (after & 0xff00)) if (mask & 0xff00) this.dirty.add(base + 1);
  }

  private stageIocon(value: number): void {
    if (value === this.iocon || this.closing) return;
    this.iocon = value;
    this.dirty.add(BANK0.IOCONA);
  }

  /**
   * Queues a write of every dirty byte. If the last queued job is a flush that has not started yet,
   * the new changes join it: one bus write for many calls, and nothing overtakes a job queued before.
   */
  private flush(): Promise<void> {
    if (this.closing) return Promise.reject(new ChipOfflineError(`${this.label} is closed`));
    if (this.stateValue === 'closed') {
      // Staged before the first open(): that open writes the whole shadow, this included.
      return new Promise((resolve, reject) => this.openWaiters.push({ resolve, reject }));
    }
    if (this.pendingFlush && this.tailIsFlush) return this.pendingFlush;
    const state: FlushState = {};
    const job = this.enqueue(async () => {
      if (this.pendingFlush === job) {
        this.pendingFlush = undefined;
        this.pendingFlushState = undefined;
      }
      // The bytes this flush writes are fixed now (or when a later job froze them), so a change
      // staged while it runs goes to the next flush and nothing overtakes a job queued before it.
      if (state.snapshot) this.frozen.delete(state.snapshot);
      const { values, rebase } = state.snapshot ?? this.takeDirty();
      // Not written: keep them dirty so the next open() or flush writes the desired state.
      const keep = () => {
        for (const a of values.keys()) this.dirty.add(a);
        this.stagedRebase |= rebase;
      };
      if (this.stateValue !== 'online') {
        keep();
        throw this.offlineError();
      }
      try {
        await this.writeValues(values);
      } catch (err) {
        keep();
        throw this.setOffline(err, 'writing');
      }
      this.rebaseMask |= rebase;
    }, true);
    this.pendingFlush = job;
    this.pendingFlushState = state;
    return job;
  }

  /** The dirty bytes with the values they should get now; they are no longer dirty. */
  private takeDirty(): DirtyBytes {
    const values = new Map<number, number>();
    for (const a of this.dirty) values.set(a, this.expectedByte(a));
    this.dirty.clear();
    const rebase = this.stagedRebase;
    this.stagedRebase = 0;
    return { values, rebase };
  }

  /** Whether a byte is in a frozen snapshot of a flush still queued: its shadow is ahead of the chip. */
  private isFrozen(address: number): boolean {
    for (const snapshot of this.frozen) if (snapshot.values.has(address)) return true;
    return false;
  }

  /** Writes bytes in as few transfers as possible: OLAT first, GPINTEN last, consecutive runs in one. */
  private async writeValues(values: Map<number, number>): Promise<void> {
    const addresses = [...values.keys()];
    const first: number[] = addresses.filter((a) => a === BANK0.OLATA || a === BANK0.OLATB);
    const last: number[] = addresses.filter((a) => a === BANK0.GPINTENA || a === BANK0.GPINTENB);
    const middle = addresses.filter((a) => !first.includes(a) && !last.includes(a));
    for (const group of [first, middle, last]) {
      const sorted = group.sort((a, b) => a - b);
      let i = 0;
      while (i < sorted.length) {
        let j = i;
        while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
        const run = sorted.slice(i, j + 1).map((a) => values.get(a) as number);
        if (run.length === 1) await this.transport.writeByte(this.address, sorted[i], run[0]);
        else await this.transport.writeBlock(this.address, sorted[i], run);
        i = j + 1;
      }
    }
  }

  /** What the chip should hold at a BANK=0 address 0x00-0x0D or OLAT. */
  private expectedByte(address: number): number {
    if (address === BANK0.IOCONA || address === BANK0.IOCONB) return this.iocon & IOCON_WRITABLE;
    for (const register of CONFIG_REGISTERS) {
      const base = ADDRESS[register];
      if (address === base) return this.shadow[register] & 0xff;
      if (address === base + 1) return (this.shadow[register] >> 8) & 0xff;
    }
    throw new ArgumentError('address', 'a shadowed register', address);
  }

  /** The whole (re)initialisation, see {@link open}. */
  private async writeAll(adopt: boolean): Promise<void> {
    const t = this.transport;
    const a = this.address;
    // Presence check and BANK recovery (note §1): in BANK=1, 0x05 is IOCON; in BANK=0 it is GPINTENB,
    // which is rewritten below anyway.
    const probe = await t.readByte(a, 0x05);
    if (probe & IOCON.BANK) await t.writeByte(a, 0x05, probe & ~IOCON.BANK & 0xff);
    await t.writeByte(a, BANK0.IOCONA, this.iocon & IOCON_WRITABLE);
    if (adopt) {
      const olat = await t.readBlock(a, BANK0.OLATA, 2);
      const chip = olat[0] | (olat[1] << 8);
      this.shadow.OLAT = ((chip & ~this.olatKnown) | (this.shadow.OLAT & this.olatKnown)) & 0xffff;
      this.olatKnown = 0xffff;
      this.emit('outputs', this.shadow.OLAT);
    }
    // Everything is written below, so nothing stays dirty, except bytes that a flush queued behind
    // this job will overwrite with an older frozen value: the flush after it must write them again.
    for (const address of this.dirty) if (!this.isFrozen(address)) this.dirty.delete(address);
    // Changes staged but not yet written are written here: their pins are a new baseline.
    this.rebaseMask |= this.stagedRebase;
    this.stagedRebase = 0;
    const bytes = (from: number, count: number) => Array.from({ length: count }, (_, i) => this.expectedByte(from + i));
    // Outputs first (an output starts at its value), pull-ups and polarity before the direction (a
    // pin turning into an input never floats), interrupt enables last (no half-configured pin latches).
    await t.writeBlock(a, BANK0.OLATA, bytes(BANK0.OLATA, 2));
    await t.writeBlock(a, BANK0.IPOLA, bytes(BANK0.IPOLA, 2));
    await t.writeBlock(a, BANK0.DEFVALA, bytes(BANK0.DEFVALA, 8));
    await t.writeBlock(a, BANK0.IODIRA, bytes(BANK0.IODIRA, 2));
    await t.writeBlock(a, BANK0.GPINTENA, bytes(BANK0.GPINTENA, 2));
    // No other rebase: after a recovery the configuration is what it was, so input differences
    // against the last known values are real changes (a door opened during the outage).
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

  private enqueue<T>(job: Job<T>, isFlushCandidate = false): Promise<T> {
    if (!isFlushCandidate && this.tailIsFlush && this.pendingFlushState) {
      // A job queued behind a flush that has not started: freeze what that flush writes, so changes
      // staged from now on are written after this job (by a new flush), never before it.
      this.pendingFlushState.snapshot = this.takeDirty();
      this.frozen.add(this.pendingFlushState.snapshot);
      this.pendingFlush = undefined;
      this.pendingFlushState = undefined;
    }
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => undefined);
    this.tailIsFlush = isFlushCandidate;
    return result;
  }
}
