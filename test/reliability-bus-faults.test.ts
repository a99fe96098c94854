/**
 * Reliability: the faults a Pi's I2C bus really has, in a deployed flow on simulated chips.
 * - 1 % of all transactions of both chips fail with EIO for 30 s while buttons are pressed and
 *   outputs written: the transport retries in place, so no press is lost, no write fails, and the
 *   log says how many retries there were;
 * - a reconfiguration of an open chip (a node redeployed alone) is written in the one write plan:
 *   polarity and pull-ups before the direction, interrupt enables last;
 * - a chip left in BANK=1 is recovered and the log says so once; a power glitch's warning names every
 *   register that was wrong.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import {
  BANK0, chipNode, collect, flowOf, helper, inNode, load, logs, online, outNode, sim, sleep, useNodeHelper, waitFor,
} from './helpers/nodes';
import { prng } from './helpers/prng';

describe('reliability: faults of a real bus', function () {
  this.timeout(120000);
  useNodeHelper();

  it('1 % EIO on every transaction of both chips for 30 s: every press and release reported once, every write done(), the retries logged', async () => {
    const random = prng(1313);
    const faultRandom = prng(77);
    const nodes = [];
    for (const [n, address] of [[1, 0x20], [2, 0x21]] as const) {
      nodes.push(
        chipNode({ id: `chip${n}`, address, pollInterval: 20 }),
        inNode({ id: `in${n}`, chip: `chip${n}`, pins: [1, 2, 3, 4], wires: [['events']] }),
        outNode({ id: `out${n}`, chip: `chip${n}`, target: 'port', port: 1, pins: [] }),
      );
    }
    nodes.push({ id: 'events', type: 'helper' });
    await load(nodes as any, { completeScope: ['out1', 'out2'] });
    await online('chip1');
    await online('chip2');
    const events = collect('events');
    const completes = collect('completes');
    const errors = collect('errors');
    const chips = [sim.chip(1, 0x20), sim.chip(1, 0x21)];
    const fault = sim.injectFault({ error: 'eio', times: Infinity, match: () => faultRandom() < 0.01 });

    const presses = new Map<string, number>(); // "address/pin" -> presses
    let writes = 0;
    const lastWritten = [0, 0];
    const end = Date.now() + 30000;
    // Presses: one chip at a time, one pin at a time, a press of 2-25 ms, then at least 3 poll
    // intervals before the next event on that chip (so the chip's first-event latch never has to hold
    // two presses). Writes: a port value every few ms on both chips.
    const pressing = (async () => {
      let i = 0;
      while (Date.now() < end) {
        const c = i % 2;
        const pin = 1 + ((i >> 1) % 4);
        chips[c].setInput(pin, 0);
        await sleep(2 + Math.floor(random() * 23));
        chips[c].setInput(pin, null);
        const key = `${0x20 + c}/${pin}`;
        presses.set(key, (presses.get(key) ?? 0) + 1);
        i++;
        await sleep(35 + Math.floor(random() * 30));
      }
    })();
    const writing = (async () => {
      while (Date.now() < end) {
        for (const n of [1, 2]) {
          const value = writes++ & 0xff;
          lastWritten[n - 1] = value;
          helper.getNode(`out${n}`).receive({ payload: value });
        }
        await sleep(4 + Math.floor(random() * 8));
      }
    })();
    await Promise.all([pressing, writing]);
    await waitFor(() => completes.length + errors.length >= writes, 10000, () => `answers: ${completes.length + errors.length} of ${writes}`);
    await sleep(200); // the last release is read by the next poll
    fault.clear();

    assert.ok(fault.failed > 50, `faults injected: ${fault.failed} (of ${fault.seen} transactions)`);
    assert.deepEqual(errors.map((e) => e.error.message), [], 'no write failed');
    assert.equal(completes.length, writes);
    for (const n of [1, 2]) assert.equal(chips[n - 1].register(BANK0.OLATB), lastWritten[n - 1], `chip${n} ends with the last write`);
    for (const [key, count] of presses) {
      const [address, pin] = key.split('/').map(Number);
      const seen = events.filter((m) => m.address === address && m.pin === pin).map((m) => m.payload);
      const expected = Array.from({ length: count * 2 }, (_, i) => i % 2 === 0);
      assert.deepEqual(seen, expected, `0x${address.toString(16)} pin ${pin}: every press and release, once, in order`);
    }
    assert.ok(helper.getNode('chip1').online && helper.getNode('chip2').online, 'never offline for a transient error');
    const retried = helper.getNode('chip1').driver.transport.stats.retries;
    // The summary comes at most once a minute, and when the chip closes: redeploy to see it now.
    await helper.setFlows(flowOf([]), 'full');
    await sleep(50);
    const lines = logs('warn').filter((l) => /I2C transactions? (was|were) retried/.test(l.msg));
    const counted = lines.reduce((sum, l) => sum + Number(/: (\d+) I2C/.exec(l.msg)![1]), 0);
    assert.equal(lines.length, 2, `one summary per chip: ${lines.map((l) => l.msg).join(' | ')}`);
    assert.equal(counted, retried, 'the log says how many retries there were');
    assert.match(lines[0].msg, /^0x2[01] on \/dev\/i2c-1: \d+ I2C transactions were retried \(\d+ × I\/O error\)/);
  });

  it('a node redeployed alone on an open chip is configured in the write plan: IPOL and GPPU before IODIR, GPINTEN last', async () => {
    const flow = [chipNode({ pollInterval: 20 }), outNode({ id: 'o3', pins: [3] })];
    await load(flow);
    await online();
    const c = sim.chip(1, 0x20);
    assert.equal(c.register(BANK0.IODIRA) & 0x04, 0, 'pin 3 an output');
    const written: number[] = [];
    const orig = c.writeMessage.bind(c);
    c.writeMessage = (data: any) => {
      if (data.length > 1) written.push(data[0]); // a write (a lone byte only sets the pointer for a read)
      return orig(data);
    };
    // Modified nodes: the output goes, an input (pull-up, inverted, interrupt) on pin 3 comes.
    await helper.setFlows(flowOf([chipNode({ pollInterval: 20 }), inNode({ id: 'i3', pins: [3] })]), 'nodes');
    await waitFor(() => (c.register(BANK0.GPINTENA) & 0x04) !== 0, 3000, 'pin 3 configured');
    const order = written;
    assert.deepEqual(order, [BANK0.IPOLA, BANK0.GPPUA, BANK0.IODIRA, BANK0.GPINTENA], `write order ${order.map((r) => `0x${r.toString(16)}`)}`);
  });

  it('a chip left in BANK=1 by other software: recovered, logged once; a power glitch names every register that was wrong', async () => {
    const c = sim.chip(1, 0x20);
    c.writeMessage([0x0a, 0xa4]); // BANK=1 (IOCON at 0x05 in that map), ODR, MIRROR... as other software leaves it
    assert.equal(c.register(BANK0.IOCONA) & 0x80, 0x80);
    await load([chipNode({ pollInterval: 20 }), inNode({ pins: [1, 2, 3, 9, 10] }), outNode({ pins: [5] })]);
    await online();
    assert.equal(c.register(BANK0.IOCONA) & 0x80, 0, 'back in BANK=0');
    const bank = logs('warn').filter((l) => /BANK=1/.test(l.msg));
    assert.equal(bank.length, 1, JSON.stringify(bank));
    assert.match(bank[0].msg, /^0x20 on \/dev\/i2c-1 was in BANK=1 \(IOCON 0xA4,/);

    c.powerCycle();
    await waitFor(() => logs('warn').some((l) => /lost its configuration/.test(l.msg)), 8000, 'restore warning');
    const line = logs('warn').find((l) => /lost its configuration/.test(l.msg))!.msg;
    // Pins 1-3, 9, 10 inputs with pull-ups, inverted, interrupts; pin 5 an output; IOCON mirrored/open-drain.
    for (const register of ['IODIRA', 'IPOLA', 'IPOLB', 'GPINTENA', 'GPINTENB', 'IOCONA', 'IOCONB', 'GPPUA', 'GPPUB']) {
      assert.match(line, new RegExp(`${register} is 0x[0-9A-F]{2}, expected`), `${register} named: ${line}`);
    }
    assert.equal(logs('warn').filter((l) => /BANK=1/.test(l.msg)).length, 1, 'a glitch back to BANK=0 is not a BANK=1 recovery');
  });
});
