/**
 * Reliability: concurrent writers and inputs. 8 iopi-out nodes (pins 1-8, one pin each)
 * get 1,000 messages each, interleaved over 1,000 turns of the event loop, while the pins of the
 * other port (9-16) are pressed and released and an iopi-in reports them.
 *
 * Checked: every message completes; each node's pass-through messages come in the order sent and
 * carry the state the model expects; the states written to each pin are an ordered subsequence of
 * the requested ones (writes may be coalesced, never reordered); the final outputs equal the model;
 * every press and every release gives exactly one message, in order.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import {
  BANK0, chipNode, collect, helper, inNode, load, online, outNode, sim, sleep, useNodeHelper, waitFor, type FlowNode,
} from './helpers/nodes';
import { prng as random } from './helpers/prng';

const NODES = 8;
const MESSAGES = 1000;

/** Whether `sub` is an ordered subsequence of `seq`. */
function isSubsequence(sub: number[], seq: number[]): boolean {
  let j = 0;
  for (const v of sub) {
    while (j < seq.length && seq[j] !== v) j++;
    if (j === seq.length) return false;
    j++;
  }
  return true;
}

const collapse = (seq: number[]) => seq.filter((v, i) => i === 0 || v !== seq[i - 1]);

describe('reliability: concurrency', function () {
  this.timeout(60000);
  useNodeHelper();

  it(`${NODES} output nodes x ${MESSAGES} messages on one port while inputs change on the other: order kept, nothing lost`, async () => {
    const rnd = random(8);
    const outs: FlowNode[] = Array.from({ length: NODES }, (_, k) =>
      outNode({ id: `o${k + 1}`, pins: [k + 1], passthrough: true, wires: [['out']] }));
    await load([
      chipNode({ pollInterval: 5 }),
      ...outs,
      inNode({ id: 'in1', pins: [9, 10, 11, 12, 13, 14, 15, 16], output: 'pin', edge: 'both', debounce: 0, wires: [['events']] }),
      { id: 'events', type: 'helper' },
    ], { completeScope: outs.map((o) => o.id) });
    const chip = await online();
    const c = sim.chip(1, 0x20);
    const completes = collect('completes');
    const errors = collect('errors');
    const passed = collect('out');
    const events = collect('events');

    // What reaches the chip: every OLATA value it is given, per pin.
    const written: number[][] = Array.from({ length: NODES }, () => [0]);
    let lastOlat = c.register(BANK0.OLATA);
    c.on('change', () => {
      const olat = c.register(BANK0.OLATA);
      if (olat === lastOlat) return;
      lastOlat = olat;
      for (let k = 0; k < NODES; k++) written[k].push((olat >> k) & 1);
    });

    // The requests and the model.
    const requests: (boolean | 'toggle')[][] = Array.from({ length: NODES }, () =>
      Array.from({ length: MESSAGES }, () => (rnd() < 0.1 ? 'toggle' : rnd() < 0.5)));
    const expected: number[][] = requests.map((seq) => {
      let state = 0;
      return seq.map((r) => (state = r === 'toggle' ? state ^ 1 : r ? 1 : 0));
    });

    // Inputs: a pin may change again once two service reads have passed since its last change
    // (the chip latches one change per pin between reads; the second read is surely after it).
    let services = 0;
    chip.driver.on('service', () => services++);
    const pressed = new Array(17).fill(false);
    const changedAt = new Array(17).fill(-10);
    const changes: number[][] = Array.from({ length: 17 }, () => []);
    let writing = true;
    const inputsDone = (async () => {
      while (writing) {
        for (let pin = 9; pin <= 16; pin++) {
          if (services - changedAt[pin] < 2 || rnd() < 0.5) continue;
          pressed[pin] = !pressed[pin];
          c.setInput(pin, pressed[pin] ? 0 : null); // pressed pulls the pin low (inverted: 1)
          changedAt[pin] = services;
          changes[pin].push(pressed[pin] ? 1 : 0);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();

    const start = Date.now();
    for (let i = 0; i < MESSAGES; i++) {
      for (let k = 0; k < NODES; k++) helper.getNode(`o${k + 1}`).receive({ payload: requests[k][i], k, i });
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => completes.length + errors.length === NODES * MESSAGES, 30000,
      () => `all done: ${completes.length + errors.length} of ${NODES * MESSAGES}`);
    writing = false;
    await inputsDone;
    const target = services + 3;
    await waitFor(() => services >= target, 2000, 'the last input changes read');
    await sleep(20);
    const elapsed = Date.now() - start;

    assert.deepEqual(errors.map((e) => e.error.message), [], 'no errors');
    // each node: pass-through in order, with the modelled state
    for (let k = 0; k < NODES; k++) {
      const mine = passed.filter((m) => m.k === k);
      assert.equal(mine.length, MESSAGES, `o${k + 1}: every message passed through`);
      mine.forEach((m, i) => {
        assert.equal(m.i, i, `o${k + 1}: message ${i} in order`);
        assert.equal(m.payload, expected[k][i] === 1, `o${k + 1}: message ${i} state`);
      });
      const want = collapse([0, ...expected[k]]);
      const got = collapse(written[k]);
      assert.ok(isSubsequence(got, want), `o${k + 1}: written states ${got.length} in requested order`);
      assert.equal(got[got.length - 1], want[want.length - 1], `o${k + 1}: last written state`);
    }
    // final outputs equal the model
    let model = 0;
    for (let k = 0; k < NODES; k++) model |= expected[k][MESSAGES - 1] << k;
    assert.equal(c.register(BANK0.OLATA), model, 'OLATA');
    for (let k = 0; k < NODES; k++) assert.equal(c.pinLevel(k + 1), expected[k][MESSAGES - 1], `pin ${k + 1} level`);
    // no input event lost, none invented, in order
    let total = 0;
    for (let pin = 9; pin <= 16; pin++) {
      const got = events.filter((m) => m.pin === pin).map((m) => (m.payload ? 1 : 0));
      assert.deepEqual(got, changes[pin], `pin ${pin}: ${changes[pin].length} presses and releases`);
      total += got.length;
    }
    assert.ok(total >= 200, `enough input events during the writes (${total})`);
    assert.ok(elapsed < 30000, `took ${elapsed} ms`);
  });
});
