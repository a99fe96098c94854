/**
 * The non-MQTT examples, loaded unchanged (only placed on a tab, with helper nodes tapped beside their
 * debug nodes) into node-red-node-test-helper with IOPI_SIMULATE=1, and driven through the simulated
 * chips: buttons pressed with `setInput(pin, 0)`, outputs read with `pinLevel(pin)`.
 */
import assert from 'node:assert/strict';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sim: typeof import('../lib/simulator') = require('../lib/simulator');
import { BANK0 } from '../lib/registers';
import {
  collect, helper, loadFlow, prepareFlow, readExample, sleep, useHelper, useSimulateEnv, waitFor, type Logged,
} from './helpers/examples';

const BUS = 1;
const errors = (logged: Logged[]) => logged.filter((l) => l.level === 'error');

/** Records every level change of the given pins of a simulated chip, with the time. */
function watchPins(chip: import('../lib/simulator').SimulatedChip, pins: number[]) {
  const levels = new Map(pins.map((p) => [p, chip.pinLevel(p)]));
  const changes: { pin: number; level: number; t: number }[] = [];
  const listener = () => {
    for (const p of pins) {
      const l = chip.pinLevel(p);
      if (l !== levels.get(p)) {
        levels.set(p, l);
        changes.push({ pin: p, level: l, t: Date.now() });
      }
    }
  };
  chip.on('change', listener);
  return { changes, stop: () => chip.off('change', listener) };
}

