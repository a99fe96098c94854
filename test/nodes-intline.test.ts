/**
 * iopi-chip in INT-line mode on a simulated chip: the simulated INTA is watched like a Pi GPIO
 * (no gpiomon), inputs arrive by edge, and the bus stays quiet while nothing happens.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import { BANK0, chipNode, collect, helper, inNode, load, online, sim, sleep, useNodeHelper, waitFor } from './helpers/nodes';

describe('iopi-chip INT-line mode (simulated)', function () {
  this.timeout(20000);
  useNodeHelper();

  it('writes the INT options, reports presses by edge and reads nothing while idle', async () => {
    await load([chipNode({ interruptMode: 'intline', pollInterval: 5 }), inNode({ target: 'port0' })]);
    await online();
    const chip = sim.chip(1, 0x20);
    assert.equal(chip.register(BANK0.IOCONA), 0x44, 'mirror + open-drain, active low');
    const msgs = collect('out');
    const stats = helper.getNode('chip1').driver.transport.stats;
    await sleep(50);
    const before = stats.transactions;
    await sleep(300);
    assert.ok(stats.transactions - before <= 1, `idle: ${stats.transactions - before} reads in 300 ms (polling every 5 ms would make ~60)`);
    for (let i = 0; i < 20; i++) {
      chip.setInput(2, 0);
      await waitFor(() => msgs.length === 2 * i + 1, 2000, `press ${i + 1}`);
      chip.setInput(2, null);
      await waitFor(() => msgs.length === 2 * i + 2, 2000, `release ${i + 1}`);
    }
    assert.deepEqual(msgs.map((m) => m.payload), Array.from({ length: 40 }, (_, i) => i % 2 === 0));
    assert.equal(chip.interruptOutput('A'), null, 'INT released (open-drain idle) after servicing');
  });

  it('a press and release faster than the service still give both messages', async () => {
    await load([chipNode({ interruptMode: 'intline' }), inNode({ target: 'pins', pins: [5] })]);
    await online();
    const chip = sim.chip(1, 0x20);
    const msgs = collect('out');
    chip.setInput(5, 0);
    chip.setInput(5, null); // both before the edge is even delivered
    await waitFor(() => msgs.length === 2, 2000, 'press and release');
    assert.deepEqual(msgs.map((m) => [m.pin, m.payload, m.edge]), [[5, true, 'rising'], [5, false, 'falling']]);
  });
});
