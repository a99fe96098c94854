/**
 * A simulated MCP23017, register by register as described in docs/mcp23017.md
 * (datasheet DS20001952C, "DS" below).
 *
 * The chip is driven from two sides:
 * - the I2C side: {@link SimulatedChip.writeMessage} and {@link SimulatedChip.readMessage}, one call
 *   per I2C message, exactly what the wire carries. The simulated bus maps i2c-bus's SMBus calls onto
 *   these, and a virtual /dev/i2c can forward raw messages to them.
 * - the pin side: {@link SimulatedChip.setInput} drives a pin from outside (a button, a sensor),
 *   {@link SimulatedChip.pinLevel} and {@link SimulatedChip.interruptOutput} show what the chip drives.
 *
 * Every operation is synchronous and atomic. After an operation that changed anything observable
 * (a register value as {@link SimulatedChip.register} shows it, a pin level or an INT output) the
 * chip emits `'change'` once.
 *
 * Choices for behaviour the datasheet leaves open (docs/mcp23017.md §6.2); tests do not rely on them:
 * - Unimplemented addresses (BANK=0 above 0x15; BANK=1 0x0B-0x0F and above 0x1A) read 0 and ignore
 *   writes; the pointer still moves past them by the normal rules.
 * - BANK=1 with SEQOP=0: the pointer increments by one after every byte, walking through the
 *   unimplemented 0x0B-0x0F gap, and wraps to 0x00 after 0x1A. Any pointer at or above the last
 *   register of the current map (0x15 in BANK=0, 0x1A in BANK=1) also wraps to 0x00.
 * - The pointer advance after a byte that wrote IOCON uses the IOCON value just written (the new
 *   BANK/SEQOP apply "from the next access", and the advance precedes it).
 * - IPOL does not invert the GPIO read-back of an output pin (outputs read their OLAT bit).
 * - A floating input (no external drive, no pull-up) reads {@link SimulatedChip.FLOATING_LEVEL} (0).
 * - An output pin shows its OLAT bit even if something drives it from outside (we do not model a
 *   short); the external drive takes effect when the pin becomes an input.
 * - When several enabled pins of one port trigger at the same instant (possible only through a
 *   register write or a power cycle, never through one `setInput`), INTF gets the lowest of their
 *   bits. Linux's driver notes INTF holds a single bit per port; one bit is also the harder case for a
 *   driver, which then has to compare INTCAP with GPIO to find the others (docs/mcp23017.md §7.1).
 * - Change mode, reference of a newly armed pin: a pin becomes armed when IODIR=1 and GPINTEN=1 both
 *   hold. At that moment its reference is its current (IPOL-adjusted) value, so arming never fires
 *   by itself.
 * - An IPOL rewrite while change-mode interrupts are armed flips the IPOL-adjusted value the interrupt
 *   logic sees (docs/mcp23017.md §6.1), so it counts as a change and fires.
 */
import { EventEmitter } from 'node:events';
import { ArgumentError, checkPin, pinBit, pinPort } from '../pins';
import {
  IOCON, IOCON_WRITABLE, REGISTER_COUNT, decodeAddress, powerOnValue, registerAddress,
  type Port, type RegisterName,
} from '../registers';

/** An electrical level at a pin. */
export type PinLevel = 0 | 1;

/** What drives a pin from outside: a level, or `null` for nothing (released). */
export type DriveLevel = 0 | 1 | null;

/** State of an INT pin: driven low (0), driven high (1) or high-impedance (`null`). */
export type InterruptOutputState = 0 | 1 | null;

/** The two INT pins: INTA (port A, pins 1-8) and INTB (port B, pins 9-16). */
export type InterruptPinName = 'A' | 'B';

/** Events of a {@link SimulatedChip}. */
export interface SimulatedChipEvents {
  /** Something observable changed: a register value, a pin level or an INT output. */
  change: [];
}

/** Per-port state of the interrupt logic that is not visible in any register. */
interface InterruptState {
  /** Pins that could interrupt at the last evaluation (IODIR & GPINTEN). */
  armed: number;
  /** Change mode: the "previous value" each pin is compared with (IPOL-adjusted). */
  reference: number;
}

/** Data of one I2C write message: bytes 0-255. */
export type MessageData = Uint8Array | readonly number[];

/** The 7-bit I2C address range any device may use. */
const MAX_I2C_ADDRESS = 0x7f;

/** Last BANK=0 address (OLATB); the pointer wraps to 0x00 after it (DS §3.2.2.3). */
const LAST_BANK0 = 0x15;
/** Last BANK=1 address (OLATB); wrap point of our BANK=1 SEQOP=0 rule (undocumented). */
const LAST_BANK1 = 0x1a;

export class SimulatedChip extends EventEmitter<SimulatedChipEvents> {
  /** Level read by a floating input: no external drive, no pull-up. Undocumented; we pick 0. */
  static readonly FLOATING_LEVEL: PinLevel = 0;

