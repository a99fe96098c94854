/**
 * iopi-setup: per-pin direction, pull-up, inversion and interrupt settings from a form, plus the
 * chip-wide INT output options. Applied on deploy (staged before the chip opens, so initialisation
 * writes them) and again on every message, where msg.payload may override any field. Sends out the
 * resulting register values.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { maskOfPins, pinMask, type InterruptOutputOptions, type PinSettings, type WriteOptions } from '../lib';
import {
  MessageError, booleanSetting, ownProperty,
  findChip, invalidSettings, UserStatus, type ChipUser,
} from './common';

export interface PinConfig {
  use: boolean;
  dir: 'in' | 'out';
  pullup: boolean;
  invert: boolean;
  int: boolean;
  intType: 'change' | 'compare';
  defval: 0 | 1;
}

export interface IopiSetupDef extends NodeDef {
  chip: string;
  pinConfig: unknown;
  setInt: boolean;
  mirror: boolean;
  openDrain: boolean;
  activeHigh: boolean;
  applyOnDeploy: boolean;
}

const UNUSED: PinConfig = { use: false, dir: 'in', pullup: false, invert: false, int: false, intType: 'change', defval: 0 };
const REGISTER_FIELDS = ['direction', 'pullup', 'invert', 'interruptEnable', 'interruptCompare', 'interruptDefault'] as const;
const PIN_FIELDS = ['use', 'dir', 'pullup', 'invert', 'int', 'intType', 'defval'] as const;

function bool(value: unknown, name: string): boolean {
  if (value === true || value === 1 || value === 'true') return true;
  if (value === false || value === 0 || value === 'false') return false;
  throw new MessageError(name, 'true or false', value);
}

/** One pin's settings from a form entry or a message (fields missing in `value` keep `base`). */
function parsePin(value: unknown, base: PinConfig, name: string): PinConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new MessageError(name, 'an object', value);
  const out: PinConfig = { ...base };
  for (const key of Object.keys(value)) {
    if (!(PIN_FIELDS as readonly string[]).includes(key)) {
      throw new MessageError(`${name}.${key}`, `one of the fields ${PIN_FIELDS.join(', ')}`, key);
    }
  }
  const get = (key: string) => ownProperty(value, key);
  if (get('use') !== undefined) out.use = bool(get('use'), `${name}.use`);
  if (get('dir') !== undefined) {
    const dir = get('dir');
    if (dir !== 'in' && dir !== 'out') throw new MessageError(`${name}.dir`, '"in" or "out"', dir);
    out.dir = dir;
  }
  if (get('pullup') !== undefined) out.pullup = bool(get('pullup'), `${name}.pullup`);
  if (get('invert') !== undefined) out.invert = bool(get('invert'), `${name}.invert`);
  if (get('int') !== undefined) out.int = bool(get('int'), `${name}.int`);
  if (get('intType') !== undefined) {
    const t = get('intType');
    if (t !== 'change' && t !== 'compare') throw new MessageError(`${name}.intType`, '"change" or "compare"', t);
    out.intType = t;
  }
  if (get('defval') !== undefined) {
    const d = get('defval');
    if (d !== 0 && d !== 1 && d !== true && d !== false && d !== '0' && d !== '1') throw new MessageError(`${name}.defval`, '0 or 1', d);
    out.defval = d === 1 || d === true || d === '1' ? 1 : 0;
  }
  return out;
}

/** The 16 pin entries of the form (missing entries: unused). */
function parsePinConfig(value: unknown): PinConfig[] {
  if (value === undefined || value === null || value === '') return Array.from({ length: 16 }, () => ({ ...UNUSED }));
  if (!Array.isArray(value) || value.length !== 16) throw new MessageError('pinConfig', 'a list of 16 pin settings', value);
  return value.map((entry, i) => parsePin(entry, UNUSED, `pin ${i + 1}`));
}

/** Register values for the used pins. */
function toSettings(pins: PinConfig[]): PinSettings {
  const used = pins.map((p, i) => (p.use ? i + 1 : 0)).filter((p) => p > 0);
  const bits = (test: (p: PinConfig) => boolean) => pins.reduce((acc, p, i) => (p.use && test(p) ? acc | pinMask(i + 1) : acc), 0);
  return {
    mask: maskOfPins(used),
    direction: bits((p) => p.dir === 'in'),
    pullup: bits((p) => p.pullup),
    invert: bits((p) => p.invert),
    interruptEnable: bits((p) => p.int),
    interruptCompare: bits((p) => p.intType === 'compare'),
    interruptDefault: bits((p) => p.defval === 1),
  };
}

