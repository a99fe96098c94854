/**
 * iopi-out's pulse timers (nodes/pulses.ts) alone: no Node-RED, no driver, a fake clock. Asserts
 * when each pulse ends (to the millisecond of the fake clock), which pins it ends and the levels
 * they go back to, extension, cancelling and closing: what iopi-out then writes.
 */
import assert from 'node:assert/strict';
import { Pulses } from '../nodes/pulses';
import { FakeTimers } from './helpers/fake-timers';
import { prng, randomInt } from './helpers/prng';

function setup() {
  const clock = new FakeTimers();
  const ends: { at: number; mask: number; value: number }[] = [];
  const pulses = new Pulses((mask, value) => ends.push({ at: clock.now, mask, value }), clock);
  return { clock, ends, pulses };
}

describe('iopi-out pulses (nodes/pulses.ts, fake clock)', () => {
  it('a pulse ends after exactly its length, back to the level before it', () => {
    const { clock, ends, pulses } = setup();
    pulses.start(0x0004, 0x0000, 80);
    assert.equal(pulses.pins, 0x0004);
    clock.advance(79);
    assert.deepEqual(ends, []);
    clock.advance(1);
    assert.deepEqual(ends, [{ at: 80, mask: 0x0004, value: 0 }]);
    assert.equal(pulses.pins, 0);
    assert.equal(clock.count, 0, 'no timer left');
  });

  it('an off-pulse on a pin that is on goes back on; other bits of the latch do not matter', () => {
    const { clock, ends, pulses } = setup();
    pulses.start(0x0004, 0xfff5, 50); // pin 3 on, pin 2 off, others on
    clock.advance(50);
    assert.deepEqual(ends, [{ at: 50, mask: 0x0004, value: 0x0004 }]);
  });

  it('a port pulse ends in one write with each pin\'s own level', () => {
    const { clock, ends, pulses } = setup();
    pulses.start(0x00ff, 0x0f0f, 50);
    clock.advance(50);
    assert.deepEqual(ends, [{ at: 50, mask: 0x00ff, value: 0x000f }]);
  });

  it('a pulse during a pulse extends it and still goes back to the level before the first', () => {
    const { clock, ends, pulses } = setup();
    pulses.start(0x0004, 0x0000, 100);
    clock.advance(60);
    pulses.start(0x0004, 0x0004, 100); // the latch now holds the pulse level
    clock.advance(99);
    assert.deepEqual(ends, [], 'not at the first pulse\'s end (100), nor at 159');
    clock.advance(1);
    assert.deepEqual(ends, [{ at: 160, mask: 0x0004, value: 0 }]);
    assert.equal(clock.count, 0);
  });

  it('a shorter second pulse ends the pin earlier: its end is the last pulse\'s', () => {
    const { clock, ends, pulses } = setup();
    pulses.start(0x0001, 0, 1000);
    clock.advance(10);
    pulses.start(0x0001, 1, 20);
    clock.advance(20);
    assert.deepEqual(ends, [{ at: 30, mask: 0x0001, value: 0 }]);
    clock.advance(2000);
    assert.equal(ends.length, 1, 'the first pulse\'s timer is gone');
  });

  it('pulses that overlap in some pins: each pin ends with its own latest pulse', () => {
    const { clock, ends, pulses } = setup();
    pulses.start(0x0003, 0x0002, 100); // pins 1, 2; pin 2 was on
    clock.advance(50);
    pulses.start(0x0006, 0x0003, 100); // pins 2, 3; pin 2 keeps "on" from before its first pulse
    assert.equal(pulses.pins, 0x0007);
    clock.advance(50);
    assert.deepEqual(ends, [{ at: 100, mask: 0x0001, value: 0 }], 'pin 1 alone at 100');
    clock.advance(50);
    assert.deepEqual(ends.slice(1), [{ at: 150, mask: 0x0006, value: 0x0002 }], 'pins 2 and 3 at 150');
    assert.equal(pulses.pins, 0);
  });

  it('cancel: a set or toggle takes the pins out of their pulse; they never go back', () => {
    const { clock, ends, pulses } = setup();
    pulses.start(0x0003, 0, 100);
    pulses.cancel(0x0001);
    assert.equal(pulses.pins, 0x0002);
    clock.advance(100);
    assert.deepEqual(ends, [{ at: 100, mask: 0x0002, value: 0 }]);
    pulses.start(0x0010, 0, 100);
    pulses.cancel(0xffff);
    assert.equal(clock.count, 0, 'a pulse left with no pin has no timer');
    clock.advance(1000);
    assert.equal(ends.length, 1);
  });

  it('cancel of pins not in a pulse changes nothing', () => {
    const { clock, ends, pulses } = setup();
    pulses.start(0x0100, 0, 10);
    pulses.cancel(0x00ff);
    clock.advance(10);
    assert.deepEqual(ends, [{ at: 10, mask: 0x0100, value: 0 }]);
  });

  it('close ends every running pulse at once, in one write, and leaves no timer; no pulse starts after it', () => {
    const { clock, ends, pulses } = setup();
    pulses.start(0x0001, 0x0000, 5000);
    clock.advance(10);
    pulses.start(0x0300, 0x0200, 8000);
    pulses.close();
    assert.deepEqual(ends, [{ at: 10, mask: 0x0301, value: 0x0200 }]);
    assert.equal(clock.count, 0);
    pulses.start(0x0001, 0, 10);
    assert.equal(clock.count, 0, 'closed: no new timer');
    clock.advance(100_000);
    assert.equal(ends.length, 1);
  });

  it('close with no pulse running writes nothing', () => {
    const { ends, pulses } = setup();
    pulses.close();
    assert.deepEqual(ends, []);
  });

  it('the longest pulse (86400000 ms) ends on time', () => {
    const { clock, ends, pulses } = setup();
    pulses.start(0x8000, 0, 86_400_000);
    clock.advance(86_399_999);
    assert.deepEqual(ends, []);
    clock.advance(1);
    assert.equal(ends.length, 1);
  });

  it('1000 random starts and cancels match a per-pin model', () => {
    const { clock, ends, pulses } = setup();
    const next = prng(12345);
    const random = (n: number) => randomInt(next, n);
    // model: per pin, when it ends and what it goes back to
    const model = new Map<number, { at: number; restore: number }>();
    let latch = 0;
    let pinEnds = 0;
    for (let step = 0; step < 1000; step++) {
      const mask = random(8) === 0 ? random(0xffff) + 1 : (1 << random(16)) | (random(2) ? 1 << random(16) : 0);
      if (random(4) === 0) {
        pulses.cancel(mask);
        for (let pin = 1; pin <= 16; pin++) if (mask & (1 << (pin - 1))) model.delete(pin);
      } else {
        const ms = 1 + random(200);
        pulses.start(mask, latch, ms);
        for (let pin = 1; pin <= 16; pin++) {
          const bit = 1 << (pin - 1);
          if (!(mask & bit)) continue;
          const running = model.get(pin);
          model.set(pin, { at: clock.now + ms, restore: running ? running.restore : latch & bit ? 1 : 0 });
        }
        latch = (latch & ~mask) | (random(2) ? mask : 0); // the pulse level written
      }
      const n = ends.length;
      clock.advance(random(150));
      for (const end of ends.slice(n)) {
        for (let pin = 1; pin <= 16; pin++) {
          const bit = 1 << (pin - 1);
          if (!(end.mask & bit)) continue;
          const expected = model.get(pin);
          assert.ok(expected, `step ${step}: pin ${pin} ended but is in no pulse`);
          assert.equal(end.at, expected.at, `step ${step}: pin ${pin} ends at its latest pulse's end`);
          assert.equal(end.value & bit ? 1 : 0, expected.restore, `step ${step}: pin ${pin} goes back to its level before its first pulse`);
          model.delete(pin);
          pinEnds++;
          latch = (latch & ~bit) | (expected.restore ? bit : 0);
        }
      }
      for (const [pin, expected] of model) assert.ok(expected.at > clock.now, `step ${step}: pin ${pin} is overdue`);
      let running = 0;
      for (const pin of model.keys()) running |= 1 << (pin - 1);
      assert.equal(pulses.pins, running, `step ${step}: the pins in a pulse`);
    }
    assert.ok(pinEnds > 300, `${pinEnds} pin ends in ${ends.length} writes checked`);
  });
});
