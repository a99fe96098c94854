/**
 * Reliability: a button that changes while the flow is being (re)deployed is reported once the new
 * nodes start. What was last reported per pin survives a full deploy (the runtime's ChipHub keeps it
 * per chip), and the first service read after the restart reports the difference: 200 full deploys
 * with presses and releases before, during and after each, every final state reported, no state
 * reported twice in a row.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import { chipNode, flowOf, helper, inNode, load, online, sim, sleep, useNodeHelper, waitFor } from './helpers/nodes';
import { prng } from './helpers/prng';

const DEPLOYS = 200;
const PINS = [1, 2, 3, 4];

describe('reliability: redeploys lose no edge', function () {
  this.timeout(120000);
  useNodeHelper();

  it(`${DEPLOYS} full deploys while buttons are pressed and released: every final state is reported, none twice`, async () => {
    const random = prng(4242);
    const nodes = [chipNode({ pollInterval: 5 }), inNode({ pins: PINS, wires: [['events']] }), { id: 'events', type: 'helper' }] as any;
    await load(nodes);
    await online();
    const c = sim.chip(1, 0x20);
    const reported = new Map<number, boolean[]>(PINS.map((p) => [p, []]));
    const listen = () => helper.getNode('events').on('input', (m: any) => reported.get(m.pin)!.push(m.payload));
    listen();
    const pressed = new Map<number, boolean>(PINS.map((p) => [p, false]));
    const flip = () => {
      const pin = PINS[Math.floor(random() * PINS.length)];
      const now = !pressed.get(pin);
      pressed.set(pin, now);
      c.setInput(pin, now ? 0 : null); // a button to ground: pressed reads true (pull-up, inverted)
    };
    const settled = () => PINS.every((p) => {
      const list = reported.get(p)!;
      return (list.length ? list[list.length - 1] : false) === pressed.get(p);
    });
    let duringDeploy = 0;
    for (let i = 0; i < DEPLOYS; i++) {
      if (random() < 0.5) flip(); // before the deploy
      const deploying = helper.setFlows(flowOf(nodes), 'full');
      // While the old nodes stop and the new ones start: the chip is not watched by anyone.
      await new Promise((resolve) => setImmediate(resolve));
      if (random() < 0.7) { flip(); duringDeploy++; }
      await deploying;
      listen();
      if (random() < 0.3) flip(); // right after
      await waitFor(() => helper.getNode('chip1')?.online === true && settled(), 3000, () => `deploy ${i}: reported ${JSON.stringify([...reported])}, pressed ${JSON.stringify([...pressed])}`);
    }
    await sleep(30);
    assert.ok(settled(), 'every final state reported');
    assert.ok(duringDeploy > DEPLOYS / 2, `changes during deploys: ${duringDeploy}`);
    for (const [pin, list] of reported) {
      for (let k = 1; k < list.length; k++) assert.notEqual(list[k], list[k - 1], `pin ${pin}: no state reported twice in a row (${list.join(',')})`);
    }
  });
});
