/**
 * iopi-out: writes pins, ports or the 16-bit bus from messages: set, toggle or a timed pulse.
 *
 * Every message is validated completely before anything is written; a bad one ends in done(err)
 * and writes nothing. Writes are masked writes from the driver's OLAT shadow; messages that arrive
 * while the bus is busy are coalesced by the driver into one write, and each message's done() is
 * called once its write has landed.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from 'node-red';
import { busToPort, maskOfPins, pinsOfMask, portMask, portToBus, type Port } from '../lib';
import {
  MessageError, booleanSetting, choiceSetting, numberSetting, ownProperty, pinListSetting,
  findChip, invalidSettings, UserStatus, type ChipUser,
} from './common';

export interface IopiOutDef extends NodeDef {
  chip: string;
  target: string;
  pins: unknown;
  port: number | string;
  mode: string;
  pulse: number | string;
  initial: string | number;
  passthrough: boolean;
  msgTarget: boolean;
}

type Target = 'pin' | 'pins' | 'port' | 'bus';
type Mode = 'set' | 'toggle' | 'pulse';

/** What one message asks for, fully validated. */
interface Command {
  kind: Target;
  /** Pins written (16-bit mask). */
  mask: number;
  /** Port for kind 'port'. */
  port?: Port;
  /** New level of the masked bits, or 'toggle'. */
  value: number | 'toggle';
  pulseMs: number;
}

const MAX_PULSE_MS = 86_400_000;
const ON = new Set<unknown>([true, 1, '1', 'on', 'ON', 'On', 'true', 'high']);
const OFF = new Set<unknown>([false, 0, '0', 'off', 'OFF', 'Off', 'false', 'low']);

/** A number from a number or a decimal / 0x-hex string. */
function parseNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text.slice(2), 16);
  if (/^\d+$/.test(text)) return Number(text);
  return undefined;
}

