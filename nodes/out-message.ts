/**
 * What a message to iopi-out asks for: its target (msg.pin, msg.port, msg.topic), its payload and
 * msg.pulse, turned into one fully validated {@link Command}, or a {@link MessageError} naming what
 * was wrong and what is allowed. Pure functions: no Node-RED, no driver, so a message is judged
 * completely before anything is written, and the rules can be tested alone.
 */
import { maskOfPins, pinsOfMask, portMask, portToBus, type Port } from '../lib';
import { MessageError, ownProperty, pinListSetting } from './common';

export type Target = 'pin' | 'pins' | 'port' | 'bus';
export type Mode = 'set' | 'toggle' | 'pulse';

/** Pins a message writes. */
export interface Address {
  kind: Target;
  /** Pins written (16-bit mask). */
  mask: number;
  /** Port for kind 'port'. */
  port?: Port;
}

/** What one message asks for, fully validated. */
export interface Command extends Address {
  /** New level of the masked bits (16-bit, already placed for a port), or 'toggle'. */
  value: number | 'toggle';
  pulseMs: number;
}

/** The node's settings the parser needs. */
export interface OutScope {
  target: Target;
  /** The node's own pins (16-bit mask). */
  mask: number;
  /** The node's port (port target). */
  port: Port;
  mode: Mode;
  /** Pulse length in ms when the message has no msg.pulse. */
  pulse: number;
  /** msg.pin / msg.port / msg.topic may choose the target. */
  msgTarget: boolean;
}

export const MAX_PULSE_MS = 86_400_000;
const ON = new Set<unknown>([true, 1, '1', 'on', 'ON', 'On', 'true', 'high']);
const OFF = new Set<unknown>([false, 0, '0', 'off', 'OFF', 'Off', 'false', 'low']);

/** The address topics, as an error names them. */
export const TOPIC_FORMS = '"pin/1" to "pin/16", "port/0", "port/1" or "bus" (letters in any case), '
  + 'alone or at the end of a path such as "iopi/1/0x20/pin/3"';
const PIN_FORMS = 'a pin from 1 to 16, or a list of them (an array, or text such as "1,2")';
const PORT_FORMS = '0 or 1';

/** A value of a payload or msg.pulse: a number, or a decimal or 0x-hex string. */
export function parseNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text.slice(2), 16);
  if (/^[0-9]+$/.test(text)) return Number(text);
  return undefined;
}

/** A pin or port number: an integer, or ASCII decimal digits (no sign, exponent or hex: it counts, it is no bit pattern). */
function parseIndex(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  return /^[0-9]+$/.test(text) ? Number(text) : undefined;
}

/** Letters, digits and the rest of a topic segment as a person would read it: no spaces, no invisible characters, lower case. */
const loosely = (segment: string) => segment.normalize('NFKC').replace(/[\s\p{Cf}]/gu, '').toLowerCase();

/**
 * The address a topic names, or undefined when it is no address at all (e.g. "house/door/1", which
 * leaves the node's own target). A topic is an address when, read loosely (any letter case, spaces,
 * invisible characters and empty segments ignored), its last segment is "bus", "pin" or "port" or
 * the one before the last is "pin" or "port". Such a topic must then be exact: "pin/N" (N 1-16) or
 * "port/P" (P 0 or 1) as its last two segments, or "bus" as its last, N and P in plain decimal
 * digits; anything else (`pin/17`, `PIN/ 3`, `pin/1e1`, `pin/3/`, `relay/pin`) is an error, because
 * a message that names a target must never fall back to other pins.
 */
export function topicAddress(topic: string): Address | undefined {
  const loose = topic.split('/').map(loosely).filter((s) => s !== '');
  const last = loose[loose.length - 1];
  const before = loose[loose.length - 2];
  const keyword = (s: string | undefined) => s === 'pin' || s === 'port';
  if (!(last === 'bus' || keyword(last) || keyword(before))) return undefined;
  const segments = topic.split('/');
  const end = segments[segments.length - 1];
  const kind = segments.length >= 2 ? segments[segments.length - 2].toLowerCase() : undefined;
  if (end.toLowerCase() === 'bus') return { kind: 'bus', mask: 0xffff };
  const n = /^[0-9]+$/.test(end) ? Number(end) : NaN;
  if (kind === 'pin' && n >= 1 && n <= 16) return { kind: 'pin', mask: 1 << (n - 1) };
  if (kind === 'port' && (n === 0 || n === 1)) return { kind: 'port', port: n, mask: portMask(n) };
  throw new MessageError('msg.topic', TOPIC_FORMS, topic);
}

