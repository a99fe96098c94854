/**
 * Two iopi-chip config nodes naming one chip (bus + address), as after importing two examples: they
 * share one driver (one register cache), so they never overwrite each other's configuration; pin
 * claims are merged across them; chip-wide settings that differ are said once per node, shown as a
 * warning status, and the first node's apply.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import {
  BANK0, chipNode, collect, flowOf, helper, inNode, lastStatus, load, logs, online, outNode, registers, sim, sleep, useNodeHelper, waitFor,
} from './helpers/nodes';

describe('iopi-chip: two config nodes for one chip', function () {
  this.timeout(30000);
  useNodeHelper();

  it('share one driver: both flows work and the registers stay put through configuration checks', async function () {
    this.timeout(20000);
    await load([
      chipNode({ id: 'chipA', name: 'IO Pi Plus bus 1', pollInterval: 20 }),
      chipNode({ id: 'chipB', name: 'a copy', pollInterval: 20 }),
      inNode({ id: 'inA', chip: 'chipA', pins: [1, 2], wires: [['eventsA']] }),
      inNode({ id: 'inB', chip: 'chipB', pins: [9], pullup: true, invert: false, wires: [['eventsB']] }),
      outNode({ id: 'outA', chip: 'chipA', pins: [5] }),
      outNode({ id: 'outB', chip: 'chipB', pins: [12] }),
      { id: 'eventsA', type: 'helper' }, { id: 'eventsB', type: 'helper' },
    ] as any, { completeScope: ['outA', 'outB'] });
    await online('chipA');
    await online('chipB');
    const a = helper.getNode('chipA');
    const b = helper.getNode('chipB');
    assert.equal(a.driver, b.driver, 'one driver');
    const eventsA = collect('eventsA');
    const eventsB = collect('eventsB');
    const completes = collect('completes');
    helper.getNode('outA').receive({ payload: true });
    helper.getNode('outB').receive({ payload: true });
    await waitFor(() => completes.length === 2, 3000, 'both writes');
    const c = sim.chip(1, 0x20);
    assert.equal(c.register(BANK0.OLATA) & 0x10, 0x10);
    assert.equal(c.register(BANK0.OLATB) & 0x08, 0x08);
    c.setInput(1, 0);
    c.setInput(9, 0);
    await waitFor(() => eventsA.length === 1 && eventsB.length === 1, 2000, 'both inputs');
    assert.equal(eventsA[0].payload, true, 'pin 1: pull-up, inverted');
    assert.equal(eventsB[0].payload, false, 'pin 9: not inverted');
    const before = registers();
    await sleep(6000); // longer than the configuration check (5 s)
    assert.deepEqual(registers().slice(0, 14), before.slice(0, 14), 'configuration registers stable');
    assert.deepEqual(logs('warn').filter((l) => /lost its configuration/.test(l.msg)), []);
    for (const id of ['inA', 'inB', 'outA', 'outB']) assert.ok(!['yellow', 'red'].includes(lastStatus(id).fill), `${id}: ${JSON.stringify(lastStatus(id))} (no warning: same settings)`);
  });

  it('a pin claimed in both directions through two config nodes is the usual conflict warning, on both sides', async () => {
    await load([
      chipNode({ id: 'chipA' }), chipNode({ id: 'chipB' }),
      inNode({ id: 'in1', name: 'door', chip: 'chipA', pins: [3] }),
      outNode({ id: 'out1', name: 'relay', chip: 'chipB', pins: [3] }),
    ] as any);
    await online('chipA');
    const warns = logs('warn');
    // (the test helper's RED._ gives the catalogue key, not the text)
    assert.ok(warns.some((l) => l.id === 'in1' && l.msg === 'iopi-chip.warnings.conflict'), JSON.stringify(warns));
    assert.ok(warns.some((l) => l.id === 'out1' && l.msg === 'iopi-chip.warnings.conflict'), JSON.stringify(warns));
    const [conflict] = helper.getNode('chipA').session.conflicts().filter((c: any) => c.claim.user === 'in1');
    assert.deepEqual([conflict.pins, conflict.other.label, conflict.other.direction, conflict.other.owner], [[3], 'relay', 'out', 'chipB']);
    assert.equal(lastStatus('in1').text, 'iopi-chip.status.conflict');
    assert.equal(lastStatus('out1').text, 'iopi-chip.status.conflict');
  });

  it('chip-wide settings that differ: the first node\'s apply, both say so once, their users show a warning status', async () => {
    await load([
      chipNode({ id: 'chipA', name: 'first', pollInterval: 20 }),
      chipNode({ id: 'chipB', name: 'second', pollInterval: 200, mirror: false }),
      inNode({ id: 'inA', chip: 'chipA', pins: [1] }),
      inNode({ id: 'inB', chip: 'chipB', pins: [2] }),
    ] as any);
    await online('chipA');
    await waitFor(() => lastStatus('inB')?.text === 'iopi-chip.status.mismatch', 2000, 'warning status');
    assert.equal(lastStatus('inA').text, 'iopi-chip.status.mismatch');
    assert.equal(lastStatus('inA').fill, 'yellow');
    const b = logs('warn').filter((l) => l.id === 'chipB');
    assert.equal(b.length, 1, JSON.stringify(b));
    assert.equal(b[0].msg, 'iopi-chip.warnings.settingsIgnored'); // the test helper's RED._ gives the key
    const a = logs('warn').filter((l) => l.id === 'chipA');
    assert.deepEqual(a.map((l) => l.msg), ['iopi-chip.warnings.settingsOthers']);
    assert.deepEqual([...helper.getNode('chipA').session.settingsConflicts()], [['chipB', ['poll interval 200 (in effect: 20)', 'INT mirror false (in effect: true)']]]);
    assert.equal(sim.chip(1, 0x20).register(BANK0.IOCONA) & 0x40, 0x40, 'mirror on: the first node\'s INT options');
  });

  it('a config node that leaves (removed in a modified-nodes deploy) does not stop the chip for the other', async () => {
    const flow = [chipNode({ id: 'chipA' }), chipNode({ id: 'chipB' }), inNode({ id: 'inA', chip: 'chipA', pins: [1], wires: [['ev']] }), outNode({ id: 'outB', chip: 'chipB', pins: [5] }), { id: 'ev', type: 'helper' }];
    await load(flow as any);
    await online('chipA');
    await helper.setFlows(flowOf([chipNode({ id: 'chipA' }), inNode({ id: 'inA', chip: 'chipA', pins: [1], wires: [['ev']] }), { id: 'ev', type: 'helper' }] as any), 'nodes');
    await sleep(50);
    assert.equal(helper.getNode('chipA').online, true);
    const events = collect('ev');
    sim.chip(1, 0x20).setInput(1, 0);
    await waitFor(() => events.length === 1, 2000, 'input still served');
  });
});
