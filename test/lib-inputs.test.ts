/**
 * InputTracker: the step rules on hand-made service results (both ports, rebased pins, reset), and
 * end to end on the simulated chip through the driver's 6-byte service read, in change and compare
 * mode, where the chip itself decides what INTF and INTCAP hold.
 */
import assert from 'node:assert/strict';
import { InputTracker, Mcp23017, Transport, type InputStep, type ServiceResult } from '../lib';
import * as sim from '../lib/simulator';

function result(flags: number, captured: number, current: number, rebased = 0): ServiceResult {
  return {
    flags, captured, current, rebased,
    ports: [
      { flags: flags & 0xff, captured: captured & 0xff, current: current & 0xff },
      { flags: (flags >> 8) & 0xff, captured: (captured >> 8) & 0xff, current: (current >> 8) & 0xff },
    ],
  };
}
const short = (steps: InputStep[]) => steps.map((s) => [s.value, s.changed, s.fromCapture]);

describe('lib: InputTracker rules', () => {
  it('both ports latched in one read: one capture step for both, then one current step', () => {
    const t = new InputTracker();
    t.update(result(0, 0, 0x0000));
    assert.deepEqual(short(t.update(result(0x0201, 0x0201, 0x0000))), [[0x0201, 0x0201, true], [0x0000, 0x0201, false]]);
    assert.equal(t.value, 0);
  });

  it('a latched port whose pins changed again goes through its capture; the other port straight to its current value', () => {
    const t = new InputTracker();
    t.update(result(0, 0, 0x00f0));
    // Port A latched at 0xF1 (pin 1 up), then pin 2 went up too; port B (no flag) changed to 0x80.
    assert.deepEqual(short(t.update(result(0x0001, 0x00f1, 0x80f3))), [[0x00f1, 0x0001, true], [0x80f3, 0x8002, false]]);
  });

  it('a flag whose capture and current equal the last known value gives no step (a compare-mode re-latch)', () => {
    const t = new InputTracker();
    t.update(result(0, 0, 0x0100));
    assert.deepEqual(t.update(result(0x0100, 0x0100, 0x0100)), []);
    assert.deepEqual(t.update(result(0x0100, 0x0100, 0x0100)), []);
  });

  it('rebased pins are a baseline in the capture step too, other pins of the port still report', () => {
    const t = new InputTracker();
    t.update(result(0, 0, 0x0000));
    // Pin 1 was rebased (direction changed); pin 2 was pressed and released.
    assert.deepEqual(short(t.update(result(0x0002, 0x0003, 0x0001, 0x0001))), [[0x0003, 0x0002, true], [0x0001, 0x0002, false]]);
    assert.equal(t.value, 0x0001);
  });

  it('reset() forgets the baseline: the next read is taken as it is', () => {
    const t = new InputTracker();
    t.update(result(0, 0, 0x0000));
    t.reset();
    assert.equal(t.value, undefined);
    assert.deepEqual(t.update(result(0x0001, 0x0001, 0xffff)), []);
    assert.equal(t.value, 0xffff);
  });
});

describe('lib: InputTracker on the simulated chip', () => {
  const BUS = 1;
  let d: Mcp23017;
  let t: InputTracker;
  let steps: InputStep[][];
  let chip: sim.SimulatedChip;

  beforeEach(async () => {
    sim.reset();
    chip = sim.chip(BUS, 0x20);
    d = new Mcp23017({ busNumber: BUS, address: 0x20, backend: sim.simulatorBackend });
    t = new InputTracker();
    steps = [];
    d.on('service', (r) => steps.push(t.update(r)));
    // Buttons to ground on every pin: pull-ups, inverted (pressed reads 1), change-mode interrupts.
    void d.configurePins({ mask: 0xffff, pullup: 0xffff, invert: 0xffff, interruptEnable: 0xffff });
    await d.open();
    await d.service(); // baseline
    steps = [];
  });
  afterEach(async () => {
    await d.close();
    assert.equal(Transport.openCount(), 0);
  });

  it('press and release between two reads: two steps, in order', async () => {
    chip.setInput(5, 0);
    chip.setInput(5, null);
    await d.service();
    assert.deepEqual(steps.map(short), [[[0x0010, 0x0010, true], [0x0000, 0x0010, false]]]);
  });

  it('press on port A and press+release on port B between two reads', async () => {
    chip.setInput(1, 0);
    chip.setInput(12, 0);
    chip.setInput(12, null);
    await d.service();
    assert.deepEqual(steps.map(short), [[[0x0801, 0x0801, true], [0x0001, 0x0800, false]]]);
    chip.setInput(1, null);
    await d.service();
    assert.deepEqual(short(steps[1]), [[0x0000, 0x0001, true]], 'the release latched its own interrupt');
  });

  it('a second pin pressed while the first press is pending is still reported (from GPIO)', async () => {
    chip.setInput(2, 0); // latches
    chip.setInput(3, 0); // no interrupt of its own while pending
    await d.service();
    assert.deepEqual(steps.map(short), [[[0x0002, 0x0002, true], [0x0006, 0x0004, false]]]);
  });

  it('compare mode, button held over several reads: one press, then one release', async () => {
    await d.configurePins({ mask: 0x00ff, interruptCompare: 0xff, interruptDefault: 0x00 });
    await d.service();
    steps = [];
    chip.setInput(7, 0);
    for (let i = 0; i < 4; i++) await d.service();
    chip.setInput(7, null);
    await d.service();
    await d.service();
    const flat = steps.flat();
    assert.deepEqual(short(flat), [[0x0040, 0x0040, true], [0x0000, 0x0040, false]]);
  });

  it('pins 1-16 one after the other, each pressed and released between reads: 32 steps in pin order', async () => {
    for (let pin = 1; pin <= 16; pin++) {
      chip.setInput(pin, 0);
      chip.setInput(pin, null);
      await d.service();
    }
    const flat = steps.flat();
    assert.equal(flat.length, 32);
    for (let pin = 1; pin <= 16; pin++) {
      const bit = 1 << (pin - 1);
      assert.deepEqual(short(flat.slice(2 * pin - 2, 2 * pin)), [[bit, bit, true], [0, bit, false]], `pin ${pin}`);
    }
  });
});
