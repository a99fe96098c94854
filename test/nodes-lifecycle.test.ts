/**
 * Life-cycle cases across the iopi nodes: "modified nodes" deploys (a user node restarted while its
 * chip stays online), settings of an input's pins changed at run time by iopi-setup, a chip that lost
 * its configuration, and the order in which Node-RED closes users and their config node.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import {
  BANK0, Transport, chipNode, collect, flowOf, helper, inNode, lastStatus, load, logs, online, outNode, pinEntry,
  send, setupNode, sim, sleep, statuses, useNodeHelper, waitFor,
} from './helpers/nodes';

const chip = () => sim.chip(1, 0x20);
const press = (pin: number) => chip().setInput(pin, 0);
const release = (pin: number) => chip().setInput(pin, null);
const brief = (m: any) => ({ pin: m.pin, payload: m.payload, edge: m.edge });

describe('iopi nodes: life cycle', function () {
  this.timeout(20000);
  useNodeHelper();

  describe('a "modified nodes" deploy (the chip stays online)', () => {
    it('a restarted iopi-in reads its pins again, sends its initial state and reports presses', async () => {
      const nodes = [chipNode(), inNode({ pins: [3] }), outNode({ pins: [1] })];
      await load(nodes);
      await online();
      const chipNodeBefore = helper.getNode('chip1');
      press(3);
      await sleep(30);
      // only the iopi-in changes: pin 4 instead of 3, with the initial state
      await helper.setFlows(flowOf([chipNode(), inNode({ pins: [3, 4], initial: true }), outNode({ pins: [1] })]), 'nodes');
      assert.equal(helper.getNode('chip1'), chipNodeBefore, 'the config node was not restarted');
      const msgs = collect('out');
      await waitFor(() => msgs.length === 2, 1000, 'initial state of pins 3 and 4');
      assert.deepEqual(msgs.map(brief), [{ pin: 3, payload: true, edge: 'initial' }, { pin: 4, payload: false, edge: 'initial' }]);
      press(4);
      await waitFor(() => msgs.length === 3, 1000, 'press of pin 4');
      assert.deepEqual(brief(msgs[2]), { pin: 4, payload: true, edge: 'rising' });
      assert.equal(chip().register(BANK0.GPINTENA) & 0x0c, 0x0c, 'pin 4 interrupt enabled by the new node');
      assert.equal(lastStatus('in1').text, 'iopi-in.status.on');
    });

    it('with the INT line (no polling), a restarted iopi-in still gets its baseline at once', async () => {
      const flow = (initial: boolean) => [chipNode({ interruptMode: 'intline' }), inNode({ pins: [3], initial }), inNode({ id: 'in2', pins: [9], wires: [[]] })];
      await load(flow(false));
      await online();
      await helper.setFlows(flowOf(flow(true)), 'nodes');
      const msgs = collect('out');
      await waitFor(() => msgs.length === 1, 500, 'initial state without waiting for an INT edge');
      press(3);
      await waitFor(() => msgs.length === 2, 1000, 'press');
      assert.deepEqual(msgs.map(brief), [{ pin: 3, payload: false, edge: 'initial' }, { pin: 3, payload: true, edge: 'rising' }]);
    });

    it('a pin conflict is shown again on the restarted node', async () => {
      const flow = (name: string) => [chipNode(), inNode({ name, pins: [4] }), outNode({ pins: [4] })];
      await load(flow('button'));
      await online();
      assert.equal(lastStatus('in1').text, 'iopi-chip.status.conflict');
      const warnsBefore = logs('warn').filter((w) => w.id === 'in1').length;
      await helper.setFlows(flowOf(flow('renamed button')), 'nodes');
      await sleep(50);
      assert.equal(lastStatus('in1').text, 'iopi-chip.status.conflict', 'the new iopi-in instance shows the conflict');
      assert.equal(lastStatus('out1').text, 'iopi-chip.status.conflict');
      assert.ok(logs('warn').filter((w) => w.id === 'in1').length > warnsBefore, 'and logs it');
    });

    it('a conflict that goes with the other node (removed) clears the warning status', async () => {
      await load([chipNode(), inNode({ pins: [4] }), outNode({ pins: [4] })]);
      await online();
      assert.equal(lastStatus('in1').text, 'iopi-chip.status.conflict');
      await helper.setFlows(flowOf([chipNode(), inNode({ pins: [4] })]), 'nodes');
      await sleep(30);
      assert.equal(lastStatus('in1').text, 'iopi-chip.status.simulated');
    });

    it('an iopi-in wired to an iopi-out on other pins: the error says how to ignore msg.pin', async () => {
      await load([chipNode(), inNode({ pins: [3], wires: [['out1']] }), outNode({ pins: [1] })]);
      await online();
      const errors = collect('errors');
      press(3);
      await waitFor(() => errors.length === 1, 1000, 'caught error');
      assert.match(errors[0].error.message, /msg\.pin must be within this node's pins \(1\) \(got 3\).*untick/);
      assert.equal(errors[0].error.source.id, 'out1');
    });

    it('removing the last user leaves the chip open for the next one; a full redeploy closes everything', async () => {
      await load([chipNode(), inNode({ pins: [3] })]);
      await online();
      await helper.setFlows(flowOf([chipNode(), outNode({ pins: [2], initial: '1' })]), 'nodes');
      await waitFor(() => chip().pinLevel(2) === 1, 1000, 'the new output written');
      assert.equal(Transport.openCount(), 1);
      await helper.unload();
      assert.equal(Transport.openCount(), 0);
    });
  });

  describe('settings of an input changed at run time', () => {
    it('iopi-setup turning inversion off on a debounced input: later presses are still reported', async () => {
      await load([
        chipNode(), inNode({ pins: [3], debounce: 20 }),
        setupNode({ applyOnDeploy: false, wires: [[]] }),
      ]);
      await online();
      const msgs = collect('out');
      press(3);
      await waitFor(() => msgs.length === 1, 1000, 'press (inverted: true)');
      // The pin now reads the electrical level: low (pressed) = false. Not a change of the input.
      send('setup1', { payload: { pins: { 3: { dir: 'in', pullup: true, invert: false, int: true } } } });
      await sleep(80);
      assert.deepEqual(msgs.map(brief), [{ pin: 3, payload: true, edge: 'rising' }], 'no message for the re-inversion');
      release(3); // high again
      await waitFor(() => msgs.length === 2, 1000, 'release, seen at the new polarity');
      assert.deepEqual(brief(msgs[1]), { pin: 3, payload: true, edge: 'rising' });
      press(3);
      await waitFor(() => msgs.length === 3, 1000, 'press, seen at the new polarity');
      assert.deepEqual(brief(msgs[2]), { pin: 3, payload: false, edge: 'falling' });
    });

    it('value output: the rebased pins are a new baseline, not a change', async () => {
      await load([
        chipNode(), inNode({ target: 'port0', output: 'value', debounce: 20 }),
        setupNode({ applyOnDeploy: false, wires: [[]] }),
      ]);
      await online();
      const msgs = collect('out');
      send('setup1', { payload: { pins: { 1: { dir: 'in', pullup: true, invert: false, int: true } } } });
      await sleep(80);
      assert.equal(msgs.length, 0, 'no message for the re-inversion');
      press(1);
      await waitFor(() => msgs.length === 1, 1000, 'press on the non-inverted pin');
      assert.equal(msgs[0].payload, 0x00, 'pin 1 now reads low when pressed');
      assert.equal(msgs[0].changed, 0x01);
    });
  });

  describe('a chip that lost its configuration (power glitch)', () => {
    it('is restored by the next check (here: an iopi-setup message) and a warning says so', async () => {
      await load([chipNode(), outNode({ pins: [2], initial: '1' }), setupNode({ applyOnDeploy: false })]);
      await online();
      assert.equal(chip().pinLevel(2), 1);
      chip().powerCycle();
      assert.equal(chip().register(BANK0.IODIRA), 0xff, 'back at power-on values');
      const out = collect('out');
      send('setup1', {});
      await waitFor(() => out.length === 1, 1000, 'setup done');
      assert.equal(chip().pinLevel(2), 1, 'output restored');
      const warns = logs('warn').filter((w) => w.id === 'chip1');
      assert.equal(warns.length, 1, JSON.stringify(warns));
      assert.match(warns[0].msg, /lost its configuration|restored/);
    });
  });

  describe('close order', () => {
    it('the config node closing first: users deregister late without errors, nothing left open', async () => {
      await load([chipNode(), inNode({ pins: [3], debounce: 50 }), outNode({ pins: [1], mode: 'pulse', pulse: 5000 })]);
      await online();
      send('out1', { payload: true });
      press(3);
      await sleep(15);
      const chipNode1 = helper.getNode('chip1');
      const closed = new Promise<void>((resolve) => chipNode1.close(false).then(resolve));
      await closed;
      assert.equal(Transport.openCount(), 0);
      await helper.unload();
      assert.equal(Transport.openCount(), 0);
      assert.deepEqual(logs('error'), []);
    });
  });

  it('statuses never exceed 20 characters once translated', async () => {
    const catalogue: any = {};
    for (const type of ['iopi-chip', 'iopi-in', 'iopi-out', 'iopi-setup']) {
      try {
        Object.assign(catalogue, require(`../nodes/locales/en-US/${type}.json`));
      } catch {
        /* written by the editor work */
      }
    }
    const translate = (text: string) => {
      const value = text.split('.').reduce((o: any, k) => (o ? o[k] : undefined), catalogue);
      return typeof value === 'string' ? value.replace(/__pin__/g, '16') : text;
    };
    await load([
      chipNode(), inNode({ pins: [3, 16] }), inNode({ id: 'in2', target: 'all', output: 'value', wires: [[]] }),
      outNode({ target: 'bus', wires: [[]] }), outNode({ id: 'out2', pins: [4], mode: 'pulse', pulse: 20 }),
      setupNode({ pinConfig: Array.from({ length: 16 }, (_, i) => pinEntry(i === 4 ? { use: true, dir: 'out' } : {})) }),
    ]);
    await online();
    press(3);
    press(16);
    send('out1', { payload: 0x1234 });
    send('out1', { payload: 'bad' });
    send('out2', { payload: true });
    send('setup1', { payload: 'bad' });
    await sleep(100);
    for (const id of ['in1', 'in2', 'out1', 'out2', 'setup1']) {
      for (const s of statuses(id)) {
        if (!s?.text) continue;
        const t = translate(s.text);
        assert.ok(t.length <= 20, `${id}: "${t}" (${s.text}) is ${t.length} characters`);
      }
    }
  });
});
