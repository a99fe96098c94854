/**
 * The chip driver on the simulated MCP23017: every operation's register effect, validation before any
 * bus traffic, masked pin writes from the OLAT shadow, initialisation (BANK=1 recovery, adoption of
 * the output latch, write order), service reads, verify after a power cycle, coalescing, ordering and
 * concurrency, two chips on one bus.
 */
import assert from 'node:assert/strict';
import { ArgumentError, BANK0, I2cError, Mcp23017, Transport } from '../lib';
import * as sim from '../lib/simulator';
import { recordingBackend, type RecordingBackend } from './helpers/recording-backend';

const BUS = 1;

describe('lib: Mcp23017 driver', () => {
  let backend: RecordingBackend;
  let drivers: Mcp23017[];

  const make = (address = 0x20, options: Partial<ConstructorParameters<typeof Mcp23017>[0]> = {}) => {
    const d = new Mcp23017({ busNumber: BUS, address, backend, ...options });
    drivers.push(d);
    return d;
  };
  const reg = (r: number, address = 0x20) => sim.chip(BUS, address).register(r);

  beforeEach(() => {
    sim.reset();
    sim.chip(BUS, 0x20);
    backend = recordingBackend();
    drivers = [];
  });
  afterEach(async () => {
    for (const d of drivers) await d.close();
    assert.equal(Transport.openCount(), 0, 'every transport released');
  });

  describe('open()', () => {
    it('writes IOCON explicitly (BANK=0, SEQOP=0) with the INT options', async () => {
      const d = make(0x20, { interruptOutput: { mirror: true, openDrain: true } });
      await d.open();
      assert.equal(reg(BANK0.IOCONA), 0x44);
      assert.equal(reg(BANK0.IOCONB), 0x44);
      assert.equal(d.state, 'online');
    });

    it('recovers a chip that other software left in BANK=1 (IOCON 0xE4)', async () => {
      const chip = sim.chip(BUS, 0x20);
      chip.writeMessage([0x0a, 0xe4]); // BANK=0 IOCON: BANK=1, MIRROR, SEQOP, ODR
      assert.equal(chip.register(BANK0.IOCONA), 0xe4);
      const d = make();
      d.setPortDirection(0, 0x0f);
      d.setPortPullups(1, 0xaa);
      await d.open();
      assert.equal(chip.register(BANK0.IOCONA), 0x00, 'BANK, SEQOP and the rest back to our value');
      assert.equal(chip.register(BANK0.IODIRA), 0x0f);
      assert.equal(chip.register(BANK0.GPPUB), 0xaa);
      assert.equal(chip.register(BANK0.OLATA), 0x00, 'nothing landed on OLATA by a BANK=0 write into a BANK=1 chip');
    });

    it('fails clearly when no device answers, and sends nothing more', async () => {
      sim.remove(BUS, 0x20);
      const d = make();
      await assert.rejects(d.open(), (err: unknown) => {
        assert.ok(err instanceof I2cError);
        assert.equal(err.kind, 'absent');
        assert.equal(err.message, 'no device at 0x20 on /dev/i2c-1 (Remote I/O error)');
        return true;
      });
      assert.equal(backend.log.length, 1, 'one probe');
      assert.equal(d.state, 'offline');
    });

    it('writes OLAT before IODIR and GPINTEN last, so outputs start at their value', async () => {
      const d = make();
      d.configurePins({ mask: 0x00ff, direction: 0, output: 0x55 });
      d.configurePins({ mask: 0xff00, direction: 0xffff, interruptEnable: 0xffff, pullup: 0xffff });
      await d.open();
      const writes = backend.log.filter((t) => t.data);
      const olat = writes.findIndex((t) => t.register === BANK0.OLATA);
      const iodir = writes.findIndex((t) => t.register === BANK0.IODIRA);
      const gpinten = writes.findIndex((t) => t.register === BANK0.GPINTENA);
      assert.ok(olat >= 0 && iodir > olat, 'OLAT before IODIR');
      assert.ok(gpinten > iodir && gpinten === writes.length - 1, 'GPINTEN last');
      assert.equal(reg(BANK0.OLATA), 0x55);
      assert.equal(reg(BANK0.IODIRA), 0x00);
      assert.equal(reg(BANK0.GPINTENB), 0xff);
      assert.equal(sim.chip(BUS, 0x20).pinLevel(1), 1);
    });

    it('adopts the output latch of pins nobody set (no flicker on redeploy)', async () => {
      const chip = sim.chip(BUS, 0x20);
      chip.writeMessage([BANK0.OLATA, 0xf0, 0x0f]);
      const d = make();
      d.writePin(1, 1); // set by a caller: wins
      await d.open();
      assert.equal(reg(BANK0.OLATA), 0xf1);
      assert.equal(reg(BANK0.OLATB), 0x0f);
      assert.equal(d.getOutputs(), 0x0ff1);
    });

    it('changes staged before open() resolve once open has written them', async () => {
      const d = make();
      const staged = d.configurePins({ mask: 0x0003, pullup: 0x0003 });
      let settled = false;
      staged.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(settled, false, 'waits for open');
      assert.equal(backend.log.length, 0, 'nothing sent before open');
      await d.open();
      await staged;
      assert.equal(reg(BANK0.GPPUA), 0x03);
    });
  });

  describe('the vendor API: register effects', () => {
    let d: Mcp23017;
    beforeEach(async () => {
      d = make();
      await d.open();
    });

    const cases: [string, (d: Mcp23017) => Promise<unknown>, number, number, (d: Mcp23017) => number][] = [
      ['setPinDirection(10, 0)', (x) => x.setPinDirection(10, 0), BANK0.IODIRB, 0xfd, (x) => x.getPortDirection(1)],
      ['setPortDirection(0, 0x0f)', (x) => x.setPortDirection(0, 0x0f), BANK0.IODIRA, 0x0f, (x) => x.getPortDirection(0)],
      ['setBusDirection(0x1234)', (x) => x.setBusDirection(0x1234), BANK0.IODIRB, 0x12, (x) => x.getBusDirection() >> 8],
      ['setPinPullup(3, 1)', (x) => x.setPinPullup(3, 1), BANK0.GPPUA, 0x04, (x) => x.getPortPullups(0)],
      ['setPortPullups(1, 0xa5)', (x) => x.setPortPullups(1, 0xa5), BANK0.GPPUB, 0xa5, (x) => x.getPortPullups(1)],
      ['setBusPullups(0xbeef)', (x) => x.setBusPullups(0xbeef), BANK0.GPPUA, 0xef, (x) => x.getBusPullups() & 0xff],
      ['invertPin(16, true)', (x) => x.invertPin(16, true), BANK0.IPOLB, 0x80, (x) => x.getPortPolarity(1)],
      ['invertPort(0, 0xff)', (x) => x.invertPort(0, 0xff), BANK0.IPOLA, 0xff, (x) => x.getPortPolarity(0)],
      ['invertBus(0x0100)', (x) => x.invertBus(0x0100), BANK0.IPOLB, 0x01, (x) => x.getBusPolarity() >> 8],
      ['setInterruptOnPin(9, 1)', (x) => x.setInterruptOnPin(9, 1), BANK0.GPINTENB, 0x01, (x) => x.getInterruptOnPin(9)],
      ['setInterruptOnPort(0, 0x81)', (x) => x.setInterruptOnPort(0, 0x81), BANK0.GPINTENA, 0x81, (x) => x.getInterruptOnPort(0)],
      ['setInterruptOnBus(0xff00)', (x) => x.setInterruptOnBus(0xff00), BANK0.GPINTENB, 0xff, (x) => x.getInterruptOnBus() >> 8],
      ['setInterruptType(1, 0x3c)', (x) => x.setInterruptType(1, 0x3c), BANK0.INTCONB, 0x3c, (x) => x.getInterruptType(1)],
      ['setInterruptDefaults(0, 0x5a)', (x) => x.setInterruptDefaults(0, 0x5a), BANK0.DEFVALA, 0x5a, (x) => x.getInterruptDefaults(0)],
      ['writePort(1, 0x99)', (x) => x.writePort(1, 0x99), BANK0.OLATB, 0x99, (x) => x.getOutputs() >> 8],
      ['writeBus(0xa55a)', (x) => x.writeBus(0xa55a), BANK0.OLATA, 0x5a, (x) => x.getOutputs() & 0xff],
      ['writePin(2, 1)', (x) => x.writePin(2, 1), BANK0.OLATA, 0x02, (x) => x.getOutputs() & 0xff],
      ['mirrorInterrupts(1)', (x) => x.mirrorInterrupts(1), BANK0.IOCONA, 0x40, (x) => x.getRegister('IOCON')],
      ['setInterruptPolarity(1)', (x) => x.setInterruptPolarity(1), BANK0.IOCONB, 0x02, (x) => x.getRegister('IOCON')],
      ['setInterruptOpenDrain(1)', (x) => x.setInterruptOpenDrain(1), BANK0.IOCONA, 0x04, (x) => x.getRegister('IOCON')],
    ];
    for (const [name, call, register, expected, getter] of cases) {
      it(`${name} sets the register and the getter agrees`, async () => {
        await call(d);
        assert.equal(reg(register), expected);
        assert.equal(getter(d), expected);
      });
    }

    it('IOCON options combine and keep BANK=0, SEQOP=0 (unlike the vendor quirks)', async () => {
      await d.setInterruptPolarity(0);
      await d.mirrorInterrupts(1);
      await d.setInterruptPolarity(1);
      assert.equal(reg(BANK0.IOCONA), 0x42, 'mirror kept when the polarity changes');
      await d.setInterruptOutput({ openDrain: true, mirror: false });
      assert.equal(reg(BANK0.IOCONA), 0x06);
      assert.deepEqual(d.getInterruptOutput(), { mirror: false, openDrain: true, activeHigh: true });
    });

    it('togglePin and toggleMasked invert relative to every earlier call', async () => {
      await d.writePort(0, 0x0f);
      await d.togglePin(1);
      assert.equal(reg(BANK0.OLATA), 0x0e);
      await d.toggleMasked(0x00f0);
      assert.equal(reg(BANK0.OLATA), 0xfe);
    });

    it('writeMasked changes only the masked bits', async () => {
      await d.writeBus(0xffff);
      await d.writeMasked(0x0ff0, 0x0000);
      assert.equal(reg(BANK0.OLATA), 0x0f);
      assert.equal(reg(BANK0.OLATB), 0xf0);
    });

    it('configurePins applies every field to the masked pins only', async () => {
      await d.configurePins({ mask: 0x0101, direction: 0xffff, pullup: 0xffff, invert: 0xffff, interruptEnable: 0xffff, interruptCompare: 0xffff, interruptDefault: 0xffff });
      for (const r of [BANK0.IODIRA, BANK0.GPPUA, BANK0.IPOLA, BANK0.GPINTENA, BANK0.INTCONA, BANK0.DEFVALA]) {
        assert.equal(reg(r) & 0x01, 0x01);
      }
      assert.equal(reg(BANK0.GPPUA), 0x01);
      assert.equal(reg(BANK0.GPPUB), 0x01);
    });

    it('readPin/readPort/readBus read GPIO with inversion applied', async () => {
      const chip = sim.chip(BUS, 0x20);
      await d.setBusPullups(0xffff);
      await d.invertPin(3, 1);
      chip.setInput(3, 0);
      chip.setInput(12, 0);
      assert.equal(await d.readPin(3), 1);
      assert.equal(await d.readPin(4), 1);
      assert.equal(await d.readPort(1), 0xf7);
      assert.equal(await d.readBus(), 0xf7ff);
    });

    it('interrupt status, capture and reset', async () => {
      const chip = sim.chip(BUS, 0x20);
      await d.setPortPullups(0, 0xff);
      await d.setInterruptOnPort(0, 0xff);
      chip.setInput(5, 0);
      assert.equal(await d.readInterruptStatus(0), 0x10);
      assert.equal(await d.readInterruptStatus(0), 0x10, 'INTF has no side effect');
      assert.equal(await d.readInterruptCapture(0), 0xef);
      assert.equal(reg(BANK0.INTFA), 0, 'capture read cleared the port');
      chip.setInput(5, null);
      assert.equal(reg(BANK0.INTFA), 0x10);
      await d.resetInterrupts();
      assert.equal(reg(BANK0.INTFA), 0);
    });
  });

  describe('validation before any bus traffic', () => {
    const bad: [string, (d: Mcp23017) => unknown, string][] = [
      ['pin 0', (d) => d.writePin(0, 1), 'pin'],
      ['pin 17', (d) => d.setPinDirection(17, 1), 'pin'],
      ['pin 1.5', (d) => d.setPinPullup(1.5, 1), 'pin'],
      ["pin '3'", (d) => d.invertPin('3' as unknown as number, 1), 'pin'],
      ['pin NaN', (d) => d.setInterruptOnPin(NaN, 1), 'pin'],
      ['value 2', (d) => d.writePin(1, 2), 'value'],
      ['value "1"', (d) => d.writePin(1, '1' as unknown as number), 'value'],
      ['port 2', (d) => d.writePort(2 as 0, 1), 'port'],
      ['port -1', (d) => d.setPortDirection(-1 as 0, 1), 'port'],
      ['port value 256', (d) => d.writePort(0, 256), 'value'],
      ['port value -1', (d) => d.setPortPullups(1, -1), 'value'],
      ['port value 1.5', (d) => d.setInterruptDefaults(0, 1.5), 'value'],
      ['bus value 65536', (d) => d.writeBus(65536), 'value'],
      ['bus value Infinity', (d) => d.setBusDirection(Infinity), 'value'],
      ['mask -1', (d) => d.writeMasked(-1, 0), 'mask'],
      ['mirror 2', (d) => d.mirrorInterrupts(2), 'value'],
      ['readPin 0', (d) => d.readPin(0), 'pin'],
      ['configurePins pullup 70000', (d) => d.configurePins({ mask: 1, pullup: 70000 }), 'pullup'],
    ];
    for (const [name, call, argument] of bad) {
      it(`${name}: ArgumentError naming "${argument}", nothing sent, nothing staged`, async () => {
        const d = make();
        await d.open();
        backend.clear();
        const before = Array.from({ length: 22 }, (_, i) => reg(i));
        const outputs = d.getOutputs();
        let thrown: unknown;
        try {
          const result = call(d);
          if (result instanceof Promise) await result;
        } catch (err) {
          thrown = err;
        }
        assert.ok(thrown instanceof ArgumentError, `expected an ArgumentError, got ${thrown}`);
        assert.equal(thrown.argument, argument);
        assert.match(thrown.message, new RegExp(`^${argument} must be `));
        await new Promise((r) => setTimeout(r, 5));
        assert.equal(backend.log.length, 0, 'no bus traffic');
        assert.deepEqual(Array.from({ length: 22 }, (_, i) => reg(i)), before);
        assert.equal(d.getOutputs(), outputs);
      });
    }

    it('validation happens synchronously (the call throws, not rejects)', () => {
      const d = make();
      assert.throws(() => d.writePin(99, 1), ArgumentError);
    });
  });

  describe('masked pin writes (never a read-modify-write of GPIO)', () => {
    it('writePin sends one write at OLAT and no read', async () => {
      const d = make();
      await d.open();
      backend.clear();
      await d.writePin(3, 1);
      assert.equal(backend.log.length, 1);
      assert.equal(backend.log[0].method, 'writeByte');
      assert.equal(backend.log[0].register, BANK0.OLATA);
      assert.deepEqual(backend.log[0].data, [0x04]);
    });

    it('does not clear a pending interrupt and does not copy input levels into OLAT', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0xff00, pullup: 0xffff, interruptEnable: 0xffff });
      await d.configurePins({ mask: 0x00ff, direction: 0 });
      chip.setInput(10, 0);
      assert.equal(reg(BANK0.INTFB), 0x02);
      await d.writePin(1, 1);
      await d.writePin(2, 1);
      assert.equal(reg(BANK0.INTFB), 0x02, 'interrupt still pending');
      assert.equal(reg(BANK0.OLATB), 0x00, 'input levels (0xFD) not copied into OLATB');
      assert.equal(reg(BANK0.OLATA), 0x03);
    });
  });

  describe('service()', () => {
    it('one 6-byte read from 0x0E; a press and release between two services are both known', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0x00ff, pullup: 0xffff, invert: 0xffff, interruptEnable: 0xffff });
      await d.service();
      const events: unknown[] = [];
      d.on('service', (r) => events.push(r));
      backend.clear();
      chip.setInput(3, 0); // press (inverted: reads 1)
      chip.setInput(3, null); // release
      const result = await d.service();
      assert.deepEqual(backend.log.map((t) => [t.method, t.register, t.length]), [['readI2cBlock', 0x0e, 6]]);
      assert.equal(result.ports[0].flags, 0x04);
      assert.equal(result.ports[0].captured & 0x04, 0x04, 'captured shows the press');
      assert.equal(result.ports[0].current & 0x04, 0x00, 'current shows the release');
      assert.equal(result.flags, 0x0004);
      assert.deepEqual(events, [result]);
      assert.equal(reg(BANK0.INTFA), 0, 'cleared');
    });

    it('readPort publishes the service read, so an input watcher sees the capture', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0xff00, pullup: 0xffff, interruptEnable: 0x0100 });
      const events: number[] = [];
      d.on('service', (r) => events.push(r.captured));
      chip.setInput(9, 0);
      chip.setInput(9, null);
      // Every pin of port B has its pull-up: no floating input (its level is undocumented, docs/mcp23017.md §6.2).
      assert.equal(await d.readPort(1), 0xff, 'pin 9 reads its pull-up again');
      assert.equal(events.length, 1);
      assert.equal(events[0] & 0x0100, 0, 'the captured press reached the listener');
    });
  });

  describe('verify()', () => {
    it('ok while the chip holds its configuration; reads nothing that clears interrupts', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0x0001, pullup: 1, interruptEnable: 1 });
      chip.setInput(1, 0);
      backend.clear();
      const result = await d.verify();
      assert.deepEqual(result, { ok: true, mismatches: [] });
      assert.ok(backend.log.every((t) => !t.data), 'reads only');
      assert.ok(backend.log.every((t) => t.register !== undefined && (t.register + (t.length ?? 1) <= 0x0e || t.register >= 0x14)), 'never INTCAP or GPIO');
      assert.equal(reg(BANK0.INTFA), 0x01, 'interrupt still pending');
    });

    it('after a power cycle: restores configuration and outputs and reports what was lost', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make(0x20, { interruptOutput: { mirror: true } });
      await d.open();
      await d.configurePins({ mask: 0x00ff, direction: 0, output: 0xa5 });
      await d.configurePins({ mask: 0xff00, pullup: 0xffff, interruptEnable: 0xffff });
      const restored: unknown[] = [];
      d.on('restored', (r) => restored.push(r));
      chip.powerCycle();
      assert.equal(reg(BANK0.IODIRA), 0xff);
      const result = await d.verify();
      assert.equal(result.ok, false);
      assert.ok(result.mismatches.some((m) => m.startsWith('IODIRA is 0xFF, expected 0x00')), result.mismatches.join('; '));
      assert.equal(restored.length, 1);
      assert.equal(reg(BANK0.IODIRA), 0x00);
      assert.equal(reg(BANK0.OLATA), 0xa5);
      assert.equal(reg(BANK0.GPPUB), 0xff);
      assert.equal(reg(BANK0.GPINTENB), 0xff);
      assert.equal(reg(BANK0.IOCONA), 0x40);
      assert.equal(chip.pinLevel(1), 1);
      assert.deepEqual(await d.verify(), { ok: true, mismatches: [] });
    });
  });

  describe('ordering, coalescing, concurrency', () => {
    it('latest value only: writes issued while the chip is busy coalesce into far fewer transactions, final OLAT right', async () => {
      const d = make();
      await d.open();
      backend.clear();
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) writes.push(d.writePin((i % 8) + 1, i % 3 === 0 ? 1 : 0, { latest: true }));
      await Promise.all(writes);
      const olatWrites = backend.writesAt(BANK0.OLATA).length;
      assert.ok(olatWrites <= 3, `100 writes became ${olatWrites} transactions`);
      let model = 0;
      for (let i = 0; i < 100; i++) {
        const bit = 1 << (i % 8);
        model = i % 3 === 0 ? model | bit : model & ~bit;
      }
      assert.equal(reg(BANK0.OLATA), model);
    });

    it('every state by default: on then off sent at once both reach the pin, in order', async () => {
      const d = make();
      await d.open();
      await d.setPinDirection(1, 0);
      backend.clear();
      const [on, off] = await Promise.all([d.writePin(1, 1), d.writePin(1, 0)]);
      assert.deepEqual([on & 1, off & 1], [1, 0], 'each call resolves with the latch it wrote');
      assert.deepEqual(backend.writesAt(BANK0.OLATA).map((t) => (t.data as number[])[0] & 1), [1, 0]);
    });

    it('every state by default, yet writes to different pins share one transaction while the chip is busy', async () => {
      const d = make();
      await d.open();
      await d.setPortDirection(0, 0);
      backend.clear();
      const writes: Promise<unknown>[] = [];
      // 8 pins on, then 8 pins off: two states per pin, two transactions in all.
      for (let i = 0; i < 16; i++) writes.push(d.writePin((i % 8) + 1, i < 8 ? 1 : 0));
      await Promise.all(writes);
      assert.deepEqual(backend.writesAt(BANK0.OLATA).map((t) => (t.data as number[])[0]), [0xff, 0x00]);
    });

    it('every state by default: a toggle after a write of the same pin is its own transaction; latest value only merges them', async () => {
      const d = make();
      await d.open();
      await d.setPinDirection(1, 0);
      backend.clear();
      await Promise.all([d.writePin(1, 1), d.togglePin(1)]);
      assert.deepEqual(backend.writesAt(BANK0.OLATA).map((t) => (t.data as number[])[0] & 1), [1, 0]);
      backend.clear();
      const busy = d.service();
      await Promise.all([busy, d.writePin(1, 1, { latest: true }), d.togglePin(1, { latest: true })]);
      assert.deepEqual(backend.writesAt(BANK0.OLATA).map((t) => (t.data as number[])[0] & 1), [0], 'one write, the last state');
    });

    it('a write queued before a read is not overtaken by later writes', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0x0003, direction: 0 });
      backend.clear();
      const w1 = d.writePin(1, 1);
      const read = d.readPort(0);
      const w2 = d.writePin(2, 1);
      const w3 = d.writePin(3, 1); // joins w2: nothing was queued in between
      await Promise.all([w1, read, w2, w3]);
      assert.deepEqual(
        backend.log.map((t) => (t.data ? `write ${t.register}=${t.data.join(',')}` : `read ${t.register}`)),
        [`write ${BANK0.OLATA}=1`, 'read 14', `write ${BANK0.OLATA}=7`],
      );
      assert.equal(chip.register(BANK0.OLATA), 0x07);
    });

    it('2,000 concurrent masked pin writes from many callers end with exactly the expected OLAT', async () => {
      const d = make();
      await d.open();
      await d.setBusDirection(0);
      let model = 0;
      let seed = 12345;
      const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      const callers: Promise<unknown>[] = [];
      for (let caller = 0; caller < 20; caller++) {
        callers.push((async () => {
          for (let i = 0; i < 100; i++) {
            const pin = 1 + Math.floor(random() * 16);
            const value = random() < 0.5 ? 1 : 0;
            const bit = 1 << (pin - 1);
            model = value ? model | bit : model & ~bit;
            const write = d.writePin(pin, value);
            if (i % 7 === 0) await write; // interleave callers
          }
        })());
      }
      await Promise.all(callers);
      await d.writeMasked(0, 0); // a last flush behind everything
      assert.equal(reg(BANK0.OLATA) | (reg(BANK0.OLATB) << 8), model);
      assert.equal(d.getOutputs(), model);
    });

    it('two chips on one bus share one transport and do not disturb each other', async () => {
      sim.chip(BUS, 0x21);
      const a = make(0x20);
      const b = make(0x21);
      assert.equal(a.transport, b.transport);
      await Promise.all([a.open(), b.open()]);
      await Promise.all([a.setPortDirection(0, 0), b.setPortDirection(0, 0)]);
      await Promise.all([a.writePort(0, 0x0f), b.writePort(0, 0xf0), a.writePin(9, 1), b.setPortPullups(1, 0x11)]);
      assert.equal(reg(BANK0.OLATA, 0x20), 0x0f);
      assert.equal(reg(BANK0.OLATA, 0x21), 0xf0);
      assert.equal(reg(BANK0.OLATB, 0x20), 0x01);
      assert.equal(reg(BANK0.OLATB, 0x21), 0x00);
      assert.equal(reg(BANK0.GPPUB, 0x21), 0x11);
      assert.equal(reg(BANK0.GPPUB, 0x20), 0x00);
    });
  });

  describe('failures', () => {
    it('a chip that vanishes: a write that cannot wait is rejected and never written; one that can is written on reopen', async () => {
      const d = make();
      await d.open();
      await d.setPortDirection(0, 0);
      const offline: unknown[] = [];
      d.on('offline', (e) => offline.push(e));
      sim.remove(BUS, 0x20);
      await assert.rejects(d.writePort(0, 0x3c, { waitMs: 0 }), { name: 'NotWrittenError', message: 'not written within 0 ms: no device at 0x20 on /dev/i2c-1 (Remote I/O error)' });
      assert.equal(d.state, 'offline');
      assert.equal(offline.length, 1);
      assert.equal(d.getOutputs() & 0xff, 0x00, 'the rejected write is not desired any more');
      const waits = d.writePin(8, 1, { waitMs: 60_000 });
      const chip = sim.chip(BUS, 0x20); // back, at power-on state
      await d.open();
      assert.equal(await waits, 0x80);
      assert.equal(chip.register(BANK0.IODIRA), 0x00);
      assert.equal(chip.register(BANK0.OLATA), 0x80, 'only the write that could wait');
    });
  });
});
