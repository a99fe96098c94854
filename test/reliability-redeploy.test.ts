/**
 * Reliability: 200 full redeploys of a flow that uses every node type on two chips (one
 * polled, one on the simulated INT line), with messages in flight and pulses pending at each stop.
 * Afterwards: no more active handles or timers, process listeners, child processes or open file
 * descriptors than after the first deploys, every bus opened was closed, no transport left.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  Transport, chipNode, helper, inNode, load, outNode, pinEntry, setupNode, sim, useNodeHelper, waitFor, type FlowNode,
} from './helpers/nodes';

const REDEPLOYS = 200;

function flow(): FlowNode[] {
  const pinConfig = Array.from({ length: 16 }, (_, i) => (i === 12 ? pinEntry({ use: true, dir: 'in', pullup: true, int: true }) : pinEntry()));
  const nodes: FlowNode[] = [];
  for (const [n, address, mode] of [[1, 0x20, 'poll'], [2, 0x21, 'intline']] as const) {
    nodes.push(
      chipNode({ id: `chip${n}`, address, interruptMode: mode, pollInterval: 5 }),
      inNode({ id: `in${n}`, chip: `chip${n}`, pins: [9, 10], debounce: 5, initial: true }),
      inNode({ id: `inv${n}`, chip: `chip${n}`, target: 'port1', output: 'value', debounce: 3 }),
      outNode({ id: `out${n}`, chip: `chip${n}`, pins: [1] }),
      outNode({ id: `pulse${n}`, chip: `chip${n}`, pins: [2], mode: 'pulse', pulse: 60000 }),
      outNode({ id: `port${n}`, chip: `chip${n}`, target: 'port', port: 0, pins: [], passthrough: true }),
      setupNode({ id: `setup${n}`, chip: `chip${n}`, pinConfig, setInt: true }),
    );
  }
  // a node without a chip and one with invalid settings take part too
  nodes.push(outNode({ id: 'orphan', chip: 'missing' }), outNode({ id: 'invalid', pins: [0] }));
  return nodes;
}

/** Resources of this process, by kind. */
function resources() {
  const active: Record<string, number> = {};
  for (const r of (process as any).getActiveResourcesInfo() as string[]) active[r] = (active[r] ?? 0) + 1;
  let listeners = 0;
  for (const name of process.eventNames()) listeners += process.listenerCount(name);
  const children = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
    } catch {
      return false;
    }
  }).length;
  return { active, listeners, children, fds: fs.readdirSync('/proc/self/fd').length };
}

describe('reliability: redeploys', function () {
  this.timeout(90000);
  useNodeHelper();

  it(`${REDEPLOYS} full redeploys of every node type on two chips leak nothing; the bus is closed when no node uses it`, async () => {
    const backend = sim.simulatorBackend as { open: (bus: number) => Promise<any> };
    const realOpen = backend.open;
    let opened = 0;
    let closed = 0;
    backend.open = async (bus: number) => {
      const b = await realOpen(bus);
      opened++;
      const close = b.close.bind(b);
      b.close = () => { closed++; return close(); };
      return b;
    };
    const chipA = sim.chip(1, 0x20);
    const chipB = sim.chip(1, 0x21);
    const deploy = async (i: number) => {
      await load(flow(), { completeScope: ['out1', 'out2', 'pulse1', 'pulse2', 'port1', 'port2', 'setup1', 'setup2', 'orphan', 'invalid'] });
      await waitFor(() => helper.getNode('chip1').online && helper.getNode('chip2').online, 3000, `online (deploy ${i})`);
      // messages in flight and pulses pending when the flow stops
      for (const n of [1, 2]) {
        helper.getNode(`out${n}`).receive({ payload: i % 2 === 0 });
        helper.getNode(`pulse${n}`).receive({ payload: true });
        helper.getNode(`port${n}`).receive({ payload: i & 0xff });
        if (i % 10 === 0) helper.getNode(`setup${n}`).receive({ payload: { mirror: i % 20 === 0 } });
      }
      helper.getNode('orphan').receive({ payload: true });
      helper.getNode('invalid').receive({ payload: true });
      (i % 2 ? chipA : chipB).setInput(9, i % 4 < 2 ? 0 : null); // an input change on the way
      await new Promise((resolve) => setImmediate(resolve));
      await helper.unload();
      assert.equal(Transport.openCount(), 0, `no transport left after deploy ${i}`);
      assert.equal(closed, opened, `every bus opened was closed (deploy ${i})`);
    };
    try {
      const start = Date.now();
      for (let i = 0; i < 3; i++) await deploy(i); // warm-up: lazy module state, first-use caches
      await new Promise((resolve) => setTimeout(resolve, 20));
      const before = resources();
      const chipListeners = [chipA.listenerCount('change'), chipB.listenerCount('change')];
      for (let i = 3; i < REDEPLOYS + 3; i++) await deploy(i);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const after = resources();
      const elapsed = Date.now() - start;
      assert.ok(elapsed < 60000, `${REDEPLOYS} redeploys took ${elapsed} ms`);
      for (const [kind, count] of Object.entries(after.active)) {
        assert.ok(count <= (before.active[kind] ?? 0), `active ${kind}: ${before.active[kind] ?? 0} -> ${count}`);
      }
      assert.ok(after.listeners <= before.listeners, `process listeners: ${before.listeners} -> ${after.listeners}`);
      assert.ok(after.children <= before.children, `child processes: ${before.children} -> ${after.children}`);
      assert.ok(after.fds <= before.fds, `open file descriptors: ${before.fds} -> ${after.fds}`);
      assert.deepEqual([chipA.listenerCount('change'), chipB.listenerCount('change')], chipListeners, 'simulated INT line listeners');
      assert.ok(opened >= REDEPLOYS, `the bus was opened at each deploy (${opened})`);
      assert.equal(Transport.openCount(), 0);
    } finally {
      backend.open = realOpen;
    }
  });
});
