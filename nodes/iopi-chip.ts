/**
 * iopi-chip: the configuration node of one MCP23017 (I2C bus + address).
 *
 * Modelled on the core mqtt-broker node: nodes using the chip register in their constructor and
 * deregister in their close; the chip is opened on the next tick after the first registration (so
 * every node of the flow has staged its pin settings and initialisation writes the final
 * configuration in one go) and closed with the last node that uses it. The chip's status is fanned
 * out to every user.
 *
 * The chip itself (driver and supervisor) is a session of the runtime's ChipHub (lib/chip-hub.ts):
 * several iopi-chip nodes that name the same bus and address (two imported examples) share it, the
 * first one's chip-wide settings apply, and pin claims are checked across all of them. All register
 * logic lives in lib/.
 */
import type { Node, NodeAPI, NodeDef, NodeStatus } from 'node-red';
import {
  ChipHub, i2cBusBackend, type Backend, type ChipSession, type ChipSettings, type ClaimConflict, type ClaimDirection,
  type InputListener, type SupervisorStatus,
} from '../lib';
import { IntLineWatcher, intLineSettings, type IntLineStatus } from '../lib/int-line';
import { attachIntLine } from '../lib/int-line-service';
import * as simulator from '../lib/simulator';
import { registerAdmin, trackChip } from './iopi-admin';
import { pinsOfMask } from '../lib/pins';
import {
  STATUS, booleanSetting, choiceSetting, hexAddress, numberSetting,
  type ChipConfigNode, type ChipUser,
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
  writeWait: number | string;
}

/** Pins 8 and 16 (GPA7, GPB7) are output-only on MCP23017 revision D (chips made since mid-2020). */
const OUTPUT_ONLY_PINS = 0x8080;

/** Longest wait time of a write, in ms (the form allows up to this). */
const MAX_WRITE_WAIT_MS = 600_000;

