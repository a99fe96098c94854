/**
 * iopi-chip: the configuration node of one MCP23017 (I2C bus + address).
 *
 * Modelled on the core mqtt-broker node: nodes using the chip register in their constructor and
 * deregister in their close; the chip is opened on the next tick after the first registration (so
 * every node of the flow has staged its pin settings and initialisation writes the final
 * configuration in one go) and closed with this node. The chip's status is fanned out to every user.
 * All register logic lives in lib/: the driver, the supervisor (retries, polling, verify) and the
 * INT-line watcher.
 */
import type { Node, NodeAPI, NodeDef, NodeStatus } from 'node-red';
import {
  ChipSupervisor, Mcp23017, i2cBusBackend, pinsOfMask, type Backend, type SupervisorStatus,
} from '../lib';
import { IntLineWatcher, intLineSettings, type IntLineStatus } from '../lib/int-line';
import { attachIntLine, type IntLineAttachment } from '../lib/int-line-service';
import * as simulator from '../lib/simulator';
import { registerAdmin, trackChip } from './iopi-admin';
import {
  STATUS, booleanSetting, choiceSetting, hexAddress, numberSetting,
  type ChipConfigNode, type ChipUser, type PinDirection,
} from './common';

export interface IopiChipDef extends NodeDef {
  bus: number | string;
  address: number | string;
  interruptMode: string;
  pollInterval: number | string;
  intLine: string;
  mirror: boolean;
  openDrain: boolean;
  activeHigh: boolean;
  simulate: boolean;
}

interface Claim {
  user: ChipUser;
  mask: number;
  direction: PinDirection;
}

/** Pins 8 and 16 (GPA7, GPB7) are output-only on MCP23017 revision D (chips made since mid-2020). */
const OUTPUT_ONLY_PINS = 0x8080;

