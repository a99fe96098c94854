/**
 * iopi-in: sends a message when inputs change.
 *
 * The chip config node services the chip (polling or INT line) and hands every service read to this
 * node as ordered steps (lib/inputs.ts): last known -> captured at the first event -> current. So a
 * press and its release that both fall between two polls still give two messages, in order.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from 'node-red';
import { Debouncer, busToPort, maskOfPins, pinsOfMask, pinPort, type InputListener, type InputStep, type Port } from '../lib';
import {
  booleanSetting, choiceSetting, hexAddress, numberSetting, pinListSetting,
  findChip, invalidSettings, UserStatus, type ChipUser,
} from './common';

export interface IopiInDef extends NodeDef {
  chip: string;
  target: string;
  pins: unknown;
  output: string;
  edge: string;
  debounce: number | string;
  initial: boolean;
  pullup: boolean;
  invert: boolean;
  topic: string;
}

type Target = 'pins' | 'port0' | 'port1' | 'all';
type Edge = 'both' | 'rising' | 'falling';

export default function (RED: NodeAPI) {
  function IopiInNode(this: Node, config: IopiInDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let settings: {
      target: Target; mask: number; output: 'pin' | 'value'; edge: Edge; debounce: number;
      initial: boolean; pullup: boolean; invert: boolean; topic: string;
    };
    try {
      const target = choiceSetting(config.target, 'target', ['pins', 'port0', 'port1', 'all'] as const, 'pins');
      const mask = target === 'pins' ? maskOfPins(pinListSetting(config.pins)) : target === 'port0' ? 0x00ff : target === 'port1' ? 0xff00 : 0xffff;
      settings = {
        target,
        mask,
        output: choiceSetting(config.output, 'output', ['pin', 'value'] as const, 'pin'),
        edge: choiceSetting(config.edge, 'edge', ['both', 'rising', 'falling'] as const, 'both'),
        debounce: numberSetting(config.debounce, 'debounce', 0, 10000, 0),
        initial: booleanSetting(config.initial, false),
        pullup: booleanSetting(config.pullup, true),
        invert: booleanSetting(config.invert, true),
        topic: typeof config.topic === 'string' ? config.topic : '',
      };
    } catch (err) {
      invalidSettings(RED, node, 'iopi-in', err);
      return;
    }
    const chip = findChip(RED, node, config.chip, 'iopi-in');
    if (!chip) return;
    const { mask } = settings;
    const portTarget: Port | undefined = settings.target === 'port0' ? 0 : settings.target === 'port1' ? 1 : undefined;
    let baselineTaken = false;
    let closed = false;
    const view = new UserStatus(node, chip);
    const showStatus = (status?: NodeStatus) => view.show(status);

    const topicFor = (pin?: number) => {
      if (settings.topic) return settings.topic;
      const base = `iopi/${chip.busNumber}/${hexAddress(chip.address)}`;
      if (pin !== undefined) return `${base}/pin/${pin}`;
      return portTarget !== undefined ? `${base}/port/${portTarget}` : `${base}/bus`;
    };

    const edgeWanted = (value: 0 | 1) =>
      settings.edge === 'both' || (settings.edge === 'rising' ? value === 1 : value === 0);

    const sendPin = (pin: number, value: 0 | 1, edge: 'rising' | 'falling' | 'initial') => {
      const msg: NodeMessage & Record<string, unknown> = {
        topic: topicFor(pin),
        payload: value === 1,
        pin,
        port: pinPort(pin),
        bus: chip.busNumber,
        address: chip.address,
        edge,
      };
      node.send(msg);
      showStatus({ fill: value ? 'green' : 'grey', shape: 'dot', text: RED._(value ? 'iopi-in.status.on' : 'iopi-in.status.off', { pin }) });
    };

    /** Value of the node's pins: a port value (0-255) for a port target, else the 16-bit value. */
    const scoped = (value16: number) => (portTarget !== undefined ? busToPort(portTarget, value16) : value16 & mask);

    const sendValue = (value16: number, changed16: number, initial: boolean) => {
      const msg: NodeMessage & Record<string, unknown> = {
        topic: topicFor(),
        payload: scoped(value16),
        changed: scoped(changed16),
        pins: pinsOfMask(changed16 & mask),
        bus: chip.busNumber,
        address: chip.address,
      };
      if (portTarget !== undefined) msg.port = portTarget;
      if (initial) msg.edge = 'initial';
      node.send(msg);
      const text = '0x' + scoped(value16).toString(16).padStart(portTarget !== undefined ? 2 : 4, '0');
      showStatus({ fill: 'green', shape: 'dot', text });
    };

    // Pin mode: per-pin debounce, then the edge filter.
    const debouncer = new Debouncer(settings.debounce, (pin, value) => {
      if (edgeWanted(value)) sendPin(pin, value, value ? 'rising' : 'falling');
    }, () => chip.supervisor?.serviceNow() ?? Promise.resolve());

    // Value mode: the value must hold `debounce` ms before it is sent.
    let lastSent: number | undefined;
    let latest: number | undefined;
    let valueTimer: NodeJS.Timeout | undefined;
    const valueSettled = () => {
      valueTimer = undefined;
      if (closed || latest === undefined || lastSent === undefined) return;
      const changed = (latest ^ lastSent) & mask;
      if (!changed) return;
      const rose = changed & latest;
      const fell = changed & ~latest;
      lastSent = latest;
      if (settings.edge === 'rising' && !rose) return;
      if (settings.edge === 'falling' && !fell) return;
      sendValue(latest, changed, false);
    };

    const handleSteps = (steps: InputStep[]) => {
      for (const step of steps) {
        const changed = step.changed & mask;
        if (!changed) continue;
        if (settings.output === 'pin') {
          for (const pin of pinsOfMask(changed)) debouncer.push(pin, (step.value >> (pin - 1)) & 1 ? 1 : 0);
        } else {
          latest = step.value;
          if (settings.debounce > 0) {
            if (valueTimer) clearTimeout(valueTimer);
            // When the time is up, read the chip once more: a bounce back may still be latched there.
            const timer: NodeJS.Timeout = setTimeout(async () => {
              await (chip.supervisor?.serviceNow() ?? Promise.resolve()).catch(() => undefined);
              if (valueTimer === timer) valueSettled();
            }, settings.debounce);
            valueTimer = timer;
          } else {
            valueSettled();
          }
        }
      }
    };

    const user: ChipUser = {
      node,
      chipStatus: (status) => view.chipChanged(status),
      setConflict: (text) => view.conflictChanged(text),
    };

    // The chip reports a baseline for our pins (the levels last reported, kept across redeploys, or
    // the first read), then every change in order; pins rebased later (a new direction or polarity
    // written by iopi-setup, say) get a new baseline instead of a change.
    const listener: InputListener = {
      baseline(value16: number, pins16: number) {
        const fresh = pins16 & mask;
        for (const pin of pinsOfMask(fresh)) debouncer.baseline(pin, (value16 >> (pin - 1)) & 1 ? 1 : 0);
        lastSent = ((lastSent ?? 0) & ~fresh) | (value16 & fresh);
        latest = ((latest ?? 0) & ~fresh) | (value16 & fresh);
        if (baselineTaken) return;
        baselineTaken = true;
        if (settings.initial) {
          if (settings.output === 'pin') {
            for (const pin of pinsOfMask(mask)) sendPin(pin, (value16 >> (pin - 1)) & 1 ? 1 : 0, 'initial');
          } else {
            sendValue(value16, 0, true);
          }
        }
      },
      changes(steps: InputStep[]) {
        handleSteps(steps);
      },
    };

    chip.register(user);
    chip.claimPins(user, mask, 'in');
    const subscription = chip.subscribeInputs(user, mask, listener);
    // Inputs with the interrupt enabled, so the chip latches the first change between two reads. A
    // setting: it waits for the chip however long it takes (the chip status shows why it does not).
    chip.driver?.configurePins({
      mask,
      direction: 0xffff,
      pullup: settings.pullup ? 0xffff : 0,
      invert: settings.invert ? 0xffff : 0,
      interruptEnable: 0xffff,
    }, { waitMs: Infinity }).catch((err: Error) => node.debug(`configuring pins: ${err.message}`));

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      view.close();
      debouncer.stop();
      if (valueTimer) clearTimeout(valueTimer);
      subscription?.close();
      chip.deregister(user, done);
    });
  }

  RED.nodes.registerType('iopi-in', IopiInNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
}