export default function (RED: NodeAPI) {
  function IopiSetupNode(this: Node, config: IopiSetupDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let pins: PinConfig[];
    try {
      pins = parsePinConfig(config.pinConfig);
    } catch (err) {
      invalidSettings(RED, node, 'iopi-setup', err);
      return;
    }
    const setInt = booleanSetting(config.setInt, false);
    const intOptions: InterruptOutputOptions = {
      mirror: booleanSetting(config.mirror, true),
      openDrain: booleanSetting(config.openDrain, true),
      activeHigh: booleanSetting(config.activeHigh, false),
    };
    const applyOnDeploy = booleanSetting(config.applyOnDeploy, true);
    const chip = findChip(RED, node, config.chip, 'iopi-setup');
    if (!chip) return;
    const driver = chip.driver;
    let applied = false;
    // "applied" once the setup is on the chip; a failed message's error holds for a few seconds.
    const view = new UserStatus(node, chip, {
      current: () => (applied ? { fill: 'green', shape: 'dot', text: RED._('iopi-setup.status.applied') } : undefined),
      holdError: true,
    });
    const showStatus = () => view.show();
    const showError = () => view.error({ fill: 'red', shape: 'ring', text: RED._('iopi-setup.status.error') });

    const user: ChipUser = {
      node,
      chipStatus: (status) => view.chipChanged(status),
      setConflict: (text) => view.conflictChanged(text),
    };
    chip.register(user);
    const settings = toSettings(pins);
    const inputs = settings.mask & (settings.direction ?? 0);
    const outputs = settings.mask & ~(settings.direction ?? 0);
    if (inputs) chip.claimPins(user, inputs, 'in');
    if (outputs) chip.claimPins(user, outputs, 'out');

    const registers = () => {
      if (!driver) return {};
      return {
        IODIR: driver.getRegister('IODIR'),
        IPOL: driver.getRegister('IPOL'),
        GPINTEN: driver.getRegister('GPINTEN'),
        DEFVAL: driver.getRegister('DEFVAL'),
        INTCON: driver.getRegister('INTCON'),
        IOCON: driver.getRegister('IOCON'),
        GPPU: driver.getRegister('GPPU'),
        OLAT: driver.getRegister('OLAT'),
      };
    };

    /**
     * Stages everything as one change (validation happened before: nothing partial), then waits for
     * it: written together, or not at all. On deploy it is a setting (waits however long the chip takes);
     * from a message it waits up to the chip's write wait time, like any write.
     */
    const apply = (settingsToApply: PinSettings, registerOverrides: Partial<Record<(typeof REGISTER_FIELDS)[number], number>>, int: Partial<InterruptOutputOptions> | undefined, options: WriteOptions): Promise<void> => {
      if (!driver) return Promise.reject(new Error(RED._('iopi-setup.errors.nodriver', { chip: chip.label })));
      const pins: PinSettings[] = [];
      if (settingsToApply.mask) pins.push(settingsToApply);
      const overrides = Object.entries(registerOverrides);
      if (overrides.length) pins.push({ mask: 0xffff, ...Object.fromEntries(overrides) });
      if (!pins.length && !int) return Promise.resolve();
      return driver.configure({ pins, interruptOutput: int }, options);
    };

    if (applyOnDeploy && driver) {
      apply(settings, {}, setInt ? intOptions : undefined, { waitMs: Infinity }).then(
        () => {
          applied = true;
          showStatus();
        },
        (err: Error) => node.debug(`applying on deploy: ${err.message}`), // the chip status shows failures
      );
    }

    node.on('input', (msg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      let pinSettings: PinSettings;
      const registerOverrides: Partial<Record<(typeof REGISTER_FIELDS)[number], number>> = {};
      let int: Partial<InterruptOutputOptions> | undefined = setInt ? { ...intOptions } : undefined;
      try {
        const payload = ownProperty(msg, 'payload');
        let current = pins;
        if (payload !== undefined && payload !== null && payload !== '' && typeof payload !== 'boolean' && typeof payload !== 'number') {
          if (typeof payload !== 'object' || Array.isArray(payload)) {
            throw new MessageError('msg.payload', 'an object such as {pins: {"3": {dir: "in"}}, mirror: true} (or empty to re-apply)', payload);
          }
          const allowed = ['pins', 'mirror', 'openDrain', 'activeHigh', ...REGISTER_FIELDS];
          for (const key of Object.keys(payload)) {
            if (!allowed.includes(key)) throw new MessageError(`msg.payload.${key}`, `one of ${allowed.join(', ')}`, key);
          }
          const pinOverrides = ownProperty(payload, 'pins');
          if (pinOverrides !== undefined) {
            if (pinOverrides === null || typeof pinOverrides !== 'object' || Array.isArray(pinOverrides)) {
              throw new MessageError('msg.payload.pins', 'an object keyed by pin number 1-16', pinOverrides);
            }
            current = pins.map((p) => ({ ...p }));
            for (const key of Object.keys(pinOverrides)) {
              if (!/^(?:[1-9]|1[0-6])$/.test(key)) throw new MessageError('msg.payload.pins key', 'a pin number from 1 to 16', key);
              const base = current[Number(key) - 1];
              current[Number(key) - 1] = parsePin(ownProperty(pinOverrides, key), { ...base, use: true }, `msg.payload.pins.${key}`);
            }
          }
          for (const field of REGISTER_FIELDS) {
            const v = ownProperty(payload, field);
            if (v === undefined) continue;
            if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) {
              throw new MessageError(`msg.payload.${field}`, 'an integer from 0 to 65535 (0xFFFF)', v);
            }
            registerOverrides[field] = v;
          }
          for (const key of ['mirror', 'openDrain', 'activeHigh'] as const) {
            const v = ownProperty(payload, key);
            if (v === undefined) continue;
            int = { ...(int ?? {}), [key]: bool(v, `msg.payload.${key}`) };
          }
        }
        pinSettings = toSettings(current);
      } catch (err) {
        showError();
        done(err as Error);
        return;
      }
      // The driver writes only what differs from its cache; verify() then reads the chip back and
      // rewrites the whole configuration if something else changed it, so a message really re-applies.
      // Once applied the message is written: a check that fails after that is the chip status's business.
      Promise.resolve().then(() => apply(pinSettings, registerOverrides, int, {})).then(() => driver?.verify().catch(() => undefined)).then(
        () => {
          applied = true;
          view.clearError();
          showStatus();
          const out = msg as NodeMessage & Record<string, unknown>;
          out.payload = registers();
          send(out);
          done();
        },
        (err: Error) => {
          showError();
          done(err);
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      view.close();
      chip.deregister(user, done);
    });
  }

  RED.nodes.registerType('iopi-setup', IopiSetupNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
}
