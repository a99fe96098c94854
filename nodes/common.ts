/**
 * What the iopi nodes share: the contract between the iopi-chip config node and the nodes that use
 * it, status helpers, and parsing of settings that arrive from the editor (edited numbers arrive as
 * strings, untouched defaults keep their type).
 */
import type { Node, NodeAPI, NodeMessage, NodeStatus } from 'node-red';
import type { Mcp23017, ChipSupervisor, ClaimDirection, InputListener, InputSubscription } from '../lib';
import { ArgumentError, describe } from '../lib';

/** A node that uses a chip: registers with the config node, receives its status and input changes. */
export interface ChipUser {
  readonly node: Node;
  /** The chip's status changed (also replayed once at registration). */
  chipStatus(status: NodeStatus, online: boolean): void;
  /**
   * Another node claims some of this node's pins in the other direction (shown as a warning status);
   * undefined: that conflict is gone (the other node was removed).
   */
  setConflict?(text: string | undefined): void;
}

/** The iopi-chip config node as its users see it. */
export interface ChipConfigNode extends Node {
  readonly busNumber: number;
  readonly address: number;
  readonly simulated: boolean;
  /** Undefined when the node's own settings are invalid (its status says why). */
  readonly driver: Mcp23017 | undefined;
  readonly supervisor: ChipSupervisor | undefined;
  /** "0x20 on /dev/i2c-1" */
  readonly label: string;
  register(user: ChipUser): void;
  deregister(user: ChipUser, done?: () => void): void;
  /**
   * Input changes of the pins in `mask` (a baseline first, then the ordered changes); undefined when
   * the chip settings are invalid. Close the subscription when the node closes.
   */
  subscribeInputs(user: ChipUser, mask: number, listener: InputListener): InputSubscription | undefined;
  /** Claims pins for a direction; conflicting claims of other nodes give warnings on both sides. */
  claimPins(user: ChipUser, mask: number, direction: ClaimDirection): void;
  /** The current chip status (what a new user is shown). */
  readonly chipStatusValue: NodeStatus;
  readonly online: boolean;
}

/** Status texts are i18n keys (translated by the editor); every text is 20 characters or fewer. */
export const STATUS = {
  connecting: { fill: 'yellow', shape: 'ring', text: 'iopi-chip.status.connecting' },
  online: { fill: 'green', shape: 'dot', text: 'iopi-chip.status.online' },
  simulated: { fill: 'blue', shape: 'dot', text: 'iopi-chip.status.simulated' },
  nodevice: { fill: 'red', shape: 'ring', text: 'iopi-chip.status.nodevice' },
  nobus: { fill: 'red', shape: 'ring', text: 'iopi-chip.status.nobus' },
  permission: { fill: 'red', shape: 'ring', text: 'iopi-chip.status.permission' },
  error: { fill: 'red', shape: 'dot', text: 'iopi-chip.status.error' },
  invalid: { fill: 'red', shape: 'ring', text: 'iopi-chip.status.invalid' },
  nochip: { fill: 'red', shape: 'ring', text: 'iopi-chip.status.nochip' },
  conflict: { fill: 'yellow', shape: 'ring', text: 'iopi-chip.status.conflict' },
  mismatch: { fill: 'yellow', shape: 'dot', text: 'iopi-chip.status.mismatch' },
  polling: { fill: 'yellow', shape: 'dot', text: 'iopi-chip.status.polling' },
} as const satisfies Record<string, NodeStatus>;

/** Reads a numeric setting: a number or a numeric string (the editor saves edited numbers as text). */
export function numberSetting(value: unknown, name: string, min: number, max: number, fallback?: number): number {
  if ((value === undefined || value === '') && fallback !== undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value.trim()) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ArgumentError(name, `an integer from ${min} to ${max}`, value);
  }
  return n;
}

/** Reads a boolean setting (true/false, or "true"/"false" from older or hand-written flows). */
export function booleanSetting(value: unknown, fallback: boolean): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return fallback;
}

/** Reads one of a fixed set of string settings. */
export function choiceSetting<T extends string>(value: unknown, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw new ArgumentError(name, `one of ${choices.map((c) => `"${c}"`).join(', ')}`, value);
}

/** Reads a list of pins 1-16 (array, or "1,2,5" text), no duplicates, at least one. */
export function pinListSetting(value: unknown, name = 'pins'): number[] {
  let list: unknown[];
  if (Array.isArray(value)) list = value;
  else if (typeof value === 'string' && value.trim() !== '') list = value.split(',').map((s) => s.trim());
  else if (typeof value === 'number') list = [value];
  else throw new ArgumentError(name, 'a list of pins 1-16', value);
  const pins: number[] = [];
  for (const item of list) {
    const pin = typeof item === 'string' && /^\d+$/.test(item) ? Number(item) : item;
    if (typeof pin !== 'number' || !Number.isInteger(pin) || pin < 1 || pin > 16) {
      throw new ArgumentError(name, 'pins from 1 to 16', item);
    }
    if (pins.includes(pin)) throw new ArgumentError(name, 'a list without duplicates', value);
    pins.push(pin);
  }
  if (pins.length === 0) throw new ArgumentError(name, 'at least one pin from 1 to 16', value);
  return pins.sort((a, b) => a - b);
}