/**
 * The one address parser of iopi-out: the target a message names, range-checked, or undefined when
 * it names none (then the node's own target is written). msg.pin wins over msg.port (read by port
 * and bus nodes only: other messages, e.g. from UDP or TCP nodes, carry msg.port with another
 * meaning), which wins over msg.topic (see {@link topicAddress}). A target outside the node's own
 * pins is an error too.
 */
export function messageAddress(msg: object, scope: OutScope): Address | undefined {
  if (!scope.msgTarget) return undefined;
  const pin = ownProperty(msg, 'pin');
  const port = ownProperty(msg, 'port');
  const topic = ownProperty(msg, 'topic');
  let address: Address | undefined;
  let property: string;
  let given: unknown;
  if (pin !== undefined) {
    let pins: number[];
    try {
      pins = pinListSetting(Array.isArray(pin) ? pin : typeof pin === 'string' ? pin : [pin], 'msg.pin');
    } catch {
      throw new MessageError('msg.pin', PIN_FORMS, pin);
    }
    address = { kind: pins.length === 1 ? 'pin' : 'pins', mask: maskOfPins(pins) };
    [property, given] = ['msg.pin', pin];
  } else if (port !== undefined && (scope.target === 'port' || scope.target === 'bus')) {
    const p = parseIndex(port);
    if (p !== 0 && p !== 1) throw new MessageError('msg.port', PORT_FORMS, port);
    address = { kind: 'port', port: p, mask: portMask(p) };
    [property, given] = ['msg.port', port];
  } else if (typeof topic === 'string') {
    address = topicAddress(topic);
    [property, given] = ['msg.topic', topic];
  } else {
    return undefined;
  }
  if (!address) return undefined;
  if ((address.mask & scope.mask) !== address.mask) {
    const allowed = pinsOfMask(scope.mask);
    const err = new MessageError(property, `within this node's pins (${allowed.length === 16 ? '1-16' : allowed.join(', ')})`, given);
    // Typically a message from an iopi-in (which carries msg.pin, msg.port and a pin topic).
    err.message += '; to write this node\'s own pins whatever the message says, untick "msg.pin / msg.port / msg.topic may choose the target"';
    throw err;
  }
  return address;
}

/** A message as a command: its target ({@link messageAddress}, else the node's own), msg.pulse and payload. */
export function parseCommand(msg: object, scope: OutScope): Command {
  const target: Address = messageAddress(msg, scope)
    ?? { kind: scope.target, mask: scope.mask, port: scope.target === 'port' ? scope.port : undefined };
  let pulseMs = scope.pulse;
  const msgPulse = ownProperty(msg, 'pulse');
  if (msgPulse !== undefined) {
    const n = parseNumber(msgPulse);
    if (n === undefined || !Number.isInteger(n) || n < 1 || n > MAX_PULSE_MS) {
      throw new MessageError('msg.pulse', `an integer number of ms from 1 to ${MAX_PULSE_MS}`, msgPulse);
    }
    pulseMs = n;
  }
  const payload = ownProperty(msg, 'payload');
  if (scope.mode === 'toggle') return { ...target, value: 'toggle', pulseMs };
  if (payload === 'toggle') {
    if (scope.mode === 'pulse') throw new MessageError('msg.payload', 'the pulse level (true/false, 1/0, "on"/"off", or a number for a port or bus)', payload);
    return { ...target, value: 'toggle', pulseMs };
  }
  if (target.kind === 'pin' || target.kind === 'pins') {
    if (ON.has(payload)) return { ...target, value: 0xffff & target.mask, pulseMs };
    if (OFF.has(payload)) return { ...target, value: 0, pulseMs };
    throw new MessageError('msg.payload', 'true/false, 1/0, "on"/"off" or "toggle"', payload);
  }
  const max = target.kind === 'port' ? 0xff : 0xffff;
  const n = parseNumber(payload);
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > max) {
    throw new MessageError('msg.payload', `an integer from 0 to ${max} (0x${max.toString(16).toUpperCase()}) or "toggle"`, payload);
  }
  return { ...target, value: target.kind === 'port' ? portToBus(target.port as Port, n) : n, pulseMs };
}