export default function (RED: NodeAPI) {
  registerAdmin(RED); // GET iopi/chips, POST iopi/chips/:id/pins/:pin, GET iopi/scan; pushes on iopi/chip/<id>
  function IopiChipNode(this: ChipConfigNode & Node, config: IopiChipDef) {
    RED.nodes.createNode(this, config);
    const node = this as ChipConfigNode & Node & Record<string, unknown>;
    const users = new Map<string, ChipUser>();
    const inputUsers = new Set<string>();
    const claims = new Map<string, Claim>();
    let status: NodeStatus = STATUS.connecting;
    let online = false;
    let started = false;
    let watcher: IntLineWatcher | simulator.SimulatedIntLine | undefined;
    let intLineStatus: IntLineStatus | undefined;
    let attachment: IntLineAttachment | undefined;

    const simulated = booleanSetting(config.simulate, false) || process.env.IOPI_SIMULATE === '1';
    let busNumber = 1;
    let address = 0x20;
    let driver: Mcp23017 | undefined;
    let supervisor: ChipSupervisor | undefined;
    try {
      busNumber = numberSetting(config.bus, 'bus', 0, 255, 1);
      address = numberSetting(config.address, 'address', 0x20, 0x27, 0x20);
      const mode = choiceSetting(config.interruptMode, 'interruptMode', ['poll', 'intline'] as const, 'poll');
      const pollInterval = numberSetting(config.pollInterval, 'pollInterval', 5, 60000, 50);
      const interruptOutput = {
        mirror: booleanSetting(config.mirror, true),
        openDrain: booleanSetting(config.openDrain, true),
        activeHigh: booleanSetting(config.activeHigh, false),
      };
      let backend: Backend;
      if (simulated) {
        simulator.chip(busNumber, address); // the simulated board is "plugged in" at deploy
        backend = simulator.simulatorBackend;
      } else {
        backend = i2cBusBackend();
      }
      driver = new Mcp23017({ busNumber, address, backend, interruptOutput });
      const intLine = mode === 'intline';
      // With the INT line, each edge's service read is repeated until no flag is left (stopping when
      // reads repeat: a held compare-mode pin), so a change landing during servicing is read at once
      // even if its edge was hidden. Polling needs one read: whatever latches later, the next poll reads.
      supervisor = new ChipSupervisor(driver, intLine ? { pollInterval: 0, maxServiceLoops: 8 } : { pollInterval });
      if (intLine) {
        const line = typeof config.intLine === 'string' && /^[A-Za-z0-9_.-]{1,32}$/.test(config.intLine) ? config.intLine : 'GPIO23';
        const settings = intLineSettings(interruptOutput);
        if (simulated) {
          // The simulator's INTA, watched like a Pi GPIO (with the Pi's pull-up), instead of gpiomon.
          watcher = new simulator.SimulatedIntLine({ busNumber, address, pin: 'A', edge: settings.edge, pullUp: settings.bias === 'pull-up' });
        } else {
          for (const warning of settings.warnings) node.warn(warning);
          watcher = new IntLineWatcher({ line, edge: settings.edge, bias: settings.bias });
          watcher.on('error', (err) => node.warn(err.message));
        }
        attachment = attachIntLine(supervisor, watcher, { safetyPollMs: 1000, fallbackPollMs: pollInterval });
        watcher.on('status', (s) => {
          const changed = intLineStatus?.state !== s.state || intLineStatus?.message !== s.message;
          intLineStatus = s;
          if (changed && (s.state === 'missing' || s.state === 'failed' || s.state === 'restarting')) node.warn(s.message);
          if (changed && s.state === 'watching' && !simulated) node.log(s.message);
          if (changed && online) {
            status = toNodeStatus(supervisor!.status);
            fanOut();
          }
        });
      }
    } catch (err) {
      node.error(RED._('iopi-chip.errors.invalid', { error: (err as Error).message }));
      status = STATUS.invalid;
      driver = undefined;
      supervisor = undefined;
    }

    const label = `${hexAddress(address)} on /dev/i2c-${busNumber}`;

    const toNodeStatus = (s: SupervisorStatus): NodeStatus => {
      switch (s.state) {
        case 'online':
          if (intLineStatus && intLineStatus.state !== 'watching' && intLineStatus.state !== 'stopped' && !simulated) {
            return STATUS.polling; // INT line not watched (gpiod missing, line busy...): polling meanwhile
          }
          return simulated ? STATUS.simulated : STATUS.online;
        case 'offline':
          switch (s.error?.kind) {
            case 'absent': return STATUS.nodevice;
            case 'no-bus': return STATUS.nobus;
            case 'permission': return STATUS.permission;
            default: return STATUS.error;
          }
        case 'stopped':
          return {};
        default:
          return STATUS.connecting;
      }
    };

    let editorView: ReturnType<typeof trackChip> | undefined;
    const fanOut = () => {
      editorView?.changed();
      for (const user of users.values()) {
        try {
          user.chipStatus(status, online);
        } catch (err) {
          node.error(err);
        }
      }
    };

    if (supervisor) {
      supervisor.on('status', (s) => {
        const wasOnline = online;
        online = s.state === 'online';
        status = toNodeStatus(s);
        fanOut();
        if (online && !wasOnline) {
          for (const user of users.values()) user.onOnline?.();
        }
      });
      supervisor.on('warning', (text) => node.warn(text));
      supervisor.on('input', (steps, result) => {
        for (const id of inputUsers) {
          const user = users.get(id);
          try {
            user?.onInput?.(steps, result);
          } catch (err) {
            user?.node.error(err);
          }
        }
      });
    }

    // The editor's "IO Pi" sidebar and endpoints see this chip until it closes.
    editorView = trackChip(RED, {
      node, busNumber, address, simulated, driver, supervisor, status: () => status, online: () => online,
    });

    /** Conflicts already reported (node pairs), so each is warned once per deploy. */
    const conflicted = new Set<string>();
    /** Users showing a conflict now. */
    let inConflict = new Set<ChipUser>();
    const checkClaims = () => {
      // Pins claimed in both directions by different nodes: warn both, once per deploy.
      const list = [...claims.values()];
      const now = new Set<ChipUser>();
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const a = list[i];
          const b = list[j];
          if (a.direction === b.direction || a.user === b.user) continue;
          const overlap = a.mask & b.mask;
          if (!overlap) continue;
          now.add(a.user).add(b.user);
          const pins = pinsOfMask(overlap).join(', ');
          for (const [one, other] of [[a, b], [b, a]] as const) {
            if (conflicted.has(one.user.node.id + '/' + other.user.node.id)) continue;
            conflicted.add(one.user.node.id + '/' + other.user.node.id);
            const text = RED._('iopi-chip.warnings.conflict', {
              pins, other: (other.user.node as Node & { name?: string }).name || other.user.node.id, direction: other.direction, chip: label,
            });
            one.user.node.warn(text);
            if (one.user.setConflict) one.user.setConflict(text);
            else one.user.node.status(STATUS.conflict);
          }
        }
      }
      // The other side is gone (removed by a "modified nodes" deploy): the warning status goes too.
      for (const user of inConflict) if (!now.has(user) && users.get(user.node.id) === user) user.setConflict?.(undefined);
      inConflict = now;
    };

    Object.defineProperties(node, {
      busNumber: { value: busNumber, enumerable: true },
      address: { value: address, enumerable: true },
      simulated: { value: simulated, enumerable: true },
      driver: { get: () => driver, enumerable: true },
      supervisor: { get: () => supervisor, enumerable: true },
      label: { value: label, enumerable: true },
      chipStatusValue: { get: () => status, enumerable: true },
      online: { get: () => online, enumerable: true },
    });

    node.register = (user: ChipUser, options: { inputs?: boolean } = {}) => {
      users.set(user.node.id, user);
      if (options.inputs && !inputUsers.has(user.node.id)) {
        inputUsers.add(user.node.id);
        supervisor?.watchInputs();
      }
      user.chipStatus(status, online);
      if (options.inputs && online && supervisor) {
        // Restarted alone ("modified nodes" deploy) while the chip stays online: read the chip once the
        // user has staged its pins (after its constructor), so it gets its baseline and initial state
        // now, not at the next poll or INT edge (which would then be taken as the baseline).
        const s = supervisor;
        void Promise.resolve().then(() => s.serviceNow());
      }
      if (supervisor && !started) {
        started = true;
        supervisor.start();
        watcher?.start();
      }
    };

    node.deregister = (user: ChipUser, done?: () => void) => {
      users.delete(user.node.id);
      // A node restarted alone comes back as a new instance with the same id: warn it again.
      for (const key of [...conflicted]) if (key.split('/').includes(user.node.id)) conflicted.delete(key);
      claims.delete(user.node.id + '/in');
      claims.delete(user.node.id + '/out');
      if (inputUsers.delete(user.node.id)) supervisor?.unwatchInputs();
      checkClaims();
      done?.();
    };

    node.claimPins = (user: ChipUser, mask: number, direction: PinDirection) => {
      claims.set(`${user.node.id}/${direction}`, { user, mask: mask & 0xffff, direction });
      if (direction === 'in' && mask & OUTPUT_ONLY_PINS) {
        user.node.warn(RED._('iopi-chip.warnings.outputOnly', {
          pins: pinsOfMask(mask & OUTPUT_ONLY_PINS).join(', '), chip: label,
        }));
      }
      checkClaims();
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      editorView?.stop();
      const stopping: Promise<unknown>[] = [];
      attachment?.detach();
      if (watcher) stopping.push(watcher.stop());
      if (supervisor) stopping.push(supervisor.stop());
      Promise.allSettled(stopping).then(() => {
        users.clear();
        inputUsers.clear();
        claims.clear();
        done();
      });
    });
  }

  RED.nodes.registerType('iopi-chip', IopiChipNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
}
