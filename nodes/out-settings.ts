/**
 * iopi-out's settings as the editor saves them (edited numbers arrive as text, untouched defaults
 * keep their type, flows from older versions lack newer properties), read into what the node uses.
 * Pure: no Node-RED, no driver.
 */
import { maskOfPins, portMask, portToBus, type Port } from '../lib';
import { MessageError, booleanSetting, choiceSetting, numberSetting, pinListSetting } from './common';
import { MAX_PULSE_MS, parseNumber, type Mode, type OutScope, type Target } from './out-message';

/** The node's properties in a flow (see nodes/iopi-out.html for their defaults). */
export interface OutConfig {
  target?: unknown;
  pins?: unknown;
  port?: unknown;
  mode?: unknown;
  pulse?: unknown;
  initial?: unknown;
  passthrough?: unknown;
  msgTarget?: unknown;
  burst?: unknown;
}

/** How a burst of messages reaches the chip. */
export type Burst = 'every' | 'latest';

export interface OutSettings extends OutScope {
  pins: number[];
  /** The value written on deploy (0-1 for pins, 0-255 port, 0-65535 bus), undefined: leave as it is. */
  initial: number | undefined;
  passthrough: boolean;
  /**
   * Latest value only: while writes wait for the bus, a newer message may replace them (for
   * high-rate streams). Off (the default, "every"): every message's state reaches the chip, in order.
   */
  latest: boolean;
}

/** Reads the settings; throws an error naming the bad one. */
export function outSettings(config: OutConfig): OutSettings {
  const target: Target = choiceSetting(config.target, 'target', ['pin', 'pins', 'port', 'bus'] as const, 'pin');
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
  const mode: Mode = choiceSetting(config.mode, 'mode', ['set', 'toggle', 'pulse'] as const, 'set');
  return {
    target, pins, port, mask, initial, mode,
    pulse: numberSetting(config.pulse, 'pulse', 1, MAX_PULSE_MS, 1000),
    passthrough: booleanSetting(config.passthrough, false),
    msgTarget: booleanSetting(config.msgTarget, true),
    latest: choiceSetting<Burst>(config.burst, 'burst', ['every', 'latest'], 'every') === 'latest',
  };
}

/** The initial value as a 16-bit value for a masked write of the node's pins (undefined: none). */
export function initialOutputs(settings: OutSettings): number | undefined {
  if (settings.initial === undefined) return undefined;
  if (settings.target === 'port') return portToBus(settings.port, settings.initial);
  if (settings.target === 'bus') return settings.initial;
  return settings.initial ? settings.mask : 0;
}