describe('examples on the simulated IO Pi Plus', function () {
  this.timeout(20000);
  useSimulateEnv();
  useHelper(() => sim.reset());

  describe('buttons-and-leds (tutorial 3)', () => {
    const example = readExample('buttons-and-leds');
    let logged: Logged[];
    const buttons = () => sim.chip(BUS, 0x20);
    const leds = () => sim.chip(BUS, 0x21);

    /** Deployed: 0x20 port A configured as the tutorial does, 0x21 port A outputs, all off. */
    async function deployed() {
      logged = await loadFlow(prepareFlow(example));
      await waitFor(
        () => buttons().register(BANK0.GPINTENA) === 0xff && (leds().register(BANK0.IODIRA) & 0xff) === 0,
        3000,
        '0x20 GPINTENA = 0xFF and 0x21 port A outputs',
      );
      await sleep(100); // let the input node take its baseline
    }

    it('configures the chips as tutorial 3 does; every LED starts off', async () => {
      await deployed();
      const b = buttons();
      assert.equal(b.register(BANK0.GPPUA), 0xff, 'GPPUA');
      assert.equal(b.register(BANK0.IODIRA), 0xff, 'IODIRA');
      assert.equal(b.register(BANK0.IPOLA), 0xff, 'IPOLA');
      assert.equal(b.register(BANK0.DEFVALA), 0x00, 'DEFVALA');
      assert.equal(b.register(BANK0.INTCONA), 0xff, 'INTCONA (compare with DEFVAL)');
      assert.equal(b.register(BANK0.GPINTENA), 0xff, 'GPINTENA');
      assert.equal(leds().register(BANK0.IODIRA), 0x00, '0x21 IODIRA');
      assert.equal(leds().register(BANK0.OLATA), 0x00, '0x21 OLATA');
      for (let p = 1; p <= 8; p++) assert.equal(leds().pinLevel(p), 0, `LED ${p}`);
      assert.deepEqual(errors(logged), []);
    });

    it('pressing button 3 lights LED 3 for 1 second, then it goes off; no other LED lights', async () => {
      await deployed();
      const watch = watchPins(leds(), [1, 2, 3, 4, 5, 6, 7, 8]);
      try {
        const pressed = Date.now();
        buttons().setInput(3, 0); // button to ground
        const on = await waitFor(() => leds().pinLevel(3) === 1, 1000, 'LED 3 on');
        assert.ok(on - pressed < 400, `LED 3 lit ${on - pressed} ms after the press`);
        await sleep(150);
        buttons().setInput(3, null); // released
        await sleep(on + 500 - Date.now());
        assert.equal(leds().pinLevel(3), 1, 'LED 3 still on at 500 ms');
        const off = await waitFor(() => leds().pinLevel(3) === 0, 1500, 'LED 3 off again');
        assert.ok(off - on >= 950 && off - on <= 1250, `LED 3 was on for ${off - on} ms, expected 1000`);
        await sleep(400); // the release (and compare mode's last capture) must not light it again
        assert.deepEqual(
          watch.changes.map((c) => [c.pin, c.level]),
          [[3, 1], [3, 0]],
          'LED changes',
        );
      } finally {
        watch.stop();
      }
      assert.deepEqual(errors(logged), []);
      assert.equal(buttons().register(BANK0.INTFA), 0, 'no interrupt left pending on 0x20');
    });

    it('two buttons pressed 300 ms apart: each LED gets its own second', async () => {
      await deployed();
      const watch = watchPins(leds(), [1, 2, 3, 4, 5, 6, 7, 8]);
      try {
        buttons().setInput(1, 0);
        await sleep(100);
        buttons().setInput(1, null);
        await sleep(200);
        buttons().setInput(8, 0);
        await sleep(100);
        buttons().setInput(8, null);
        await waitFor(() => watch.changes.length >= 4, 2500, 'LEDs 1 and 8 on and off');
        await sleep(200);
        const seq = watch.changes.map((c) => [c.pin, c.level]);
        assert.deepEqual(seq, [[1, 1], [8, 1], [1, 0], [8, 0]]);
        const t = (pin: number, level: number) => watch.changes.find((c) => c.pin === pin && c.level === level)!.t;
        for (const pin of [1, 8]) {
          const d = t(pin, 0) - t(pin, 1);
          assert.ok(d >= 950 && d <= 1250, `LED ${pin} on for ${d} ms`);
        }
      } finally {
        watch.stop();
      }
    });
  });

  describe('int-line (tutorial 4)', () => {
    const example = readExample('int-line');
    const debugId = example.find((n) => n.type === 'debug')!.id;

    it('reports "pin N pressed" once per press, nothing on release', async () => {
      const flow = prepareFlow(example, { tap: debugId });
      const logged = await loadFlow(flow);
      const got = collect('tap');
      const b = sim.chip(BUS, 0x20);
      await waitFor(() => b.register(BANK0.GPINTENA) === 0xff, 3000, '0x20 GPINTENA = 0xFF');
      assert.equal(b.register(BANK0.IPOLA), 0xff, 'inverted');
      assert.equal(b.register(BANK0.GPPUA), 0xff, 'pull-ups');
      assert.equal(b.register(BANK0.IOCONA), 0x00, 'IOCON 0x00 as in tutorial 4: not mirrored, push-pull, active low');
      await sleep(100);
      b.setInput(3, 0);
      await waitFor(() => got.length >= 1, 1500, 'a report');
      await sleep(100);
      b.setInput(3, null);
      await sleep(300);
      b.setInput(7, 0);
      await waitFor(() => got.length >= 2, 1500, 'a second report');
      b.setInput(7, null);
      await sleep(300);
      assert.deepEqual(got.map((m) => m.payload), ['pin 3 pressed', 'pin 7 pressed']);
      assert.deepEqual(errors(logged), []);
    });
  });

  describe('relays', () => {
    const example = readExample('relays');
    const byName = (name: string) => example.find((n) => n.name === name)!.id;
    const press = (name: string) => helper.getNode(byName(name)).receive({});
    const r = () => sim.chip(BUS, 0x20);

    it('starts with relays 1-4 as outputs, off', async () => {
      sim.chip(BUS, 0x20).setInput(1, 1); // an input pulled high before deploy: the node must make it an output driven low
      const logged = await loadFlow(prepareFlow(example));
      await waitFor(() => (r().register(BANK0.IODIRA) & 0x0f) === 0, 3000, 'pins 1-4 outputs');
      for (let p = 1; p <= 4; p++) assert.equal(r().pinLevel(p), 0, `relay ${p}`);
      assert.equal(r().register(BANK0.IODIRA) & 0xf0, 0xf0, 'pins 5-8 left alone (inputs)');
      assert.deepEqual(errors(logged), []);
    });

    it('on, off, toggle, pulse, msg.topic "pin/N" and "all off" do what the comment says', async () => {
      const flow = prepareFlow(example, { tap: byName('relay 1 state') });
      const logged = await loadFlow(flow);
      const passed = collect('tap');
      await waitFor(() => (r().register(BANK0.IODIRA) & 0x0f) === 0, 3000, 'pins 1-4 outputs');

      press('relay 1 on');
      await waitFor(() => r().pinLevel(1) === 1, 1000, 'relay 1 on');
      await waitFor(() => passed.length === 1, 1000, 'relay 1 passes its message on');
      assert.ok(passed[0].payload === true || passed[0].payload === 1, `passed on ${JSON.stringify(passed[0].payload)}`);
      press('relay 1 off');
      await waitFor(() => r().pinLevel(1) === 0, 1000, 'relay 1 off');
      await waitFor(() => passed.length === 2, 1000, 'relay 1 passes its message on');
      assert.ok(passed[1].payload === false || passed[1].payload === 0, `passed on ${JSON.stringify(passed[1].payload)}`);

      press('toggle relay 2');
      await waitFor(() => r().pinLevel(2) === 1, 1000, 'relay 2 toggled on');
      press('toggle relay 2');
      await waitFor(() => r().pinLevel(2) === 0, 1000, 'relay 2 toggled off');
      press('toggle relay 2');
      await waitFor(() => r().pinLevel(2) === 1, 1000, 'relay 2 toggled on again');

      const watch = watchPins(r(), [3]);
      try {
        press('open gate');
        const on = await waitFor(() => r().pinLevel(3) === 1, 1000, 'relay 3 pulse on');
        const off = await waitFor(() => r().pinLevel(3) === 0, 2000, 'relay 3 pulse off');
        assert.ok(off - on >= 950 && off - on <= 1250, `relay 3 pulsed for ${off - on} ms`);
      } finally {
        watch.stop();
      }

      press('relay 4 on');
      await waitFor(() => r().pinLevel(4) === 1, 1000, 'relay 4 on by msg.topic pin/4');
      assert.equal(r().pinLevel(1), 0, 'msg.topic pin/4 switched only relay 4');
      press('relay 1 on');
      await waitFor(() => r().pinLevel(1) === 1, 1000, 'relay 1 on');
      press('relay 4 off');
      await waitFor(() => r().pinLevel(4) === 0, 1000, 'relay 4 off by msg.topic pin/4');
      assert.equal(r().pinLevel(1), 1, 'relay 1 untouched by "relay 4 off"');

      press('all off');
      await waitFor(() => [1, 2, 3, 4].every((p) => r().pinLevel(p) === 0), 1000, 'all relays off');
      assert.deepEqual(errors(logged), []);
    });
  });

  describe('door-contacts', () => {
    const example = readExample('door-contacts');
    const debugId = example.find((n) => n.type === 'debug')!.id;

    it('reports every door at deploy, then each change once, debounced', async () => {
      const c = sim.chip(BUS, 0x20);
      // Door 2 open (contact open: the pull-up reads 1), doors 1, 3, 4 closed (contact to ground).
      c.setInput(1, 0);
      c.setInput(3, 0);
      c.setInput(4, 0);
      const logged = await loadFlow(prepareFlow(example, { tap: debugId }));
      const got = collect('tap');
      await waitFor(() => got.length >= 4, 3000, 'the state of 4 doors at deploy');
      const initial = Object.fromEntries(got.map((m) => [m.topic, m.payload]));
      assert.deepEqual(initial, {
        'house/door/1': 'closed', 'house/door/2': 'open', 'house/door/3': 'closed', 'house/door/4': 'closed',
      });
      got.length = 0;

      // Door 1 opens, bouncing a few times on the way.
      c.setInput(1, null);
      await sleep(3);
      c.setInput(1, 0);
      await sleep(3);
      c.setInput(1, null);
      await waitFor(() => got.length >= 1, 1000, 'door 1 open');
      await sleep(200);
      assert.deepEqual(got.map((m) => [m.topic, m.payload]), [['house/door/1', 'open']]);
      got.length = 0;

      // A 10 ms blip on door 2 (shorter than the 100 ms debounce) is not a door closing.
      c.setInput(2, 0);
      await sleep(10);
      c.setInput(2, null);
      await sleep(300);
      assert.equal(got.length, 0, `a 10 ms blip was reported: ${JSON.stringify(got.map((m) => m.payload))}`);

      // Door 2 closes for real.
      c.setInput(2, 0);
      await waitFor(() => got.length >= 1, 1000, 'door 2 closed');
      await sleep(150);
      assert.deepEqual(got.map((m) => [m.topic, m.payload]), [['house/door/2', 'closed']]);
      assert.deepEqual(errors(logged), []);
    });
  });

  describe('opto-inputs', () => {
    const example = readExample('opto-inputs');
    const debugId = example.find((n) => n.type === 'debug')!.id;

    it('reports port 1 as a value at deploy and on every change, listing energised inputs', async () => {
      const c = sim.chip(BUS, 0x20);
      c.setInput(9, 0); // input 1 energised: the opto-coupler pulls pin 9 low
      c.setInput(11, 0); // input 3
      const logged = await loadFlow(prepareFlow(example, { tap: debugId }));
      const got = collect('tap', { json: true }); // objects made in the function node's sandbox
      await waitFor(() => got.length >= 1, 3000, 'the port at deploy');
      assert.equal(got[0].payload.value, 0b101);
      assert.deepEqual(got[0].payload.energised, [1, 3]);
      assert.equal(c.register(BANK0.GPPUB), 0xff, 'pull-ups on port 1');
      assert.equal(c.register(BANK0.IPOLB), 0xff, 'port 1 inverted');
      assert.equal(c.register(BANK0.GPPUA) | c.register(BANK0.IPOLA) | c.register(BANK0.GPINTENA), 0, 'port 0 left alone');
      got.length = 0;

      c.setInput(10, 0); // input 2 energised
      await waitFor(() => got.length >= 1, 1000, 'a change');
      await sleep(100);
      assert.equal(got.length, 1);
      assert.equal(got[0].payload.value, 0b111);
      assert.deepEqual(got[0].payload.energised, [1, 2, 3]);
      assert.deepEqual(got[0].payload.changed, [2]);

      c.setInput(9, null); // input 1 off
      await waitFor(() => got.length >= 2, 1000, 'a second change');
      assert.equal(got[1].payload.value, 0b110);
      assert.deepEqual(got[1].payload.changed, [1]);

      // A 10 ms blip on input 4 (shorter than the 100 ms debounce) is filtered out.
      c.setInput(12, 0);
      await sleep(10);
      c.setInput(12, null);
      await sleep(400);
      assert.equal(got.length, 2, `a 10 ms blip was reported: ${JSON.stringify(got.slice(2).map((m) => m.payload))}`);
      assert.deepEqual(errors(logged), []);
    });
  });
});
