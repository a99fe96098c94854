/**
 * iopi-in on the simulated chip: targets, message shapes, edges, debounce, initial state, the pins'
 * pull-up / inversion / interrupt registers, and presses that fall between two polls.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import {
  BANK0, chipNode, collect, helper, inNode, lastStatus, load, online, reg16, sim, sleep, useNodeHelper, waitFor,
} from './helpers/nodes';

const chip = () => sim.chip(1, 0x20);
/** A button to ground: pressed drives the pin low, released lets the pull-up hold it high. */
const press = (pin: number) => chip().setInput(pin, 0);
const release = (pin: number) => chip().setInput(pin, null);
const brief = (m: any) => ({ pin: m.pin, payload: m.payload, edge: m.edge });

/** Resolves right after the chip's next service read (a poll). */
function nextPoll(): Promise<void> {
  const driver = helper.getNode('chip1').driver;
  return new Promise((resolve) => driver.once('service', () => setImmediate(resolve)));
}

describe('iopi-in', function () {
  this.timeout(20000);
  useNodeHelper();

  describe('targets', () => {
    it('pins: only the chosen pins give messages', async () => {
      await load([chipNode(), inNode({ target: 'pins', pins: [3, 5] })]);
      await online();
      const msgs = collect('out');
      press(6);
      press(3);
      await waitFor(() => msgs.length >= 1, 1000, 'pin 3 message');
      press(5);
      await waitFor(() => msgs.length >= 2, 1000, 'pin 5 message');
      await sleep(40);
      assert.deepEqual(msgs.map((m) => m.pin), [3, 5]);
    });

    it('port0: pins 1-8 only', async () => {
      await load([chipNode(), inNode({ target: 'port0' })]);
      await online();
      const msgs = collect('out');
      press(9);
      press(16);
      await sleep(40);
      press(1);
      await sleep(30);
      press(8);
      await waitFor(() => msgs.length >= 2, 1000, 'two messages');
      await sleep(30);
      assert.deepEqual(msgs.map((m) => [m.pin, m.port]), [[1, 0], [8, 0]]);
    });

    it('port1: pins 9-16 only', async () => {
      await load([chipNode(), inNode({ target: 'port1' })]);
      await online();
      const msgs = collect('out');
      press(1);
      await sleep(40);
      press(9);
      await sleep(30);
      press(16);
      await waitFor(() => msgs.length >= 2, 1000, 'two messages');
      await sleep(30);
      assert.deepEqual(msgs.map((m) => [m.pin, m.port]), [[9, 1], [16, 1]]);
    });

    it('all: every pin 1-16', async () => {
      await load([chipNode(), inNode({ target: 'all' })]);
      await online();
      const msgs = collect('out');
      for (const pin of [1, 8, 9, 16]) {
        press(pin);
        await sleep(30);
      }
      await waitFor(() => msgs.length >= 4, 1000, 'four messages');
      assert.deepEqual(msgs.map((m) => m.pin), [1, 8, 9, 16]);
    });

    it('sets its pins as inputs with pull-up, inversion and the interrupt on; leaves other pins alone', async () => {
      chip().writeMessage([BANK0.IODIRA, 0x00, 0x00]); // all outputs before the deploy (left by other software)
      await load([chipNode(), inNode({ pins: [3, 12] }), inNode({ id: 'in2', pins: [5], pullup: false, invert: false })]);
      await online();
      assert.equal(reg16('IODIR') & 0x0814, 0x0814, 'its pins are inputs');
      assert.equal(reg16('GPPU'), 0x0804, 'pull-ups on pins 3 and 12 only');
      assert.equal(reg16('IPOL'), 0x0804, 'inversion on pins 3 and 12 only');
      assert.equal(reg16('GPINTEN'), 0x0814, 'interrupts on pins 3, 5 and 12');
      assert.equal(reg16('INTCON'), 0, 'on-change interrupts');
    });
  });

  describe('pin messages', () => {
    it('payload, pin, port, bus, address, edge and the default topic', async () => {
      await load([chipNode(), inNode({ pins: [3, 11] })]);
      await online();
      const msgs = collect('out');
      press(3);
      await waitFor(() => msgs.length === 1, 1000, 'press');
      release(3);
      await waitFor(() => msgs.length === 2, 1000, 'release');
      press(11);
      await waitFor(() => msgs.length === 3, 1000, 'press 11');
      const strip = (m: any) => ({ topic: m.topic, payload: m.payload, pin: m.pin, port: m.port, bus: m.bus, address: m.address, edge: m.edge });
      assert.deepEqual(strip(msgs[0]), { topic: 'iopi/1/0x20/pin/3', payload: true, pin: 3, port: 0, bus: 1, address: 0x20, edge: 'rising' });
      assert.deepEqual(strip(msgs[1]), { topic: 'iopi/1/0x20/pin/3', payload: false, pin: 3, port: 0, bus: 1, address: 0x20, edge: 'falling' });
      assert.deepEqual(strip(msgs[2]), { topic: 'iopi/1/0x20/pin/11', payload: true, pin: 11, port: 1, bus: 1, address: 0x20, edge: 'rising' });
      assert.equal(lastStatus('in1').fill, 'green');
    });

    it('a custom topic; bus and address of another chip', async () => {
      await load([chipNode({ bus: 3, address: 0x21 }), inNode({ pins: [1], topic: 'doorbell' })]);
      await online();
      const msgs = collect('out');
      sim.chip(3, 0x21).setInput(1, 0);
      await waitFor(() => msgs.length === 1, 1000, 'press');
      assert.equal(msgs[0].topic, 'doorbell');
      assert.equal(msgs[0].bus, 3);
      assert.equal(msgs[0].address, 0x21);
    });
  });

  describe('value messages', () => {
    it('port target: payload is the port value, changed the mask, pins the changed pins', async () => {
      await load([chipNode(), inNode({ target: 'port1', output: 'value' })]);
      await online();
      const msgs = collect('out');
      press(10);
      await waitFor(() => msgs.length === 1, 1000, 'press 10');
      press(16);
      await waitFor(() => msgs.length === 2, 1000, 'press 16');
      release(10);
      await waitFor(() => msgs.length === 3, 1000, 'release 10');
      const strip = (m: any) => ({ topic: m.topic, payload: m.payload, changed: m.changed, pins: m.pins, port: m.port, bus: m.bus, address: m.address });
      assert.deepEqual(strip(msgs[0]), { topic: 'iopi/1/0x20/port/1', payload: 0x02, changed: 0x02, pins: [10], port: 1, bus: 1, address: 0x20 });
      assert.deepEqual(strip(msgs[1]), { topic: 'iopi/1/0x20/port/1', payload: 0x82, changed: 0x80, pins: [16], port: 1, bus: 1, address: 0x20 });
      assert.deepEqual(strip(msgs[2]), { topic: 'iopi/1/0x20/port/1', payload: 0x80, changed: 0x02, pins: [10], port: 1, bus: 1, address: 0x20 });
    });

    it('all target: 16-bit payload, bus topic, no port', async () => {
      await load([chipNode(), inNode({ target: 'all', output: 'value' })]);
      await online();
      const msgs = collect('out');
      press(9);
      await waitFor(() => msgs.length === 1, 1000, 'press 9');
      press(2);
      await waitFor(() => msgs.length === 2, 1000, 'press 2');
      assert.equal(msgs[0].payload, 0x0100);
      assert.equal(msgs[0].changed, 0x0100);
      assert.equal(msgs[1].payload, 0x0102);
      assert.deepEqual(msgs[1].pins, [2]);
      assert.equal(msgs[1].topic, 'iopi/1/0x20/bus');
      assert.equal('port' in msgs[1], false);
    });

    it('pins target: only its pins in the value', async () => {
      await load([chipNode(), inNode({ target: 'pins', pins: [2, 3], output: 'value' })]);
      await online();
      const msgs = collect('out');
      press(4);
      await sleep(40);
      press(3);
      await waitFor(() => msgs.length === 1, 1000, 'press 3');
      await sleep(30);
      assert.equal(msgs.length, 1);
      assert.equal(msgs[0].payload, 0x0004);
      assert.deepEqual(msgs[0].pins, [3]);
    });

    it('a press and release between two polls give two value messages, in order', async () => {
      await load([chipNode({ pollInterval: 200 }), inNode({ target: 'port0', output: 'value' })]);
      await online();
      const msgs = collect('out');
      await nextPoll();
      press(4);
      await sleep(10);
      release(4);
      await waitFor(() => msgs.length >= 2, 1000, 'two messages');
      await sleep(20);
      assert.deepEqual(msgs.map((m) => [m.payload, m.changed]), [[0x08, 0x08], [0x00, 0x08]]);
    });
  });

  describe('edges (after inversion)', () => {
    it('rising only', async () => {
      await load([chipNode(), inNode({ edge: 'rising' })]);
      await online();
      const msgs = collect('out');
      press(3);
      await sleep(30);
      release(3);
      await sleep(30);
      press(3);
      await waitFor(() => msgs.length >= 2, 1000, 'two presses');
      await sleep(30);
      assert.deepEqual(msgs.map(brief), [{ pin: 3, payload: true, edge: 'rising' }, { pin: 3, payload: true, edge: 'rising' }]);
    });

    it('falling only', async () => {
      await load([chipNode(), inNode({ edge: 'falling' })]);
      await online();
      const msgs = collect('out');
      press(3);
      await sleep(30);
      release(3);
      await waitFor(() => msgs.length >= 1, 1000, 'release');
      await sleep(30);
      assert.deepEqual(msgs.map(brief), [{ pin: 3, payload: false, edge: 'falling' }]);
    });

    it('both', async () => {
      await load([chipNode(), inNode({ edge: 'both' })]);
      await online();
      const msgs = collect('out');
      press(3);
      await sleep(30);
      release(3);
      await waitFor(() => msgs.length >= 2, 1000, 'press and release');
      assert.deepEqual(msgs.map((m) => m.edge), ['rising', 'falling']);
    });

    it('not inverted: the edge is of the electrical level (a press to ground is falling)', async () => {
      await load([chipNode(), inNode({ edge: 'rising', invert: false })]);
      await online();
      assert.equal(reg16('IPOL') & 0x04, 0);
      const msgs = collect('out');
      press(3);
      await sleep(40);
      assert.equal(msgs.length, 0);
      release(3);
      await waitFor(() => msgs.length === 1, 1000, 'release');
      assert.deepEqual(brief(msgs[0]), { pin: 3, payload: true, edge: 'rising' });
    });

    it('value output with edge rising: only steps where a pin rose', async () => {
      await load([chipNode(), inNode({ target: 'port0', output: 'value', edge: 'rising' })]);
      await online();
      const msgs = collect('out');
      press(1);
      await sleep(30);
      release(1);
      await sleep(30);
      press(2);
      await waitFor(() => msgs.length >= 2, 1000, 'two');
      await sleep(30);
      assert.deepEqual(msgs.map((m) => m.payload), [0x01, 0x02]);
    });
  });

  describe('debounce', () => {
    it('a 5 ms bounce is suppressed; a held change is reported once, after the debounce time', async () => {
      await load([chipNode({ pollInterval: 5 }), inNode({ debounce: 40 })]);
      await online();
      const msgs = collect('out');
      press(3);
      await sleep(5);
      release(3);
      await sleep(120);
      assert.deepEqual(msgs, [], 'bounce suppressed');
      const t0 = Date.now();
      press(3);
      await waitFor(() => msgs.length === 1, 1000, 'held press');
      const dt = Date.now() - t0;
      assert.ok(dt >= 35, `reported after ${dt} ms (debounce 40)`);
      await sleep(80);
      assert.deepEqual(msgs.map(brief), [{ pin: 3, payload: true, edge: 'rising' }]);
    });

    it('value output: a bounce is suppressed, a held value reported', async () => {
      await load([chipNode({ pollInterval: 5 }), inNode({ target: 'port0', output: 'value', debounce: 40 })]);
      await online();
      const msgs = collect('out');
      press(2);
      await sleep(5);
      release(2);
      await sleep(120);
      assert.equal(msgs.length, 0);
      press(2);
      await waitFor(() => msgs.length === 1, 1000, 'held');
      await sleep(60);
      assert.equal(msgs.length, 1);
      assert.equal(msgs[0].payload, 0x02);
    });
  });

  describe('initial state', () => {
    it('emits the state of each pin on deploy with edge "initial"', async () => {
      press(3); // held down before the deploy
      const msgs: any[] = [];
      await load([chipNode(), inNode({ pins: [3, 4], initial: true, wires: [['sink']] }), { id: 'sink', type: 'helper' }]);
      helper.getNode('sink').on('input', (m: any) => msgs.push(m));
      await online();
      await waitFor(() => msgs.length >= 2, 1000, 'initial messages');
      await sleep(30);
      assert.deepEqual(msgs.map(brief), [{ pin: 3, payload: true, edge: 'initial' }, { pin: 4, payload: false, edge: 'initial' }]);
      // later changes are reported against that state
      release(3);
      await waitFor(() => msgs.length === 3, 1000, 'release');
      assert.deepEqual(brief(msgs[2]), { pin: 3, payload: false, edge: 'falling' });
    });

    it('value output: one initial message with the port value', async () => {
      press(2);
      const msgs: any[] = [];
      await load([chipNode(), inNode({ target: 'port0', output: 'value', initial: true, wires: [['sink']] }), { id: 'sink', type: 'helper' }]);
      helper.getNode('sink').on('input', (m: any) => msgs.push(m));
      await online();
      await waitFor(() => msgs.length >= 1, 1000, 'initial message');
      await sleep(30);
      assert.equal(msgs.length, 1);
      assert.equal(msgs[0].payload, 0x02);
      assert.equal(msgs[0].edge, 'initial');
    });

    it('no message on deploy without the option', async () => {
      press(3);
      await load([chipNode(), inNode({ pins: [3] })]);
      const msgs = collect('out');
      await online();
      await sleep(50);
      assert.deepEqual(msgs, []);
    });
  });

  describe('never misses a press', () => {
    it('a press and release both between two polls give two messages, in order', async () => {
      await load([chipNode({ pollInterval: 200 }), inNode({ pins: [3] })]);
      await online();
      const msgs = collect('out');
      await nextPoll();
      const t = Date.now();
      press(3);
      await sleep(10);
      release(3);
      assert.ok(Date.now() - t < 60, 'press and release well within one poll interval');
      assert.equal(msgs.length, 0, 'nothing before the next poll');
      await waitFor(() => msgs.length >= 2, 1000, 'two messages');
      await sleep(20);
      assert.deepEqual(msgs.map(brief), [{ pin: 3, payload: true, edge: 'rising' }, { pin: 3, payload: false, edge: 'falling' }]);
    });

    it('50 presses in a row are all reported, in order', async () => {
      await load([chipNode({ pollInterval: 5 }), inNode({ pins: [7] })]);
      await online();
      const msgs = collect('out');
      for (let i = 0; i < 50; i++) {
        press(7);
        await sleep(20);
        release(7);
        await sleep(20);
      }
      await waitFor(() => msgs.length >= 100, 2000, () => `100 messages (got ${msgs.length})`);
      await sleep(30);
      assert.equal(msgs.length, 100);
      msgs.forEach((m, i) => assert.equal(m.payload, i % 2 === 0, `message ${i}`));
    });
  });

  it('invalid settings: invalid status, no registration', async () => {
    await load([chipNode(), inNode({ pins: [0, 17] })]);
    await sleep(50);
    assert.equal(lastStatus('in1').text, 'iopi-chip.status.invalid');
    assert.equal(reg16('GPINTEN'), 0);
  });

  it('a missing config node: red status', async () => {
    await load([inNode({ chip: 'nonexistent' })]);
    assert.equal(lastStatus('in1').text, 'iopi-chip.status.nochip');
  });
});