export default function (RED: NodeAPI) {
  function IopiOutNode(this: Node, config: IopiOutDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let settings: {
      target: Target; pins: number[]; port: Port; mode: Mode; pulse: number;
      initial: number | undefined; passthrough: boolean; msgTarget: boolean; mask: number;
    };
    try {
      const target = choiceSetting(config.target, 'target', ['pin', 'pins', 'port', 'bus'] as const, 'pin');
      const pinList = target === 'pin' || target === 'pins' ? pinListSetting(config.pins) : [];
      const pins = target === 'pin' ? pinList.slice(0, 1) : pinList;
      const port = numberSetting(config.port, 'port', 0, 1, 0) as Port;
      const mask = target === 'port' ? portMask(port) : target === 'bus' ? 0xffff : maskOfPins(pins);
      let initial: number | undefined;
      const initialText = config.initial === undefined || config.initial === null ? '' : String(config.initial).trim();
      if (initialText !== '') {
        const max = target === 'port' ? 0xff : target === 'bus' ? 0xffff : 1;
        const n = parseNumber(initialText);
        if (n === undefined || !Number.isInteger(n) || n < 0 || n > max) {
          throw new MessageError('initial', `empty (leave as it is) or an integer from 0 to ${max}`, config.initial);
        }
        initial = n;
      }
      settings = {
        target, pins, port, mask, initial,
        mode: choiceSetting(config.mode, 'mode', ['set', 'toggle', 'pulse'] as const, 'set'),
        pulse: numberSetting(config.pulse, 'pulse', 1, MAX_PULSE_MS, 1000),
        passthrough: booleanSetting(config.passthrough, false),
        msgTarget: booleanSetting(config.msgTarget, true),
      };
    } catch (err) {
      invalidSettings(RED, node, 'iopi-out', err);
      return;
    }
    const chip = findChip(RED, node, config.chip, 'iopi-out');
    if (!chip) return;

    let closed = false;
    const view = new UserStatus(node, chip);
    /** Pins in a pulse: their timer and the level to go back to. */
    const pulses = new Map<number, { timer: NodeJS.Timeout; restore: 0 | 1 }>();

    const showStatus = (status?: NodeStatus) => view.show(status);
    const showError = (text: string) => view.error({ fill: 'red', shape: 'ring', text: RED._('iopi-out.status.error') || text });

    const user: ChipUser = {
      node,
      chipStatus: (status) => view.chipChanged(status),
      setConflict: (text) => view.conflictChanged(text),
    };
    chip.register(user);
    chip.claimPins(user, settings.mask, 'out');
    const driver = chip.driver;
    if (driver) {
      // Staged before the chip opens: OLAT is written before IODIR, so outputs start at their value.
      if (settings.initial !== undefined) {
        const value = settings.target === 'port' ? portToBus(settings.port, settings.initial)
          : settings.target === 'bus' ? settings.initial
            : settings.initial ? 0xffff : 0;
        driver.writeMasked(settings.mask, value, { waitMs: Infinity }).catch((err: Error) => node.debug(`initial value: ${err.message}`));
      }
      // Settings: they wait for the chip however long it takes (the chip status shows why they do not).
      driver.configurePins({ mask: settings.mask, direction: 0 }, { waitMs: Infinity }).catch((err: Error) => node.debug(`configuring pins: ${err.message}`));
    }

    /** The target a message selects (msg.pin, msg.port, msg.topic), within this node's pins. */
    const resolveTarget = (msg: Record<string, unknown>): { kind: Target; mask: number; port?: Port } => {
      const own = { kind: settings.target, mask: settings.mask, port: settings.target === 'port' ? settings.port : undefined };
      if (!settings.msgTarget) return own;
      let kind: Target | undefined;
      let mask = 0;
      let port: Port | undefined;
      const pin = ownProperty(msg, 'pin');
      const msgPort = ownProperty(msg, 'port');
      const topic = ownProperty(msg, 'topic');
      if (pin !== undefined) {
        let pins: number[];
        try {
          pins = pinListSetting(Array.isArray(pin) ? pin : typeof pin === 'string' ? pin : [pin], 'msg.pin');
        } catch {
          throw new MessageError('msg.pin', 'a pin from 1 to 16 or a list of them', pin);
        }
        kind = pins.length === 1 ? 'pin' : 'pins';
        mask = maskOfPins(pins);
      } else if (msgPort !== undefined && (settings.target === 'port' || settings.target === 'bus')) {
        const p = parseNumber(msgPort);
        if (p !== 0 && p !== 1) throw new MessageError('msg.port', '0 or 1', msgPort);
        kind = 'port';
        port = p as Port;
        mask = portMask(port);
      } else if (typeof topic === 'string') {
        const m = /^(?:.*\/)?(pin|port)\/(\d+)$/.exec(topic) ?? (topic === 'bus' || topic.endsWith('/bus') ? ['', 'bus', ''] : null);
        if (m && m[1] === 'pin') {
          const n = Number(m[2]);
          if (n >= 1 && n <= 16) { kind = 'pin'; mask = 1 << (n - 1); }
        } else if (m && m[1] === 'port') {
          const n = Number(m[2]);
          if (n === 0 || n === 1) { kind = 'port'; port = n as Port; mask = portMask(port); }
        } else if (m && m[1] === 'bus') {
          kind = 'bus';
          mask = 0xffff;
        }
      }
      if (kind === undefined) return own;
      if ((mask & settings.mask) !== mask) {
        const allowed = pinsOfMask(settings.mask);
        const err = new MessageError(
          kind === 'pin' || kind === 'pins' ? 'msg.pin' : kind === 'port' ? 'msg.port' : 'msg.topic',
          `within this node's pins (${allowed.length === 16 ? '1-16' : allowed.join(', ')})`,
          kind === 'pin' || kind === 'pins' ? pin ?? topic : kind === 'port' ? msgPort ?? topic : topic,
        );
        // Typically a message from an iopi-in (which carries msg.pin, msg.port and a pin topic).
        err.message += '; to write this node\'s own pins whatever the message says, untick "msg.pin / msg.port / msg.topic may choose the target"';
        throw err;
      }
      return { kind, mask, port };
    };

    const parseCommand = (msg: Record<string, unknown>): Command => {
      const target = resolveTarget(msg);
      const payload = ownProperty(msg, 'payload');
      let pulseMs = settings.pulse;
      const msgPulse = ownProperty(msg, 'pulse');
      if (msgPulse !== undefined) {
        const n = parseNumber(msgPulse);
        if (n === undefined || !Number.isInteger(n) || n < 1 || n > MAX_PULSE_MS) {
          throw new MessageError('msg.pulse', `an integer number of ms from 1 to ${MAX_PULSE_MS}`, msgPulse);
        }
        pulseMs = n;
      }
      if (settings.mode === 'toggle') return { ...target, value: 'toggle', pulseMs };
      if (payload === 'toggle') {
        if (settings.mode === 'pulse') throw new MessageError('msg.payload', 'the pulse level (true/false, 1/0, "on"/"off", or a number for a port or bus)', payload);
        return { ...target, value: 'toggle', pulseMs };
      }
      if (target.kind === 'pin' || target.kind === 'pins') {
        if (ON.has(payload)) return { ...target, value: 0xffff, pulseMs };
        if (OFF.has(payload)) return { ...target, value: 0, pulseMs };
        throw new MessageError('msg.payload', 'true/false, 1/0, "on"/"off" or "toggle"', payload);
      }
      const max = target.kind === 'port' ? 0xff : 0xffff;
      const n = parseNumber(payload);
      if (n === undefined || !Number.isInteger(n) || n < 0 || n > max) {
        throw new MessageError('msg.payload', `an integer from 0 to ${max} (0x${max.toString(16).toUpperCase()}) or "toggle"`, payload);
      }
      return { ...target, value: target.kind === 'port' ? portToBus(target.port as Port, n) : n, pulseMs };
    };

    const cancelPulses = (mask: number) => {
      for (const pin of pinsOfMask(mask)) {
        const pulse = pulses.get(pin);
        if (pulse) {
          clearTimeout(pulse.timer);
          pulses.delete(pin);
        }
      }
    };

    const endPulse = (mask: number) => {
      if (!driver) return;
      let restoreMask = 0;
      let restoreValue = 0;
      for (const pin of pinsOfMask(mask)) {
        const pulse = pulses.get(pin);
        if (!pulse) continue;
        pulses.delete(pin);
        restoreMask |= 1 << (pin - 1);
        if (pulse.restore) restoreValue |= 1 << (pin - 1);
      }
      if (!restoreMask) return;
      // The end of a pulse is owed to the pin (a relay must not stay on): it waits until it is written.
      driver.writeMasked(restoreMask, restoreValue, { waitMs: Infinity }).then(
        () => showStatus(),
        (err: Error) => {
          if (closed) return;
          node.error(RED._('iopi-out.errors.pulseEnd', { error: err.message }));
          showError(err.message);
        },
      );
    };

    node.on('input', (msg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      if (!driver) {
        done(new Error(RED._('iopi-out.errors.nodriver', { chip: chip.label })));
        return;
      }
      let command: Command;
      try {
        command = parseCommand(msg as unknown as Record<string, unknown>);
      } catch (err) {
        showError((err as Error).message);
        done(err as Error);
        return;
      }
      const before = driver.getOutputs();
      let write: Promise<number>;
      if (command.value === 'toggle') {
        cancelPulses(command.mask);
        write = driver.toggleMasked(command.mask);
      } else if (settings.mode === 'pulse') {
        // Back to the level before the pulse; a pulse during a pulse extends it.
        for (const pin of pinsOfMask(command.mask)) {
          const bit = 1 << (pin - 1);
          const running = pulses.get(pin);
          if (running) clearTimeout(running.timer);
          const restore: 0 | 1 = running ? running.restore : before & bit ? 1 : 0;
          pulses.set(pin, { timer: setTimeout(() => endPulse(bit), command.pulseMs), restore });
        }
        write = driver.writeMasked(command.mask, command.value);
      } else {
        cancelPulses(command.mask);
        write = driver.writeMasked(command.mask, command.value);
      }
      write.then(
        (after) => {
          const first = pinsOfMask(command.mask)[0];
          let status: NodeStatus;
          let payload: unknown;
          if (command.kind === 'pin' || command.kind === 'pins') {
            const on = (after >> (first - 1)) & 1 ? 1 : 0;
            payload = on === 1;
            status = { fill: on ? 'green' : 'grey', shape: 'dot', text: RED._(settings.mode === 'pulse' && command.value !== 'toggle' ? 'iopi-out.status.pulse' : on ? 'iopi-out.status.on' : 'iopi-out.status.off') };
          } else if (command.kind === 'port') {
            payload = busToPort(command.port as Port, after);
            status = { fill: 'green', shape: 'dot', text: '0x' + (payload as number).toString(16).padStart(2, '0') };
          } else {
            payload = after;
            status = { fill: 'green', shape: 'dot', text: '0x' + after.toString(16).padStart(4, '0') };
          }
          showStatus(status);
          if (settings.passthrough) {
            const out = msg as NodeMessage & Record<string, unknown>;
            out.payload = payload;
            if (command.kind === 'pin' || command.kind === 'pins') out.pins = pinsOfMask(command.mask);
            out.outputs = after;
            send(out);
          }
          done();
        },
        (err: Error) => {
          // Not written, and never will be (the driver withdrew it): done(err) means exactly that.
          // A pulse still ends as timed: its end writes the level from before, which is harmless if
          // the pulse never started and needed if an earlier pulse message did start it.
          showError(err.message);
          done(err);
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      // A pulse cut short by a redeploy still ends: best effort, the chip may be closing too.
      let pulsing = 0;
      for (const pin of pulses.keys()) pulsing |= 1 << (pin - 1);
      for (const pulse of pulses.values()) clearTimeout(pulse.timer);
      if (pulsing) {
        for (const pin of pulses.keys()) pulses.set(pin, { ...pulses.get(pin)!, timer: undefined as unknown as NodeJS.Timeout });
        endPulse(pulsing);
      }
      closed = true;
      view.close();
      pulses.clear();
      chip.deregister(user, done);
    });
  }

  RED.nodes.registerType('iopi-out', IopiOutNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
}