export default function (RED: NodeAPI) {
  // One hub per runtime: every iopi-chip node naming the same chip shares its session.
  const hub = new ChipHub();
  registerAdmin(RED); // GET iopi/chips, POST iopi/chips/:id/pins/:pin, GET iopi/scan; pushes on iopi/chip/<id>

  function IopiChipNode(this: ChipConfigNode & Node, config: IopiChipDef) {
    RED.nodes.createNode(this, config);
    const node = this as ChipConfigNode & Node & Record<string, unknown>;
    const users = new Map<string, ChipUser>();
    let status: NodeStatus = STATUS.connecting;
    let online = false;
    let started = false;
    let intLineStatus: IntLineStatus | undefined;

    const simulated = booleanSetting(config.simulate, false) || process.env.IOPI_SIMULATE === '1';
    let busNumber = 1;
    let address = 0x20;
    let session: ChipSession | undefined;
    let differences: string[] = [];
    try {
      busNumber = numberSetting(config.bus, 'bus', 0, 255, 1);
      address = numberSetting(config.address, 'address', 0x20, 0x27, 0x20);
      const mode = choiceSetting(config.interruptMode, 'interruptMode', ['poll', 'intline'] as const, 'poll');
      const settings: ChipSettings = {
        mode,
        pollInterval: numberSetting(config.pollInterval, 'pollInterval', 5, 60000, 50),
        intLine: typeof config.intLine === 'string' && /^[A-Za-z0-9_.-]{1,32}$/.test(config.intLine) ? config.intLine : 'GPIO23',
        interruptOutput: {
          mirror: booleanSetting(config.mirror, true),
          openDrain: booleanSetting(config.openDrain, true),
          activeHigh: booleanSetting(config.activeHigh, false),
        },
        writeWaitMs: numberSetting(config.writeWait, 'writeWait', 0, MAX_WRITE_WAIT_MS, 2000),
      };
      let backend: Backend;
      if (simulated) {
        simulator.chip(busNumber, address); // the simulated board is "plugged in" at deploy
        backend = simulator.simulatorBackend;
      } else {
        backend = i2cBusBackend();
      }
      const ownership = hub.acquire({ backend, busNumber, address }, settings, node.id);
      session = ownership.session;
      differences = ownership.differences;
      if (session.ownerIds.length === 1) setUpIntLine(session, simulated);
    } catch (err) {
      node.error(RED._('iopi-chip.errors.invalid', { error: (err as Error).message }));
      status = STATUS.invalid;
      session = undefined;
    }
    const driver = session?.driver;
    const supervisor = session?.supervisor;

    /** The creator of a session watches the INT line for it (the watcher lives as long as the session). */
    function setUpIntLine(s: ChipSession, sim: boolean): void {
      if (s.settings.mode !== 'intline') return;
      const settings = intLineSettings(s.settings.interruptOutput);
      let watcher: IntLineWatcher | simulator.SimulatedIntLine;
      if (sim) {
        // The simulator's INTA, watched like a Pi GPIO (with the Pi's pull-up), instead of gpiomon.
        watcher = new simulator.SimulatedIntLine({ busNumber, address, pin: 'A', edge: settings.edge, pullUp: settings.bias === 'pull-up' });
      } else {
        for (const warning of settings.warnings) node.warn(warning);
        const gpiomon = new IntLineWatcher({ line: s.settings.intLine ?? 'GPIO23', edge: settings.edge, bias: settings.bias });
        gpiomon.on('error', (err) => node.warn(err.message));
        watcher = gpiomon;
      }
      const attachment = attachIntLine(s.supervisor, watcher, { safetyPollMs: 1000, fallbackPollMs: s.settings.pollInterval });
      watcher.on('status', (st) => {
        const changed = intLineStatus?.state !== st.state || intLineStatus?.message !== st.message;
        intLineStatus = st;
        if (changed && (st.state === 'missing' || st.state === 'failed' || st.state === 'restarting')) node.warn(st.message);
        if (changed && st.state === 'watching' && !sim) node.log(st.message);
        if (changed && online && supervisor) {
          status = toNodeStatus(supervisor.status);
          fanOut();
        }
      });
      s.attach({ start: () => watcher.start(), stop: () => { attachment.detach(); return watcher.stop(); } });
    }

    const label = `${hexAddress(address)} on /dev/i2c-${busNumber}`;
    const isFirstOwner = () => session?.ownerIds[0] === node.id;

    const toNodeStatus = (s: SupervisorStatus): NodeStatus => {
      switch (s.state) {
        case 'online':
          if (session && session.settingsConflicts().size > 0) return STATUS.mismatch;
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

    // Listeners on the shared session: removed when this node closes (the session may go on).
    const detach: (() => void)[] = [];
    const listen = <E extends { on: (e: never, f: never) => unknown; off: (e: never, f: never) => unknown }>(emitter: E, event: string, fn: (...args: never[]) => void) => {
      (emitter.on as (e: string, f: (...args: never[]) => void) => unknown).call(emitter, event, fn);
      detach.push(() => (emitter.off as (e: string, f: (...args: never[]) => void) => unknown).call(emitter, event, fn));
    };

    if (supervisor && session) {
      listen(supervisor, 'status', (s: SupervisorStatus) => {
        online = s.state === 'online';
        status = toNodeStatus(s);
        fanOut();
      });
      // A shared chip's log lines are written once, by its first owner.
      listen(supervisor, 'warning', (text: string) => { if (isFirstOwner()) node.warn(text); });
      listen(supervisor, 'info', (text: string) => { if (isFirstOwner()) node.log(text); });
      listen(session, 'claims', () => checkClaims());
      listen(session, 'owners', () => checkSettings());
      if (session.supervisor.status.state !== 'starting') {
        online = supervisor.status.state === 'online';
        status = toNodeStatus(supervisor.status);
      }
    }

    /** Chip-wide settings that differ between the nodes sharing this chip: said once, shown while online. */
    let settingsWarned = '';
    const checkSettings = () => {
      if (!session || !supervisor) return;
      const conflicts = session.settingsConflicts();
      const mine = conflicts.get(node.id);
      let text = '';
      if (mine) {
        const first = RED.nodes.getNode(session.ownerIds[0]) as (Node & { name?: string }) | null;
        text = RED._('iopi-chip.warnings.settingsIgnored', { chip: label, other: first?.name || session.ownerIds[0], differences: mine.join('; ') });
      } else if (conflicts.size > 0 && isFirstOwner()) {
        const others = [...conflicts.keys()].map((id) => (RED.nodes.getNode(id) as (Node & { name?: string }) | null)?.name || id);
        text = RED._('iopi-chip.warnings.settingsOthers', { chip: label, others: others.join(', ') });
      }
      if (text && text !== settingsWarned) node.warn(text);
      settingsWarned = text;
      if (supervisor.status.state !== 'starting') {
        status = toNodeStatus(supervisor.status);
        fanOut();
      }
    };
    if (differences.length) checkSettings();

    // The editor's "IO Pi" sidebar and endpoints see this chip until it closes.
    editorView = trackChip(RED, {
      node, busNumber, address, simulated, driver, supervisor, status: () => status, online: () => online,
    });

    /** Conflicts already reported (user pairs), so each is warned once per deploy. */
    const conflicted = new Set<string>();
    /** Users showing a conflict now. */
    let inConflict = new Set<ChipUser>();
    const checkClaims = () => {
      if (!session) return;
      const now = new Set<ChipUser>();
      const mine = session.conflicts().filter((c: ClaimConflict) => c.claim.owner === node.id && users.has(c.claim.user));
      for (const c of mine) {
        const user = users.get(c.claim.user) as ChipUser;
        now.add(user);
        const key = `${c.claim.user}/${c.other.user}`;
        if (conflicted.has(key)) continue;
        conflicted.add(key);
        const text = RED._('iopi-chip.warnings.conflict', {
          pins: c.pins.join(', '), other: c.other.label, direction: c.other.direction, chip: label,
        });
        user.node.warn(text);
        if (user.setConflict) user.setConflict(text);
        else user.node.status(STATUS.conflict);
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
      session: { get: () => session, enumerable: false },
      label: { value: label, enumerable: true },
      chipStatusValue: { get: () => status, enumerable: true },
      online: { get: () => online, enumerable: true },
    });

    node.register = (user: ChipUser) => {
      users.set(user.node.id, user);
      user.chipStatus(status, online);
      if (session && !started) {
        started = true;
        session.start();
      }
    };

    node.subscribeInputs = (user: ChipUser, mask: number, listener: InputListener) => {
      if (!supervisor) return undefined;
      // A user's failure is reported on that user, never on the chip or the other users.
      return supervisor.subscribeInputs(mask, {
        baseline: (value, m, result) => {
          try { listener.baseline(value, m, result); } catch (err) { user.node.error(err); }
        },
        changes: (steps, result) => {
          try { listener.changes(steps, result); } catch (err) { user.node.error(err); }
        },
      });
    };

    node.deregister = (user: ChipUser, done?: () => void) => {
      users.delete(user.node.id);
      // A node restarted alone comes back as a new instance with the same id: warn it again.
      for (const key of [...conflicted]) if (key.split('/').includes(user.node.id)) conflicted.delete(key);
      session?.unclaim(user.node.id);
      done?.();
    };

    node.claimPins = (user: ChipUser, mask: number, direction: ClaimDirection) => {
      if (direction === 'in' && mask & OUTPUT_ONLY_PINS) {
        user.node.warn(RED._('iopi-chip.warnings.outputOnly', {
          pins: pinsOfMask(mask & OUTPUT_ONLY_PINS).join(', '), chip: label,
        }));
      }
      const n = user.node as Node & { name?: string };
      session?.claim({ id: `${n.id}/${direction}`, user: n.id, label: n.name || n.id, owner: node.id, direction, mask });
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      editorView?.stop();
      for (const off of detach.splice(0)) off();
      const leaving = session ? hub.release(session, node.id) : Promise.resolve();
      leaving.catch((err: Error) => node.error(err)).finally(() => {
        users.clear();
        done();
      });
    });
  }

  RED.nodes.registerType('iopi-chip', IopiChipNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
}
