/**
 * iopi-out: writes pins, ports or the 16-bit bus from messages: set, toggle or a timed pulse.
 *
 * This file only wires things together: nodes/out-settings.ts reads the settings,
 * nodes/out-message.ts turns each message into a fully validated command (a bad one ends in
 * done(err) and writes nothing), nodes/pulses.ts times the pulses, and the driver writes: masked
 * writes from its OLAT shadow, every message's state in order, or only the latest one under a burst
 * when the node's "Bursts" option says so. Each message's done() is called once its write has landed.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from 'node-red';
import { busToPort, pinsOfMask, type Port, type WriteOptions } from '../lib';
import { findChip, invalidSettings, UserStatus, type ChipUser } from './common';
import { parseCommand, type Command } from './out-message';
import { initialOutputs, outSettings, type OutConfig, type OutSettings } from './out-settings';
import { Pulses } from './pulses';

export interface IopiOutDef extends NodeDef, OutConfig {
  chip: string;
}

export default function (RED: NodeAPI) {
  function IopiOutNode(this: Node, config: IopiOutDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    let settings: OutSettings;
    try {
      settings = outSettings(config);
    } catch (err) {
      invalidSettings(RED, node, 'iopi-out', err);
      return;
    }
    const chip = findChip(RED, node, config.chip, 'iopi-out');
    if (!chip) return;

    let closed = false;
    const view = new UserStatus(node, chip);

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
    const writeOptions: WriteOptions = { latest: settings.latest };
    if (driver) {
      // Staged before the chip opens: OLAT is written before IODIR, so outputs start at their value.
      const initial = initialOutputs(settings);
      if (initial !== undefined) {
        driver.writeMasked(settings.mask, initial, { waitMs: Infinity }).catch((err: Error) => node.debug(`initial value: ${err.message}`));
      }
      // Settings: they wait for the chip however long it takes (the chip status shows why they do not).
      driver.configurePins({ mask: settings.mask, direction: 0 }, { waitMs: Infinity }).catch((err: Error) => node.debug(`configuring pins: ${err.message}`));
    }

    /** The end of a pulse: its pins back to the levels they had before it. */
    const pulses = new Pulses((mask, value) => {
      if (!driver) return;
      // The end of a pulse is owed to the pin (a relay must not stay on): it waits until it is written.
      driver.writeMasked(mask, value, { ...writeOptions, waitMs: Infinity }).then(
        () => showStatus(),
        (err: Error) => {
          if (closed) return;
          node.error(RED._('iopi-out.errors.pulseEnd', { error: err.message }));
          showError(err.message);
        },
      );
    });

    node.on('input', (msg: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      if (!driver) {
        done(new Error(RED._('iopi-out.errors.nodriver', { chip: chip.label })));
        return;
      }
      let command: Command;
      try {
        command = parseCommand(msg, settings);
      } catch (err) {
        showError((err as Error).message);
        done(err as Error);
        return;
      }
      const before = driver.getOutputs();
      let write: Promise<number>;
      if (command.value === 'toggle') {
        pulses.cancel(command.mask);
        write = driver.toggleMasked(command.mask, writeOptions);
      } else if (settings.mode === 'pulse') {
        pulses.start(command.mask, before, command.pulseMs);
        write = driver.writeMasked(command.mask, command.value, writeOptions);
      } else {
        pulses.cancel(command.mask);
        write = driver.writeMasked(command.mask, command.value, writeOptions);
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
      pulses.close();
      closed = true;
      view.close();
      chip.deregister(user, done);
    });
  }

  RED.nodes.registerType('iopi-out', IopiOutNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
}