/** "0x20" */
export function hexAddress(address: number): string {
  return '0x' + address.toString(16).padStart(2, '0');
}

/** A short text for a status line (20 characters at most). */
export function shortText(text: string): string {
  return text.length <= 20 ? text : text.slice(0, 19) + '…';
}

/** Error for a bad message: names what was wrong and what is allowed. */
export class MessageError extends Error {
  constructor(property: string, allowed: string, got: unknown) {
    super(`${property} must be ${allowed} (got ${describe(got)})`);
    this.name = 'MessageError';
  }
}

/** Own enumerable property that is not a prototype-pollution key. */
export function ownProperty(object: object, key: string): unknown {
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') return undefined;
  return Object.prototype.hasOwnProperty.call(object, key) ? (object as Record<string, unknown>)[key] : undefined;
}

export type UserNodeType = 'iopi-in' | 'iopi-out' | 'iopi-setup';

/** Node types with an input: a message to them must end in done() or done(err). */
const TAKES_INPUT: Record<UserNodeType, boolean> = { 'iopi-in': false, 'iopi-out': true, 'iopi-setup': true };

/**
 * A node that cannot work (invalid settings, no chip config node): logs why, shows it, and if the
 * node takes messages every one still ends in done(err) with the reason, so a Catch node sees it and
 * no message vanishes silently. Nothing crashes the flow.
 */
function cannotWork(node: Node, type: UserNodeType, status: NodeStatus, text: string): void {
  node.error(text);
  node.status(status);
  if (TAKES_INPUT[type]) {
    node.on('input', (_msg: NodeMessage, _send: (msg: NodeMessage) => void, done: (err?: Error) => void) => done(new Error(text)));
  }
}

/** Settings the node cannot use: see {@link cannotWork}. */
export function invalidSettings(RED: NodeAPI, node: Node, type: UserNodeType, err: unknown): void {
  cannotWork(node, type, STATUS.invalid, RED._(`${type}.errors.settings`, { error: (err as Error).message }));
}

/** The chip config node a node refers to, or undefined (see {@link cannotWork}). */
export function findChip(RED: NodeAPI, node: Node, id: unknown, type: UserNodeType): ChipConfigNode | undefined {
  const chip = typeof id === 'string' ? (RED.nodes.getNode(id) as ChipConfigNode | null) : null;
  if (!chip || typeof chip.register !== 'function') {
    cannotWork(node, type, STATUS.nochip, RED._(`${type}.errors.nochip`));
    return undefined;
  }
  return chip;
}

/**
 * The status a chip user shows: a pin conflict first, then the node's own status while the chip is
 * online (`own`, e.g. the last value written), else the chip's status; a failed message shows for a
 * few seconds, then the status it interrupted comes back.
 */
export class UserStatus {
  private chipStatus: NodeStatus;
  private conflict: string | undefined;
  private errorTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * `current`: the node's own status when {@link show} is called without one. `holdError`: nothing
   * replaces an error status until its time is up (or {@link clearError}).
   */
  constructor(
    private readonly node: Node,
    private readonly chip: ChipConfigNode,
    private readonly options: { current?: () => NodeStatus | undefined; holdError?: boolean } = {},
  ) {
    this.chipStatus = chip.chipStatusValue;
  }

  /** For {@link ChipUser.chipStatus}. */
  chipChanged(status: NodeStatus): void {
    this.chipStatus = status;
    this.show();
  }

  /** For {@link ChipUser.setConflict}. */
  conflictChanged(text: string | undefined): void {
    this.conflict = text;
    this.show();
  }

  show(own: NodeStatus | undefined = this.options.current?.()): void {
    if (this.closed || (this.options.holdError && this.errorTimer)) return;
    if (this.conflict) this.node.status(STATUS.conflict);
    else if (own && this.chip.online) this.node.status(own);
    else this.node.status(this.chipStatus);
  }

  error(status: NodeStatus, ms = 3000): void {
    if (this.closed) return;
    this.node.status(status);
    if (this.errorTimer) clearTimeout(this.errorTimer);
    this.errorTimer = setTimeout(() => {
      this.errorTimer = undefined;
      this.show();
    }, ms);
  }

  clearError(): void {
    if (this.errorTimer) clearTimeout(this.errorTimer);
    this.errorTimer = undefined;
  }

  close(): void {
    this.closed = true;
    this.clearError();
  }
}
