/**
 * Pin, port and bus numbering as in the AB Electronics IOPi library, and argument validation.
 *
 * Pins 1-16 per chip: pins 1-8 are port 0 (GPA0-GPA7, pin 1 = bit 0), pins 9-16 are port 1
 * (GPB0-GPB7, pin 9 = bit 0 of port 1). A 16-bit "bus" value has port 0 in the low byte, so bus bit k
 * is pin k+1. Every check throws an {@link ArgumentError} naming the argument and the allowed range;
 * the driver runs all checks before it touches the bus, so a bad argument never causes a partial write.
 */
import type { Port } from './registers';

export const PIN_COUNT = 16;

/** A bad argument: names the argument, what is allowed, and what was given. Nothing was sent. */
export class ArgumentError extends RangeError {
  readonly argument: string;
  constructor(argument: string, allowed: string, got: unknown) {
    super(`${argument} must be ${allowed} (got ${describe(got)})`);
    this.name = 'ArgumentError';
    this.argument = argument;
  }
}

/** Short, safe description of any value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

function checkInteger(argument: string, value: unknown, min: number, max: number, allowed: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ArgumentError(argument, allowed, value);
  }
  return value;
}

/** A pin number 1-16. */
export function checkPin(pin: unknown, argument = 'pin'): number {
  return checkInteger(argument, pin, 1, PIN_COUNT, 'an integer from 1 to 16');
}

/** A port number 0 or 1. */
export function checkPort(port: unknown, argument = 'port'): Port {
  return checkInteger(argument, port, 0, 1, '0 or 1') as Port;
}

/** An 8-bit port value 0-255. */
export function checkPortValue(value: unknown, argument = 'value'): number {
  return checkInteger(argument, value, 0, 0xff, 'an integer from 0 to 255 (0xFF)');
}

/** A 16-bit bus value 0-65535. */
export function checkBusValue(value: unknown, argument = 'value'): number {
  return checkInteger(argument, value, 0, 0xffff, 'an integer from 0 to 65535 (0xFFFF)');
}

/** A single bit: 0, 1, false or true. Returns 0 or 1. */
export function checkBit(value: unknown, argument = 'value'): 0 | 1 {
  if (value === true || value === 1) return 1;
  if (value === false || value === 0) return 0;
  throw new ArgumentError(argument, '0, 1, true or false', value);
}

/** A 7-bit MCP23017 address 0x20-0x27. */
export function checkAddress(address: unknown, argument = 'address'): number {
  return checkInteger(argument, address, 0x20, 0x27, 'an integer from 0x20 to 0x27');
}

/** A Linux I2C bus number (/dev/i2c-N). */
export function checkBusNumber(bus: unknown, argument = 'bus'): number {
  return checkInteger(argument, bus, 0, 255, 'an integer from 0 to 255');
}

/** Port of a pin (1-8 -> 0, 9-16 -> 1). */
export function pinPort(pin: number): Port {
  return (pin > 8 ? 1 : 0) as Port;
}

/** Bit of a pin inside its port (0-7). */
export function pinBit(pin: number): number {
  return (pin - 1) & 7;
}

/** Mask of a pin in a 16-bit bus value. */
export function pinMask(pin: number): number {
  return 1 << (pin - 1);
}

/** Mask of a port in a 16-bit bus value. */
export function portMask(port: Port): number {
  return port === 0 ? 0x00ff : 0xff00;
}

/** Pins (1-16, ascending) whose bits are set in a 16-bit mask. */
export function pinsOfMask(mask: number): number[] {
  const pins: number[] = [];
  for (let pin = 1; pin <= PIN_COUNT; pin++) if (mask & pinMask(pin)) pins.push(pin);
  return pins;
}

/** 16-bit mask of a list of pins. */
export function maskOfPins(pins: readonly number[]): number {
  let mask = 0;
  for (const pin of pins) mask |= pinMask(pin);
  return mask;
}

/** The chip's own pin name: GPA0-GPA7, GPB0-GPB7. */
export function pinName(pin: number): string {
  return (pin > 8 ? 'GPB' : 'GPA') + pinBit(pin);
}

/** Place a port value into a 16-bit bus value. */
export function portToBus(port: Port, value: number): number {
  return port === 0 ? value & 0xff : (value & 0xff) << 8;
}

/** Take one port's 8 bits out of a 16-bit bus value. */
export function busToPort(port: Port, value: number): number {
  return port === 0 ? value & 0xff : (value >> 8) & 0xff;
}