  readonly busNumber: number;
  readonly address: number;

  /**
   * Stored register bytes indexed by BANK=0 address. IOCON is kept once in {@link iocon} (one
   * register at two addresses, AN1043 Table 1) and GPIO is never stored: it is computed from the
   * pins, and writing it writes OLAT (DS §3.5.10).
   */
  private readonly regs = new Uint8Array(REGISTER_COUNT);
  private iocon = 0;
  /** The address pointer: a raw register address as the master sent it (0x00-0xFF). */
  private pointer = 0;
  /** External drive of pins 1-16 (index pin - 1). Outside the chip: survives a power cycle. */
  private readonly drives: DriveLevel[] = new Array<DriveLevel>(16).fill(null);
  private readonly interrupt: [InterruptState, InterruptState] = [
    { armed: 0, reference: 0 },
    { armed: 0, reference: 0 },
  ];
  /** Nesting depth of {@link transaction} and the observable state when the outermost began. */
  private depth = 0;
  private before: readonly (number | null)[] | undefined;

  constructor(busNumber: number, address: number) {
    super();
    if (typeof busNumber !== 'number' || !Number.isInteger(busNumber) || busNumber < 0) {
      throw new ArgumentError('busNumber', 'an integer >= 0', busNumber);
    }
    if (typeof address !== 'number' || !Number.isInteger(address) || address < 0 || address > MAX_I2C_ADDRESS) {
      throw new ArgumentError('address', 'an integer from 0x00 to 0x7F', address);
    }
    this.busNumber = busNumber;
    this.address = address;
    this.resetRegisters();
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection (no side effects)

  /**
   * Value of the register at BANK=0 address `reg` (0x00-0x15), whatever BANK the chip is in now, as
   * a read would return it but without any side effect: GPIO shows the pins (IPOL applied to
   * inputs), INTF and INTCAP their latched values, IOCON the same value at 0x0A and 0x0B with bit 0
   * reading 0.
   */
  register(reg: number): number {
    if (typeof reg !== 'number' || !Number.isInteger(reg) || reg < 0 || reg > LAST_BANK0) {
      throw new ArgumentError('reg', 'a BANK=0 register address, an integer from 0x00 to 0x15', reg);
    }
    const decoded = decodeAddress(reg, 0)!;
    return this.readRegister(decoded.name, decoded.port);
  }

  /**
   * Electrical level at pin 1-16: an output shows its OLAT bit; an input shows the external drive,
   * else 1 when its pull-up is on, else {@link SimulatedChip.FLOATING_LEVEL}.
   */
  pinLevel(pin: number): PinLevel {
    checkPin(pin);
    const port = pinPort(pin);
    const bit = 1 << pinBit(pin);
    if (!(this.get('IODIR', port) & bit)) return this.get('OLAT', port) & bit ? 1 : 0;
    return this.inputLevel(pin);
  }

  /**
   * State of INTA or INTB (DS §3.6.1; docs/mcp23017.md §5.7). A port's signal is active while it has
   * a pending interrupt (INTF ≠ 0); MIRROR=1 ORs both ports onto both pins. ODR=1: active drives low,
   * idle is high-impedance (`null`), INTPOL ignored. ODR=0: INTPOL=1 active high, INTPOL=0 active
   * low, and the idle level is the opposite.
   */
  interruptOutput(pin: InterruptPinName): InterruptOutputState {
    if (pin !== 'A' && pin !== 'B') throw new ArgumentError('pin', '"A" or "B"', pin);
    const pendingA = this.get('INTF', 0) !== 0;
    const pendingB = this.get('INTF', 1) !== 0;
    const active = this.iocon & IOCON.MIRROR ? pendingA || pendingB : pin === 'A' ? pendingA : pendingB;
    if (this.iocon & IOCON.ODR) return active ? 0 : null;
    const activeLevel: PinLevel = this.iocon & IOCON.INTPOL ? 1 : 0;
    return active ? activeLevel : ((1 - activeLevel) as PinLevel);
  }

  // ---------------------------------------------------------------------------------------------
  // The pin side

  /**
   * Drives pin 1-16 from outside with 0 or 1 (true/false accepted), or releases it with `null`: a
   * released input reads its pull-up (1 with GPPU on). The interrupt logic sees the new level at once.
   */
  setInput(pin: number, level: DriveLevel | boolean): void {
    checkPin(pin);
    let drive: DriveLevel;
    if (level === null) drive = null;
    else if (level === 1 || level === true) drive = 1;
    else if (level === 0 || level === false) drive = 0;
    else throw new ArgumentError('level', '0, 1, true, false or null', level);
    this.transaction(() => {
      this.drives[pin - 1] = drive;
      this.evaluate(pinPort(pin));
    });
  }

  /**
   * Power-on reset (DS §3.1, Tables 3-4/3-5): every register to its POR value (IODIR 0xFF, all else 0,
   * so BANK=0 and INTF/INTCAP 0), pointer 0, interrupts cleared. External drives stay: they are
   * outside the chip.
   */
  powerCycle(): void {
    this.transaction(() => this.resetRegisters());
  }

  /**
   * Runs `fn` as one operation: `'change'` is emitted at most once, after the outermost transaction
   * ends, and only if something observable differs from before. A virtual /dev/i2c uses this for a
   * combined (repeated-start) transfer of several messages.
   */
  transaction<T>(fn: () => T): T {
    if (this.depth++ === 0) this.before = this.observe();
    try {
      return fn();
    } finally {
      if (--this.depth === 0) {
        const before = this.before!;
        this.before = undefined;
        const after = this.observe();
        if (after.some((value, i) => value !== before[i])) this.emit('change');
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The I2C side

  /**
   * One I2C write message to this chip (DS §3.2.2): the first byte sets the address pointer, each
   * following byte is written at the pointer, which then advances by the SEQOP/BANK rules. An empty
   * message (only the address byte, as i2cdetect's quick write sends) is acknowledged and changes
   * nothing. Writes clear no interrupt (DS §3.6.1).
   */
  writeMessage(data: MessageData): void {
    const bytes = checkMessage(data);
    if (bytes.length === 0) return;
    this.transaction(() => {
      this.pointer = bytes[0];
      for (let i = 1; i < bytes.length; i++) {
        const decoded = decodeAddress(this.pointer, this.bank());
        // Unimplemented address: the byte is acknowledged and dropped (our choice; undocumented).
        if (decoded) this.writeRegister(decoded.name, decoded.port, bytes[i]);
        this.pointer = this.advance(this.pointer);
      }
    });
  }

  /**
   * One I2C read message of `length` bytes from the current pointer (DS §3.2.2). Each byte is read
   * with the map in force at that byte; once the LSb of a port's GPIO or INTCAP has been clocked out
   * that port's interrupt is cleared (DS §3.6.4), then the pointer advances.
   */
  readMessage(length: number): Buffer {
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
      throw new ArgumentError('length', 'an integer >= 0', length);
    }
    const out = Buffer.alloc(length);
    if (length === 0) return out;
    this.transaction(() => {
      for (let i = 0; i < length; i++) {
        const decoded = decodeAddress(this.pointer, this.bank());
        // Unimplemented address: reads 0 (our choice; undocumented).
        out[i] = decoded ? this.readRegister(decoded.name, decoded.port) : 0;
        if (decoded && (decoded.name === 'GPIO' || decoded.name === 'INTCAP')) this.clearInterrupt(decoded.port);
        this.pointer = this.advance(this.pointer);
      }
    });
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private bank(): 0 | 1 {
    return this.iocon & IOCON.BANK ? 1 : 0;
  }

  private get(name: RegisterName, port: Port): number {
    return this.regs[registerAddress(name, port, 0)];
  }

  private set(name: RegisterName, port: Port, value: number): void {
    this.regs[registerAddress(name, port, 0)] = value & 0xff;
  }

  /**
   * Pointer after a byte (DS §3.2.1, §3.2.2.3; docs/mcp23017.md §3.1). SEQOP=0: next address,
   * wrapping to 0x00 after the last register. SEQOP=1 (byte mode): BANK=0 toggles within the A/B
   * pair, BANK=1 stays.
   */
  private advance(pointer: number): number {
    const bank = this.bank();
    if (this.iocon & IOCON.SEQOP) return bank === 0 ? pointer ^ 1 : pointer;
    return pointer >= (bank === 0 ? LAST_BANK0 : LAST_BANK1) ? 0x00 : pointer + 1;
  }

  /** A register as a read returns it; no side effects. */
  private readRegister(name: RegisterName, port: Port): number {
    switch (name) {
      case 'GPIO':
        return this.portValue(port);
      case 'IOCON':
        return this.iocon;
      default:
        // OLAT reads the latch, not the pins (DS §3.5.11); INTF/INTCAP their latched values.
        return this.get(name, port);
    }
  }

  /** A register write, then the interrupt logic re-evaluated (the write may arm or disarm pins). */
  private writeRegister(name: RegisterName, port: Port, value: number): void {
    switch (name) {
      case 'IOCON':
        // One register for both ports; bit 0 is unimplemented and reads 0 (DS Register 3-6).
        this.iocon = value & IOCON_WRITABLE;
        break;
      case 'GPIO':
        // Writing GPIO writes the output latch (DS §3.5.10).
        this.set('OLAT', port, value);
        break;
      case 'INTF':
      case 'INTCAP':
        // Read-only (DS §3.5.8, §3.5.9): ignored.
        return;
      default:
        this.set(name, port, value);
    }
    this.evaluate(0);
    this.evaluate(1);
  }

  /** Electrical level at an input pin: external drive, else pull-up, else floating. */
  private inputLevel(pin: number): PinLevel {
    const drive = this.drives[pin - 1];
    if (drive !== null) return drive;
    return this.get('GPPU', pinPort(pin)) & (1 << pinBit(pin)) ? 1 : SimulatedChip.FLOATING_LEVEL;
  }

  /**
   * The port as GPIO reads it and the interrupt logic sees it (docs/mcp23017.md §6.1: IPOL applies
   * before the interrupt logic): inputs show their level XOR IPOL (DS §3.5.2), outputs their OLAT
   * bit, not inverted (our choice; undocumented).
   */
  private portValue(port: Port): number {
    let levels = 0;
    for (let bit = 0; bit < 8; bit++) if (this.inputLevel(port * 8 + bit + 1)) levels |= 1 << bit;
    const iodir = this.get('IODIR', port);
    const inputs = (levels ^ this.get('IPOL', port)) & iodir;
    return (inputs | (this.get('OLAT', port) & ~iodir)) & 0xff;
  }

  /**
   * The interrupt logic of one port (DS §3.6; docs/mcp23017.md §5). Only pins with IODIR=1 and
   * GPINTEN=1 can interrupt. While an interrupt is pending (INTF ≠ 0) nothing changes: the first event
   * latched INTF and INTCAP and later events are not recorded (DS §3.6.4). Otherwise a change-mode pin
   * (INTCON=0) fires when it differs from its reference, a compare-mode pin (INTCON=1) while it
   * differs from its DEFVAL bit; the first event sets one INTF bit and copies the whole port into
   * INTCAP.
   */
  private evaluate(port: Port): void {
    const state = this.interrupt[port];
    const armed = this.get('IODIR', port) & this.get('GPINTEN', port);
    const value = this.portValue(port);
    // A newly armed pin starts from its current value (our choice), so arming alone never fires.
    const newlyArmed = armed & ~state.armed;
    state.reference = (state.reference & ~newlyArmed) | (value & newlyArmed);
    state.armed = armed;
    if (this.get('INTF', port) !== 0) return;
    const intcon = this.get('INTCON', port);
    const changed = ~intcon & (value ^ state.reference);
    const mismatched = intcon & (value ^ this.get('DEFVAL', port));
    const fired = armed & (changed | mismatched) & 0xff;
    if (fired) {
      this.set('INTF', port, fired & -fired); // lowest bit when several fire at once (our choice)
      this.set('INTCAP', port, value);
    } else {
      // Nothing pending: the reference follows the port, so a later change is seen against "previous".
      state.reference = value;
    }
  }

  /**
   * Clears a port's interrupt, as reading its GPIO or INTCAP does (DS §3.6.4). INTF returns to 0,
   * INTCAP keeps its value until the next event, and the change-mode reference becomes the port value
   * at this moment (DS §3.6.5 item 1; AN1043 p3). Compare mode re-asserts at once, with a fresh
   * capture, while a pin still differs from DEFVAL (DS §3.6.5 item 2).
   */
  private clearInterrupt(port: Port): void {
    this.set('INTF', port, 0);
    this.interrupt[port].reference = this.portValue(port);
    this.evaluate(port);
  }

  /** Power-on values (DS Tables 3-4/3-5) for registers, pointer and the hidden interrupt state. */
  private resetRegisters(): void {
    for (let address = 0; address < REGISTER_COUNT; address++) this.regs[address] = powerOnValue(address);
    this.iocon = 0;
    this.pointer = 0;
    for (const port of [0, 1] as const) {
      this.interrupt[port].armed = 0;
      this.interrupt[port].reference = 0;
      this.evaluate(port);
    }
  }

  /** Everything observable from outside, for deciding whether to emit 'change'. */
  private observe(): (number | null)[] {
    const values: (number | null)[] = [];
    for (let reg = 0; reg <= LAST_BANK0; reg++) values.push(this.register(reg));
    for (let pin = 1; pin <= 16; pin++) values.push(this.pinLevel(pin));
    values.push(this.interruptOutput('A'), this.interruptOutput('B'));
    return values;
  }
}

/** Validates a write message's data: every element an integer 0-255. */
function checkMessage(data: MessageData): Uint8Array | readonly number[] {
  if (data instanceof Uint8Array) return data;
  if (!Array.isArray(data)) throw new ArgumentError('data', 'a Uint8Array or an array of bytes', data);
  for (const byte of data) {
    if (typeof byte !== 'number' || !Number.isInteger(byte) || byte < 0 || byte > 0xff) {
      throw new ArgumentError('data', 'bytes, integers from 0 to 255', byte);
    }
  }
  return data;
}
