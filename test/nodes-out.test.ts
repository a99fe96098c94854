/**
 * iopi-out on the simulated chip: payload forms and rejections (caught, nothing written, still
 * working), targets, msg.pin / msg.port / msg.topic, set / toggle / pulse, initial value,
 * pass-through and coalescing of a burst of messages.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import {
  BANK0, chipNode, collect, helper, inNode, lastStatus, levels, load, online, outNode, reg16, registers, send, sim, sleep,
  useNodeHelper, waitFor,
} from './helpers/nodes';

const chip = () => sim.chip(1, 0x20);

/** Sends and waits until the Complete node (scope: out1) has seen it, i.e. done() was called. */
async function deliver(completes: any[], errors: any[], msg: Record<string, unknown>, id = 'out1'): Promise<void> {
  const n = completes.length + errors.length;
  send(id, msg);
  await waitFor(() => completes.length + errors.length > n, 1000, `done for ${JSON.stringify(msg)}`);
}

async function loadOut(over: Record<string, unknown>, chipOver: Record<string, unknown> = {}) {
  await load([chipNode(chipOver), outNode(over)], { completeScope: ['out1'] });
  const completes = collect('completes');
  const errors = collect('errors');
  const out = collect('out');
  await online();
  return { completes, errors, out };
}

describe('iopi-out', function () {
  this.timeout(20000);
  useNodeHelper();

  describe('payloads', () => {
    it('pin: true/false, 1/0, "on"/"off", "1"/"0", "true"/"false" and "toggle"', async () => {
      const { completes, errors } = await loadOut({ target: 'pin', pins: [4] });
      assert.equal(chip().register(BANK0.IODIRA) & 0x08, 0, 'pin 4 is an output');
      const cases: [unknown, 0 | 1][] = [
        [true, 1], [false, 0], [1, 1], [0, 0], ['on', 1], ['off', 0], ['1', 1], ['0', 0], ['true', 1], ['false', 0],
        ['toggle', 1], ['toggle', 0],
      ];
      for (const [payload, level] of cases) {
        await deliver(completes, errors, { payload });
        assert.equal(chip().pinLevel(4), level, `payload ${JSON.stringify(payload)}`);
      }
      assert.deepEqual(errors, []);
      assert.equal(lastStatus('out1').text, 'iopi-out.status.off');
    });

    it('port: numbers 0-255, numeric and "0x.." strings, "toggle"', async () => {
      const { completes, errors } = await loadOut({ target: 'port', port: 1 });
      assert.equal(chip().register(BANK0.IODIRB), 0, 'port 1 outputs');
      assert.equal(chip().register(BANK0.IODIRA), 0xff, 'port 0 untouched');
      const cases: [unknown, number][] = [[0xa5, 0xa5], [255, 0xff], [0, 0], ['17', 17], ['0x3C', 0x3c], ['0xff', 0xff], ['toggle', 0x00], ['toggle', 0xff]];
      for (const [payload, value] of cases) {
        await deliver(completes, errors, { payload });
        assert.equal(chip().register(BANK0.OLATB), value, `payload ${JSON.stringify(payload)}`);
        assert.equal(chip().register(BANK0.OLATA), 0, 'port 0 latch untouched');
      }
      assert.deepEqual(errors, []);
    });

    it('bus: numbers 0-65535, "0x.." strings, "toggle"', async () => {
      const { completes, errors } = await loadOut({ target: 'bus' });
      const cases: [unknown, number][] = [[0x1234, 0x1234], [65535, 0xffff], ['0xBEEF', 0xbeef], ['258', 258], ['toggle', 0xfefd], [0, 0]];
      for (const [payload, value] of cases) {
        await deliver(completes, errors, { payload });
        assert.equal(reg16('OLAT'), value, `payload ${JSON.stringify(payload)}`);
        assert.equal(levels(), value, 'pin levels');
      }
      assert.deepEqual(errors, []);
    });
  });

  describe('rejections: done(err) seen by a Catch node, nothing written, the node keeps working', () => {
    const cases: { name: string; node: Record<string, unknown>; msg: Record<string, unknown>; property: RegExp; allowed: RegExp }[] = [
      { name: 'NaN for a pin', node: { target: 'pin', pins: [2] }, msg: { payload: NaN }, property: /msg\.payload/, allowed: /true\/false/ },
      { name: '2 for a pin', node: { target: 'pin', pins: [2] }, msg: { payload: 2 }, property: /msg\.payload/, allowed: /true\/false/ },
      { name: '-1 for a pin', node: { target: 'pin', pins: [2] }, msg: { payload: -1 }, property: /msg\.payload/, allowed: /1\/0/ },
      { name: '"maybe"', node: { target: 'pins', pins: [2, 3] }, msg: { payload: 'maybe' }, property: /msg\.payload/, allowed: /"on"\/"off"/ },
      { name: '{}', node: { target: 'pin', pins: [2] }, msg: { payload: {} }, property: /msg\.payload/, allowed: /true\/false/ },
      { name: '[]', node: { target: 'pin', pins: [2] }, msg: { payload: [] }, property: /msg\.payload/, allowed: /true\/false/ },
      { name: 'null', node: { target: 'pin', pins: [2] }, msg: { payload: null }, property: /msg\.payload/, allowed: /true\/false/ },
      { name: 'no payload', node: { target: 'pin', pins: [2] }, msg: {}, property: /msg\.payload/, allowed: /true\/false/ },
      { name: '256 for a port', node: { target: 'port', port: 0 }, msg: { payload: 256 }, property: /msg\.payload/, allowed: /0 to 255/ },
      { name: '-1 for a port', node: { target: 'port', port: 0 }, msg: { payload: -1 }, property: /msg\.payload/, allowed: /0 to 255/ },
      { name: 'NaN for a port', node: { target: 'port', port: 0 }, msg: { payload: NaN }, property: /msg\.payload/, allowed: /0 to 255/ },
      { name: '1.5 for a port', node: { target: 'port', port: 0 }, msg: { payload: 1.5 }, property: /msg\.payload/, allowed: /integer/ },
      { name: '"maybe" for a port', node: { target: 'port', port: 0 }, msg: { payload: 'maybe' }, property: /msg\.payload/, allowed: /0 to 255/ },
      { name: 'true for a port', node: { target: 'port', port: 0 }, msg: { payload: true }, property: /msg\.payload/, allowed: /0 to 255/ },
      { name: '65536 for the bus', node: { target: 'bus' }, msg: { payload: 65536 }, property: /msg\.payload/, allowed: /0 to 65535/ },
      { name: '"0x10000" for the bus', node: { target: 'bus' }, msg: { payload: '0x10000' }, property: /msg\.payload/, allowed: /0 to 65535/ },
      { name: 'msg.pin 17', node: { target: 'pins', pins: [1, 2, 3] }, msg: { pin: 17, payload: true }, property: /msg\.pin/, allowed: /1 to 16/ },
      { name: 'msg.pin 0', node: { target: 'bus' }, msg: { pin: 0, payload: true }, property: /msg\.pin/, allowed: /1 to 16/ },
      { name: 'msg.pin outside the node\'s pins', node: { target: 'pins', pins: [1, 2, 3] }, msg: { pin: 5, payload: true }, property: /msg\.pin/, allowed: /1, 2, 3/ },
      { name: 'msg.pin list partly outside', node: { target: 'pins', pins: [1, 2, 3] }, msg: { pin: [2, 9], payload: true }, property: /msg\.pin/, allowed: /1, 2, 3/ },
      { name: 'msg.port 2', node: { target: 'bus' }, msg: { port: 2, payload: 1 }, property: /msg\.port/, allowed: /0 or 1/ },
      { name: 'msg.port outside the node\'s port', node: { target: 'port', port: 0 }, msg: { port: 1, payload: 1 }, property: /msg\.port/, allowed: /1-8|1, 2/ },
      { name: 'msg.pulse 0', node: { target: 'pin', pins: [2], mode: 'pulse' }, msg: { payload: true, pulse: 0 }, property: /msg\.pulse/, allowed: /1 to/ },
      { name: '"toggle" in pulse mode', node: { target: 'pin', pins: [2], mode: 'pulse' }, msg: { payload: 'toggle' }, property: /msg\.payload/, allowed: /pulse level/ },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const { completes, errors } = await loadOut(c.node);
        const before = registers();
        send('out1', c.msg);
        await waitFor(() => errors.length === 1, 1000, 'caught error');
        await sleep(20);
        const err = errors[0].error;
        assert.equal(err.source.id, 'out1');
        assert.match(err.message, c.property, err.message);
        assert.match(err.message, c.allowed, err.message);
        assert.match(err.message, /\(got /, 'says what it got');
        assert.deepEqual(registers(), before, 'no register changed');
        assert.equal(completes.length, 0, 'done(err), not done()');
        assert.equal(lastStatus('out1').fill, 'red');
        // still working
        const good = c.node.target === 'port' ? { payload: 0x81 } : c.node.target === 'bus' ? { payload: 0x8001 } : { payload: true };
        await deliver(completes, errors, good);
        assert.equal(errors.length, 1);
        if (c.node.target === 'port') assert.equal(chip().register(BANK0.OLATA), 0x81);
        else if (c.node.target === 'bus') assert.equal(reg16('OLAT'), 0x8001);
        else assert.equal(chip().pinLevel(2), 1);
      });
    }
  });

  describe('targets and message selection', () => {
    it('pins: writes all its pins, leaves the others', async () => {
      const { completes, errors } = await loadOut({ target: 'pins', pins: [2, 5, 9] });
      assert.equal(reg16('IODIR'), 0xffff & ~0x0112);
      await deliver(completes, errors, { payload: true });
      assert.equal(reg16('OLAT'), 0x0112);
      await deliver(completes, errors, { payload: false });
      assert.equal(reg16('OLAT'), 0);
    });

    it('pin: only the first pin of the list', async () => {
      const { completes, errors } = await loadOut({ target: 'pin', pins: [6, 7] });
      await deliver(completes, errors, { payload: true });
      assert.equal(reg16('OLAT'), 0x0020);
      assert.equal(reg16('IODIR') & 0x0040, 0x0040, 'pin 7 stays an input');
    });

    it('msg.pin chooses one or several of the node\'s pins', async () => {
      const { completes, errors } = await loadOut({ target: 'pins', pins: [1, 2, 3, 4, 5, 6, 7, 8] });
      await deliver(completes, errors, { pin: 3, payload: true });
      assert.equal(reg16('OLAT'), 0x04);
      await deliver(completes, errors, { pin: [5, 6], payload: 1 });
      assert.equal(reg16('OLAT'), 0x34);
      await deliver(completes, errors, { pin: '6', payload: 'off' });
      assert.equal(reg16('OLAT'), 0x14);
    });

    it('msg.port chooses a port of a bus node', async () => {
      const { completes, errors } = await loadOut({ target: 'bus', initial: '0x00ff' });
      assert.equal(reg16('OLAT'), 0x00ff);
      await deliver(completes, errors, { port: 1, payload: 0x5a });
      assert.equal(reg16('OLAT'), 0x5aff);
      await deliver(completes, errors, { port: '0', payload: 0 });
      assert.equal(reg16('OLAT'), 0x5a00);
    });

    it('msg.topic "pin/N", "port/P" and "bus" choose the target', async () => {
      const { completes, errors } = await loadOut({ target: 'bus' });
      await deliver(completes, errors, { topic: 'pin/5', payload: true });
      assert.equal(reg16('OLAT'), 0x0010);
      await deliver(completes, errors, { topic: 'iopi/1/0x20/port/1', payload: 0x81 });
      assert.equal(reg16('OLAT'), 0x8110);
      await deliver(completes, errors, { topic: 'bus', payload: 0x0001 });
      assert.equal(reg16('OLAT'), 0x0001);
      await deliver(completes, errors, { topic: 'something else', payload: 0x0003 });
      assert.equal(reg16('OLAT'), 0x0003, 'other topics: the node\'s own target');
    });

    it('msg.topic of a pin outside the node\'s pins is an error', async () => {
      const { errors } = await loadOut({ target: 'pins', pins: [1, 2] });
      const before = registers();
      send('out1', { topic: 'pin/9', payload: true });
      await waitFor(() => errors.length === 1, 1000, 'error');
      assert.match(errors[0].error.message, /msg\.topic|msg\.pin/);
      assert.deepEqual(registers(), before);
    });

    it('a topic that names an invalid target writes nothing (pins 1-8: "pin/17" once switched all 8)', async () => {
      const { completes, errors } = await loadOut({ target: 'pins', pins: [1, 2, 3, 4, 5, 6, 7, 8] });
      const before = registers();
      const topics = ['pin/17', 'pin/0', 'port/2', 'PIN/ 3', 'relay/pin/99', 'pin/1e1', 'pin/3/', 'pin//3', 'ｐｉｎ/3', 'relay/pin'];
      for (const [i, topic] of topics.entries()) {
        send('out1', { topic, payload: true });
        await waitFor(() => errors.length === i + 1, 10000, `error for ${topic}`);
        assert.match(errors[i].error.message, /msg\.topic must be "pin\/1" to "pin\/16", "port\/0", "port\/1" or "bus" .*\(got /, errors[i].error.message);
        assert.deepEqual(registers(), before, `${topic}: no register changed`);
      }
      assert.equal(completes.length, 0);
      assert.equal(lastStatus('out1').fill, 'red');
      await deliver(completes, errors, { topic: 'PIN/3', payload: true });
      assert.equal(reg16('OLAT'), 0x0004, 'PIN/3: pin 3, the keyword in any case');
      await deliver(completes, errors, { topic: 'house/door/1', payload: true });
      assert.equal(reg16('OLAT'), 0x00ff, 'no address: the node\'s own pins');
      assert.equal(errors.length, topics.length);
    });

    it('an iopi-in\'s messages address the matching output (topic iopi/1/0x21/pin/N, msg.pin)', async () => {
      await load([
        chipNode(), chipNode({ id: 'chip2', address: 0x21 }),
        inNode({ id: 'in1', chip: 'chip2', target: 'pins', pins: [3, 5], output: 'pin', wires: [['strip', 'out1']] }),
        // the same messages without msg.pin: the topic alone chooses the pin
        { id: 'strip', type: 'helper', wires: [] },
        outNode({ id: 'out1', target: 'pins', pins: [1, 2, 3, 4, 5, 6, 7, 8] }),
        outNode({ id: 'out2', target: 'bus', pins: [1] }),
      ], { completeScope: ['out1', 'out2'] });
      const completes = collect('completes');
      const errors = collect('errors');
      helper.getNode('strip').on('input', (msg: any) => {
        const { pin: _pin, port: _port, ...rest } = msg;
        helper.getNode('out2').receive({ ...rest, _msgid: undefined });
      });
      await online();
      await online('chip2');
      sim.chip(1, 0x21).setInput(5, 0); // pressed (pull-up, inverted): true
      await waitFor(() => completes.length === 2, 10000, 'both outputs written');
      assert.deepEqual(errors, []);
      assert.equal(reg16('OLAT'), 0x0010, 'pin 5 of 0x20 on, nothing else');
      sim.chip(1, 0x21).setInput(5, 1);
      await waitFor(() => completes.length === 4, 10000, 'released');
      assert.equal(reg16('OLAT'), 0x0000);
    });

    it('msgTarget off: msg.pin / msg.topic are ignored', async () => {
      const { completes, errors } = await loadOut({ target: 'pins', pins: [1, 2], msgTarget: false });
      await deliver(completes, errors, { pin: 2, topic: 'pin/1', payload: true });
      assert.equal(reg16('OLAT'), 0x03);
      await deliver(completes, errors, { pin: 17, payload: false });
      assert.equal(reg16('OLAT'), 0x00);
      assert.deepEqual(errors, []);
    });
  });

  describe('modes', () => {
    it('toggle: every message inverts the pins, whatever the payload', async () => {
      const { completes, errors } = await loadOut({ target: 'pins', pins: [1, 2], mode: 'toggle', initial: '0' });
      await deliver(completes, errors, { payload: true });
      assert.equal(reg16('OLAT') & 3, 3);
      await deliver(completes, errors, { payload: true });
      assert.equal(reg16('OLAT') & 3, 0);
      await deliver(completes, errors, { pin: 2, payload: 'anything' });
      assert.equal(reg16('OLAT') & 3, 2);
    });

    // How long a pulse lasts, and how extension works, is tested on a fake clock in nodes-pulses;
    // here only what the node does with it, in order, with no millisecond margins.
    it('pulse: on, then back off; the status says pulse', async () => {
      const { completes, errors } = await loadOut({ target: 'pin', pins: [3], mode: 'pulse', pulse: 20 });
      await deliver(completes, errors, { payload: true });
      assert.equal(lastStatus('out1').text, 'iopi-out.status.pulse');
      const seen: number[] = [];
      const c = chip();
      c.on('change', () => seen.push(c.pinLevel(3)));
      seen.push(c.pinLevel(3));
      await waitFor(() => chip().pinLevel(3) === 0, 10000, 'pulse end');
      assert.equal(seen[0], 1, 'on after done()');
      assert.deepEqual(errors, []);
    });

    it('pulse: msg.pulse overrides the length', async () => {
      const { completes, errors } = await loadOut({ target: 'pin', pins: [3], mode: 'pulse', pulse: 86_400_000 });
      await deliver(completes, errors, { payload: 1, pulse: 20 });
      assert.equal(chip().pinLevel(3), 1);
      await waitFor(() => chip().pinLevel(3) === 0, 10000, 'the 20 ms pulse ends (the node\'s own is a day)');
    });

    it('pulse: a pulse during a pulse replaces its end and goes back to the level before the first', async () => {
      const { completes, errors } = await loadOut({ target: 'pin', pins: [3], mode: 'pulse', pulse: 86_400_000, initial: '1' });
      await deliver(completes, errors, { payload: false });
      assert.equal(chip().pinLevel(3), 0);
      await deliver(completes, errors, { payload: false, pulse: 20 });
      await waitFor(() => chip().pinLevel(3) === 1, 10000, 'the second pulse ends (the first would last a day): back on');
      assert.deepEqual(errors, []);
    });

    it('pulse on several pins: they end together, in one write', async () => {
      const { completes, errors } = await loadOut({ target: 'pins', pins: [3, 4, 5], mode: 'pulse', pulse: 20 });
      const c = chip();
      const olat: number[] = [];
      const orig = c.writeMessage.bind(c);
      c.writeMessage = (data: any) => {
        if (data[0] === BANK0.OLATA) olat.push(data[1]);
        return orig(data);
      };
      await deliver(completes, errors, { payload: true });
      await waitFor(() => (levels() & 0x1c) === 0, 10000, 'pins back off');
      assert.deepEqual(olat, [0x1c, 0x00], 'one write on, one write back');
    });

    it('pulse: an off-pulse on a pin that is on goes back on', async () => {
      const { completes, errors } = await loadOut({ target: 'pin', pins: [3], mode: 'pulse', pulse: 50, initial: '1' });
      assert.equal(chip().pinLevel(3), 1);
      await deliver(completes, errors, { payload: false });
      assert.equal(chip().pinLevel(3), 0);
      await waitFor(() => chip().pinLevel(3) === 1, 10000, 'back on');
    });

    it('pulse on a port: the value for N ms, then the previous value', async () => {
      const { completes, errors } = await loadOut({ target: 'port', port: 0, mode: 'pulse', pulse: 50, initial: '0x0f' });
      assert.equal(chip().register(BANK0.OLATA), 0x0f);
      await deliver(completes, errors, { payload: 0xf0 });
      assert.equal(chip().register(BANK0.OLATA), 0xf0);
      await waitFor(() => chip().register(BANK0.OLATA) === 0x0f, 10000, 'previous value back');
    });
  });

  describe('initial value on deploy', () => {
    for (const [over, check] of [
      [{ target: 'pin', pins: [5], initial: '1' }, () => assert.equal(chip().pinLevel(5), 1)],
      [{ target: 'pins', pins: [5, 6], initial: '0' }, () => assert.equal(levels() & 0x30, 0)],
      [{ target: 'port', port: 1, initial: '0xA5' }, () => assert.equal(chip().register(BANK0.OLATB), 0xa5)],
      [{ target: 'bus', initial: '4660' }, () => assert.equal(levels(), 0x1234)],
    ] as [Record<string, unknown>, () => void][]) {
      it(`${over.target} initial ${over.initial}`, async () => {
        if (over.initial === '0') {
          // the latch had these pins on (e.g. before a restart)
          const c = chip();
          c.writeMessage([BANK0.OLATA, 0x30]);
        }
        await loadOut(over);
        check();
        assert.equal(reg16('IODIR') & (over.target === 'bus' ? 0xffff : over.target === 'port' ? 0xff00 : 0x30 & (over.target === 'pin' ? 0x10 : 0x30)), 0, 'outputs');
      });
    }

    it('"" leaves the latch as it was (no flicker on redeploy)', async () => {
      chip().writeMessage([BANK0.OLATA, 0x10]);
      await loadOut({ target: 'pin', pins: [5], initial: '' });
      assert.equal(chip().pinLevel(5), 1);
    });

    it('an invalid initial value: invalid status, nothing written', async () => {
      await load([chipNode(), outNode({ target: 'pin', pins: [5], initial: '7' })]);
      await sleep(50);
      assert.equal(lastStatus('out1').text, 'iopi-chip.status.invalid');
      assert.equal(reg16('IODIR'), 0xffff);
    });
  });

  describe('redeploy and outages', () => {
    it('a redeploy keeps the outputs as they were (no flicker) when the initial value is ""', async () => {
      const { completes, errors } = await loadOut({ target: 'pins', pins: [1, 2] });
      await deliver(completes, errors, { payload: true });
      assert.equal(levels() & 3, 3);
      const seen: number[] = [];
      const c = chip();
      const watch = () => seen.push(levels() & 3);
      c.on('change', watch);
      await helper.unload();
      await loadOut({ target: 'pins', pins: [1, 2] });
      c.off('change', watch);
      assert.equal(levels() & 3, 3, 'still on');
      assert.ok(seen.every((v) => v === 3), `levels seen during the redeploy: ${seen}`);
    });

    it('a pulse cut short by a redeploy still ends', async () => {
      const { completes, errors } = await loadOut({ target: 'pin', pins: [3], mode: 'pulse', pulse: 86_400_000 });
      await deliver(completes, errors, { payload: true });
      assert.equal(chip().pinLevel(3), 1);
      await helper.unload();
      await waitFor(() => chip().pinLevel(3) === 0, 10000, 'back off after the redeploy (the pulse was a day)');
    });

    it('while the chip is missing a message ends in an error; after it is back the node works again', async () => {
      const { completes, errors } = await loadOut({ target: 'pin', pins: [3] }, { pollInterval: 10, writeWait: 100 });
      sim.remove(1, 0x20);
      send('out1', { payload: true });
      await waitFor(() => errors.length === 1, 5000, 'error while missing');
      assert.equal(errors[0].error.message, 'NotWrittenError: not written within 100 ms: no device at 0x20 on /dev/i2c-1 (Remote I/O error)');
      await waitFor(() => lastStatus('out1')?.text === 'iopi-chip.status.nodevice', 2000, 'nodevice');
      sim.chip(1, 0x20);
      await waitFor(() => helper.getNode('chip1').online, 4000, 'back online');
      assert.equal(chip().register(BANK0.OLATA) & 0x04, 0, 'the message that failed was never written');
      await deliver(completes, errors, { payload: true });
      assert.equal(chip().pinLevel(3), 1);
      assert.equal(chip().register(BANK0.IODIRA) & 0x04, 0, 'an output again');
    });
  });

  describe('pass-through', () => {
    it('pin: sends the message on with the written state', async () => {
      const { completes, errors, out } = await loadOut({ target: 'pins', pins: [1, 2], passthrough: true });
      await deliver(completes, errors, { payload: 'on', topic: 'x', extra: 42 });
      await waitFor(() => out.length === 1, 1000, 'passed on');
      assert.equal(out[0].payload, true);
      assert.deepEqual(out[0].pins, [1, 2]);
      assert.equal(out[0].outputs, 0x0003);
      assert.equal(out[0].topic, 'x');
      assert.equal(out[0].extra, 42);
    });

    it('toggle: the payload is the state after the toggle', async () => {
      const { completes, errors, out } = await loadOut({ target: 'pin', pins: [1], passthrough: true, mode: 'toggle' });
      await deliver(completes, errors, { payload: 'x' });
      await deliver(completes, errors, { payload: 'x' });
      await waitFor(() => out.length === 2, 1000, 'passed on');
      assert.deepEqual(out.map((m) => m.payload), [true, false]);
    });

    it('port: the port value', async () => {
      const { completes, errors, out } = await loadOut({ target: 'port', port: 1, passthrough: true });
      await deliver(completes, errors, { payload: '0x42' });
      await waitFor(() => out.length === 1, 1000, 'passed on');
      assert.equal(out[0].payload, 0x42);
      assert.equal(out[0].outputs, 0x4200);
    });

    it('off by default: nothing sent', async () => {
      const { completes, errors, out } = await loadOut({ target: 'pin', pins: [1] });
      await deliver(completes, errors, { payload: true });
      await sleep(20);
      assert.deepEqual(out, []);
    });
  });

  describe('bursts: the option reaches the driver', () => {
    /** Records the options of every output write the node asks the driver for. */
    function spyWrites(): any[][] {
      const driver = helper.getNode('chip1').driver;
      const calls: any[][] = [];
      for (const name of ['writeMasked', 'toggleMasked']) {
        const orig = driver[name].bind(driver);
        driver[name] = (...args: any[]) => {
          calls.push([name, ...args]);
          return orig(...args);
        };
      }
      return calls;
    }

    for (const [burst, latest] of [[undefined, false], ['every', false], ['latest', true]] as const) {
      it(`burst ${burst ?? '(none: a flow from before the option)'}: set, toggle, pulse and pulse end pass { latest: ${latest} }`, async () => {
        const over = burst === undefined ? {} : { burst };
        const set = await loadOut({ target: 'pins', pins: [1, 2], ...over });
        let calls = spyWrites();
        await deliver(set.completes, set.errors, { payload: true });
        await deliver(set.completes, set.errors, { payload: 'toggle' });
        assert.deepEqual(calls, [['writeMasked', 0x0003, 0x0003, { latest }], ['toggleMasked', 0x0003, { latest }]]);
        await helper.unload();
        const pulse = await loadOut({ target: 'pin', pins: [3], mode: 'pulse', pulse: 20, ...over });
        calls = spyWrites();
        await deliver(pulse.completes, pulse.errors, { payload: true });
        await waitFor(() => chip().pinLevel(3) === 0, 10000, 'pulse end');
        // the end of a pulse waits for the chip however long it takes (a relay must not stay on)
        assert.deepEqual(calls, [['writeMasked', 0x0004, 0x0004, { latest }], ['writeMasked', 0x0004, 0, { latest, waitMs: Infinity }]]);
        assert.deepEqual([...set.errors, ...pulse.errors], []);
      });
    }

    it('an unknown burst value: invalid settings, nothing written', async () => {
      await load([chipNode(), outNode({ target: 'pin', pins: [5], burst: 'fast' })]);
      await waitFor(() => lastStatus('out1')?.text === 'iopi-chip.status.invalid', 10000, 'invalid status');
      assert.equal(reg16('IODIR'), 0xffff);
    });
  });

  describe('bursts of messages', () => {
    it('every state (default): 200 messages sent at once: every state is written, in order, and every done() follows its own write', async () => {
      const { completes, errors } = await loadOut({ target: 'port', port: 0 });
      const olatWrites: number[] = [];
      const c = chip();
      const orig = c.writeMessage.bind(c);
      c.writeMessage = (data: any) => {
        if (data[0] === BANK0.OLATA || data[0] === BANK0.OLATB) olatWrites.push(data[1]);
        return orig(data);
      };
      for (let i = 0; i < 200; i++) send('out1', { payload: i });
      await waitFor(() => completes.length === 200, 10000, () => `200 done (got ${completes.length})`);
      assert.deepEqual(errors, []);
      assert.equal(chip().register(BANK0.OLATA), 199);
      assert.deepEqual(olatWrites, Array.from({ length: 200 }, (_, i) => i), 'no state skipped, none out of order');
    });

    it('latest value only: 200 messages sent at once: right final latch, every done called, far fewer writes, in order', async () => {
      const { completes, errors } = await loadOut({ target: 'port', port: 0, burst: 'latest' });
      const stats = helper.getNode('chip1').driver.transport.stats;
      const before = stats.transactions;
      const olatWrites: number[] = [];
      const c = chip();
      const orig = c.writeMessage.bind(c);
      c.writeMessage = (data: any) => {
        if (data[0] === BANK0.OLATA || data[0] === BANK0.OLATB) olatWrites.push(data[1]);
        return orig(data);
      };
      for (let i = 0; i < 200; i++) send('out1', { payload: i });
      await waitFor(() => completes.length === 200, 10000, () => `200 done (got ${completes.length})`);
      assert.deepEqual(errors, []);
      assert.equal(chip().register(BANK0.OLATA), 199);
      const writes = stats.transactions - before;
      assert.ok(writes < 20, `${writes} transactions for 200 messages`);
      assert.ok(olatWrites.length < 20, `${olatWrites.length} OLAT writes`);
      // never out of order: the values written only go up
      for (let i = 1; i < olatWrites.length; i++) assert.ok(olatWrites[i] > olatWrites[i - 1], `writes in order: ${olatWrites}`);
      assert.equal(olatWrites[olatWrites.length - 1], 199);
    });

    it('200 toggles at once end where 200 single toggles would', async () => {
      const { completes, errors } = await loadOut({ target: 'pins', pins: [1, 2], mode: 'toggle', initial: '0', passthrough: true });
      const out = collect('out');
      for (let i = 0; i < 199; i++) send('out1', { payload: 'x', seq: i });
      await waitFor(() => completes.length === 199, 3000, () => `199 done (got ${completes.length})`);
      assert.deepEqual(errors, []);
      assert.equal(reg16('OLAT') & 3, 3, 'odd number of toggles: on');
      await waitFor(() => out.length === 199, 1000, 'passed on');
      assert.deepEqual(out.map((m) => m.seq), Array.from({ length: 199 }, (_, i) => i), 'messages leave in order');
      // each message reports the state its own toggle produced, although the writes were merged
      assert.deepEqual(out.map((m) => m.payload), Array.from({ length: 199 }, (_, i) => i % 2 === 0));
      assert.deepEqual(out.map((m) => m.outputs & 3), Array.from({ length: 199 }, (_, i) => (i % 2 === 0 ? 3 : 0)));
    });
  });
});
