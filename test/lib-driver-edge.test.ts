/**
 * The chip driver under harder use than the basic register-effect tests: synchronous validation of
 * every entry point, chips left in odd states by other software, ordering of reads against queued
 * writes under random load, rebasing of inputs, every I2C failure shape through the driver, close,
 * INT output options as the simulated pins show them, two chips under interleaved load.
 */
import assert from 'node:assert/strict';
import {
  ArgumentError, BANK0, ChipOfflineError, I2cError, InputTracker, Mcp23017, NotWrittenError, Transport, type InputStep, type ServiceResult,
} from '../lib';
import * as sim from '../lib/simulator';
import { faultyBackend, i2cErrors, waitUntil, writesAt, type FaultyBackend } from './helpers/faulty-backend';
import { prng } from './helpers/prng';

const BUS = 1;

/** Appends a level unless it repeats the last one. */
function push(levels: number[], level: number): void {
  if (levels[levels.length - 1] !== level) levels.push(level);
}

/** Whether the chip's sequence ends with exactly the asked sequence (it may start with the level before the first ask). */
function sameTail(asked: number[], given: number[]): boolean {
  if (given.length < asked.length || given.length > asked.length + 1) return false;
  return asked.every((level, i) => given[given.length - asked.length + i] === level);
}

/** All 22 BANK=0 registers of a simulated chip. */
function registers(address = 0x20): number[] {
  const chip = sim.chip(BUS, address);
  return Array.from({ length: 22 }, (_, i) => chip.register(i));
}

/** Calls `fn`, which must throw an ArgumentError synchronously (not return a rejected promise). */
function throwsSync(fn: () => unknown, argument: string, message: RegExp): void {
  let thrown: unknown;
  let returned: unknown;
  try {
    returned = fn();
  } catch (err) {
    thrown = err;
  }
  if (returned instanceof Promise) returned.catch(() => undefined);
  assert.ok(thrown instanceof ArgumentError, `expected a synchronous ArgumentError, got ${returned instanceof Promise ? 'a promise' : String(thrown)}`);
  assert.equal(thrown.argument, argument);
  assert.match(thrown.message, message);
}

describe('lib: Mcp23017 driver, edge cases', () => {
  let backend: FaultyBackend;
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
    backend = faultyBackend();
    drivers = [];
  });
  afterEach(async () => {
    backend.release();
    for (const d of drivers) await d.close();
    assert.equal(Transport.openCount(), 0, 'every transport released');
  });

  describe('validation: every entry point throws synchronously, sends and stages nothing', () => {
    const pinRange = /^pin must be an integer from 1 to 16 \(got /;
    const portRange = /^port must be 0 or 1 \(got /;
    const byteRange = /^value must be an integer from 0 to 255 \(0xFF\) \(got /;
    const wordRange = (arg: string) => new RegExp(`^${arg} must be an integer from 0 to 65535 \\(0xFFFF\\) \\(got `);
    const bitRange = (arg: string) => new RegExp(`^${arg} must be 0, 1, true or false \\(got `);
    const bad: [string, (d: Mcp23017) => unknown, string, RegExp][] = [
      ['readPin(0)', (d) => d.readPin(0), 'pin', pinRange],
      ['readPin(17)', (d) => d.readPin(17), 'pin', pinRange],
      ['readPin(NaN)', (d) => d.readPin(NaN), 'pin', /\(got NaN\)$/],
      ['readPort(2)', (d) => d.readPort(2 as 0), 'port', portRange],
      ["readPort('0')", (d) => d.readPort('0' as unknown as 0), 'port', /\(got "0"\)$/],
      ['readInterruptCapture(2)', (d) => d.readInterruptCapture(2 as 0), 'port', portRange],
      ['readInterruptStatus(-1)', (d) => d.readInterruptStatus(-1 as 0), 'port', portRange],
      ['getPinDirection(0)', (d) => d.getPinDirection(0), 'pin', pinRange],
      ['getPortPullups(2)', (d) => d.getPortPullups(2 as 0), 'port', portRange],
      ['togglePin(17)', (d) => d.togglePin(17), 'pin', pinRange],
      ['toggleMasked(0x10000)', (d) => d.toggleMasked(0x10000), 'mask', wordRange('mask')],
      ['writeMasked(1, 65536)', (d) => d.writeMasked(1, 65536), 'value', wordRange('value')],
      ['writeMasked(1.5, 1)', (d) => d.writeMasked(1.5, 1), 'mask', wordRange('mask')],
      ['writePin(1, null)', (d) => d.writePin(1, null as unknown as 0), 'value', bitRange('value')],
      ['writePin(1, undefined)', (d) => d.writePin(1, undefined as unknown as 0), 'value', bitRange('value')],
      ["setPinDirection(1, 'input')", (d) => d.setPinDirection(1, 'input' as unknown as 0), 'value', bitRange('value')],
      ['invertPin(16, 2)', (d) => d.invertPin(16, 2), 'value', bitRange('value')],
      ['setInterruptType(2, 0)', (d) => d.setInterruptType(2 as 0, 0), 'port', portRange],
      ['setInterruptDefaults(1, 256)', (d) => d.setInterruptDefaults(1, 256), 'value', byteRange],
      ['setInterruptOnPort(0, -1)', (d) => d.setInterruptOnPort(0, -1), 'value', byteRange],
      ['setBusPullups(-1)', (d) => d.setBusPullups(-1), 'value', wordRange('value')],
      ['invertBus(65536)', (d) => d.invertBus(65536), 'value', wordRange('value')],
      ['setInterruptOnBus(0.5)', (d) => d.setInterruptOnBus(0.5), 'value', wordRange('value')],
      ["setInterruptPolarity('1')", (d) => d.setInterruptPolarity('1' as unknown as 1), 'value', bitRange('value')],
      ['setInterruptOpenDrain(2)', (d) => d.setInterruptOpenDrain(2), 'value', bitRange('value')],
      ["setInterruptOutput({ mirror: 'yes' })", (d) => d.setInterruptOutput({ mirror: 'yes' as unknown as boolean }), 'mirror', bitRange('mirror')],
      ['configurePins({ mask: 65536 })', (d) => d.configurePins({ mask: 65536, direction: 0 }), 'mask', wordRange('mask')],
      ['configurePins direction -1 (after a valid field)', (d) => d.configurePins({ mask: 0xff, pullup: 0xff, direction: -1 }), 'direction', wordRange('direction')],
      ['configurePins output 1.5', (d) => d.configurePins({ mask: 0xff, direction: 0, output: 1.5 }), 'output', wordRange('output')],
    ];
    for (const [name, call, argument, message] of bad) {
      it(name, async () => {
        const d = make();
        await d.open();
        const calls = backend.calls.length;
        const before = registers();
        const shadow = ['IODIR', 'IPOL', 'GPINTEN', 'DEFVAL', 'INTCON', 'GPPU', 'OLAT', 'IOCON'].map((r) => d.getRegister(r as 'IOCON'));
        throwsSync(() => call(d), argument, message);
        await new Promise((r) => setTimeout(r, 2));
        assert.equal(backend.calls.length, calls, 'no bus transaction');
        assert.deepEqual(registers(), before, 'chip untouched');
        assert.deepEqual(['IODIR', 'IPOL', 'GPINTEN', 'DEFVAL', 'INTCON', 'GPPU', 'OLAT', 'IOCON'].map((r) => d.getRegister(r as 'IOCON')), shadow, 'nothing staged');
      });
    }

    it('configurePins and setInterruptOutput without an object: ArgumentError, not a TypeError', async () => {
      const d = make();
      await d.open();
      const calls = backend.calls.length;
      throwsSync(() => d.configurePins(undefined as unknown as { mask: number }), 'settings', /^settings must be an object \(got undefined\)$/);
      throwsSync(() => d.setInterruptOutput(null as unknown as { mirror: boolean }), 'options', /^options must be an object \(got null\)$/);
      assert.equal(backend.calls.length, calls);
    });

    it('the constructor checks the INT output options like setInterruptOutput does', () => {
      assert.throws(() => new Mcp23017({ busNumber: BUS, address: 0x20, backend, interruptOutput: { mirror: 'yes' as unknown as boolean } }),
        (err: unknown) => err instanceof ArgumentError && err.argument === 'interruptOutput.mirror');
      assert.equal(Transport.openCount(), 0, 'no transport acquired');
      const d = make(0x20, { interruptOutput: { activeHigh: true, openDrain: false } });
      assert.deepEqual(d.getInterruptOutput(), { mirror: false, openDrain: false, activeHigh: true });
    });

    it('the constructor checks bus number and address before it takes a transport', () => {
      assert.throws(() => new Mcp23017({ busNumber: BUS, address: 0x28, backend }), (err: unknown) => err instanceof ArgumentError
        && err.argument === 'address' && /^address must be an integer from 0x20 to 0x27 \(got 40\)$/.test(err.message));
      assert.throws(() => new Mcp23017({ busNumber: -1, address: 0x20, backend }), { name: 'ArgumentError', message: /^busNumber must be/ });
      assert.throws(() => new Mcp23017({ busNumber: '1' as unknown as number, address: 0x20, backend }), { name: 'ArgumentError' });
      assert.equal(Transport.openCount(), 0, 'no transport acquired');
      assert.equal(backend.opens, 0);
    });
  });

  describe('getters', () => {
    it('return the staged values at once, before open and before any flush', () => {
      const d = make();
      void d.setPinDirection(3, 0);
      void d.setPortPullups(1, 0x81);
      void d.invertBus(0x8001);
      void d.setInterruptOnPin(16, true);
      void d.setInterruptType(0, 0x0f);
      void d.setInterruptDefaults(1, 0xf0);
      void d.writePort(0, 0x5a);
      void d.togglePin(9);
      void d.mirrorInterrupts(1);
      void d.setInterruptOpenDrain(true);
      assert.equal(d.getPinDirection(3), 0);
      assert.equal(d.getPinDirection(4), 1);
      assert.equal(d.getPortDirection(0), 0xfb);
      assert.equal(d.getBusDirection(), 0xfffb);
      assert.equal(d.getPinPullup(16), 1);
      assert.equal(d.getBusPullups(), 0x8100);
      assert.equal(d.getPinPolarity(1), 1);
      assert.equal(d.getPortPolarity(1), 0x80);
      assert.equal(d.getInterruptOnPin(16), 1);
      assert.equal(d.getInterruptOnBus(), 0x8000);
      assert.equal(d.getInterruptType(0), 0x0f);
      assert.equal(d.getInterruptDefaults(1), 0xf0);
      assert.equal(d.getOutputs(), 0x015a);
      assert.deepEqual(d.getInterruptOutput(), { mirror: true, openDrain: true, activeHigh: false });
      assert.equal(d.getInterruptPolarity(), 0);
      assert.equal(d.getRegister('IOCON'), 0x44);
      assert.equal(backend.calls.length, 0, 'nothing sent before open()');
    });
  });

  describe('open() on chips that other software left in odd states', () => {
    it('a chip in BANK=1 (IOCON 0xE4, as the mcp-pcf-aio packages leave it): every register ends where BANK=0 says', async () => {
      const chip = sim.chip(BUS, 0x20);
      chip.writeMessage([0x0a, 0xe4]);
      chip.writeMessage([0x0a, 0x3c]); // BANK=1 OLATA: an output latch the other software left
      chip.writeMessage([0x1a, 0xc3]); // BANK=1 OLATB
      const d = make();
      void d.configurePins({ mask: 0x00ff, direction: 0x0f, pullup: 0xf0, invert: 0x30 });
      void d.configurePins({ mask: 0xff00, interruptEnable: 0xff00, interruptCompare: 0x0f00, interruptDefault: 0x0500, pullup: 0xff00 });
      await d.open();
      assert.deepEqual(registers().map((v, i) => (i >= 0x0e && i <= 0x13 ? null : v)), [
        0x0f, 0xff, 0x30, 0x00, 0x00, 0xff, 0x00, 0x05, 0x00, 0x0f, 0x00, 0x00, 0xf0, 0xff,
        null, null, null, null, null, null, // INTF, INTCAP, GPIO: not configuration
        0x3c, 0xc3, // the latch nobody set here is adopted, read at its BANK=0 address after the recovery
      ]);
      assert.deepEqual(await d.verify(), { ok: true, mismatches: [] });
    });

    it('a chip in byte mode (IOCON 0x22, as older AB libraries leave it) is switched to sequential mode, so the 6-byte service read is right', async () => {
      const chip = sim.chip(BUS, 0x20);
      chip.writeMessage([0x0a, 0x22]);
      const d = make();
      void d.configurePins({ mask: 0xffff, pullup: 0xffff, interruptEnable: 0xffff });
      await d.open();
      assert.equal(reg(BANK0.IOCONA), 0x00, 'SEQOP=0 and INTPOL as configured');
      chip.setInput(12, 0);
      const result = await d.service();
      assert.equal(result.ports[1].flags, 0x08);
      assert.equal(result.ports[1].captured, 0xf7);
      assert.equal(result.ports[1].current, 0xf7);
      assert.equal(result.ports[0].current, 0xff);
      assert.equal(result.ports[0].flags, 0x00);
    });

    it('adopts the chip latch only at the first open: a reopen writes the outputs we hold', async () => {
      const chip = sim.chip(BUS, 0x20);
      chip.writeMessage([BANK0.OLATA, 0xf0]);
      const d = make();
      await d.open();
      assert.equal(d.getOutputs(), 0x00f0, 'adopted');
      chip.writeMessage([BANK0.OLATA, 0x0f]); // someone else scribbles on the latch
      await d.open();
      assert.equal(reg(BANK0.OLATA), 0xf0, 'our outputs win after the first open');
      assert.equal(d.getOutputs(), 0x00f0);
    });

    it('a chip that another program switched to BANK=1 while we run is found by verify() and recovered', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0x00ff, direction: 0, output: 0x99 });
      chip.writeMessage([0x0a, 0xe4]);
      const restored: unknown[] = [];
      d.on('restored', (r) => restored.push(r));
      const result = await d.verify();
      assert.equal(result.ok, false);
      assert.equal(restored.length, 1);
      assert.equal(reg(BANK0.IOCONA), 0x00);
      assert.equal(reg(BANK0.IODIRA), 0x00);
      assert.equal(reg(BANK0.OLATA), 0x99);
      assert.deepEqual(await d.verify(), { ok: true, mismatches: [] });
    });
  });

  describe('verify()', () => {
    it('is exactly two side-effect-free reads: a pending interrupt keeps its INTF and INTCAP', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0x0300, pullup: 0xffff, interruptEnable: 0xffff });
      await d.service();
      chip.setInput(10, 0); // latches INTFB=0x02, INTCAPB=0x01
      chip.setInput(10, null); // released again: only INTCAP remembers the press
      const calls = backend.calls.length;
      assert.deepEqual(await d.verify(), { ok: true, mismatches: [] });
      assert.deepEqual(backend.calls.slice(calls).map((c) => [c.method, c.register, c.length]), [
        ['readI2cBlock', 0x00, 14], ['readI2cBlock', BANK0.OLATA, 2],
      ]);
      assert.equal(reg(BANK0.INTFB), 0x02);
      assert.equal(reg(BANK0.INTCAPB), 0x01);
      const result = await d.service();
      assert.equal(result.ports[1].flags, 0x02, 'the press is still there for the service read');
      assert.equal(result.ports[1].captured, 0x01);
      assert.equal(result.ports[1].current, 0x03);
    });

    it('rejects with the I2C error when the chip is gone, and takes the driver offline', async () => {
      const d = make();
      await d.open();
      sim.remove(BUS, 0x20);
      await assert.rejects(d.verify(), { name: 'I2cError', message: 'no device at 0x20 on /dev/i2c-1 (Remote I/O error)' });
      assert.equal(d.state, 'offline');
      const calls = backend.calls.length;
      await assert.rejects(d.verify(), { name: 'I2cError' });
      assert.equal(backend.calls.length, calls, 'offline: fails fast without traffic');
    });
  });

  describe('service() and the reads built on it', () => {
    it('readPin, readPort, readBus, readInterruptCapture and resetInterrupts each publish exactly one service read', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0xffff, pullup: 0xffff, interruptEnable: 0xffff });
      await d.service();
      const seen: ServiceResult[] = [];
      d.on('service', (r) => seen.push(r));
      const calls = backend.calls.length;
      chip.setInput(1, 0);
      assert.equal(await d.readPin(1), 0);
      chip.setInput(2, 0);
      assert.equal(await d.readPort(0), 0xfc);
      chip.setInput(9, 0);
      assert.equal(await d.readBus(), 0xfefc);
      chip.setInput(10, 0);
      assert.equal(await d.readInterruptCapture(1), 0xfc);
      chip.setInput(16, 0);
      await d.resetInterrupts();
      assert.equal(seen.length, 5);
      assert.deepEqual(seen.map((r) => r.flags), [0x0001, 0x0002, 0x0100, 0x0200, 0x8000]);
      assert.ok(backend.calls.slice(calls).every((c) => c.method === 'readI2cBlock' && c.register === 0x0e && c.length === 6));
      assert.equal(reg(BANK0.INTFA) | reg(BANK0.INTFB), 0, 'all cleared');
    });

    it('readInterruptStatus reads INTF only: the interrupt stays pending and no service is published', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0x8000, pullup: 0xffff, interruptEnable: 0xffff });
      let services = 0;
      d.on('service', () => services++);
      chip.setInput(16, 0);
      const calls = backend.calls.length;
      assert.equal(await d.readInterruptStatus(1), 0x80);
      assert.equal(await d.readInterruptStatus(0), 0x00);
      assert.deepEqual(backend.calls.slice(calls).map((c) => [c.method, c.register]), [['readByte', BANK0.INTFB], ['readByte', BANK0.INTFA]]);
      assert.equal(services, 0);
      assert.equal(reg(BANK0.INTFB), 0x80);
    });

    it('a direction change staged while a service read is queued is a baseline for the read after the write, not an input change', async () => {
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0x0001, pullup: 1 }); // pin 1: input, pull-up: reads 1; its latch is 0
      const tracker = new InputTracker();
      const steps: InputStep[] = [];
      d.on('service', (r) => steps.push(...tracker.update(r)));
      await d.service(); // baseline
      const read = d.service(); // queued first: reads pin 1 as an input
      const write = d.setPinDirection(1, 0); // then pin 1 becomes an output, reading its latch (0)
      await Promise.all([read, write]);
      assert.equal(reg(BANK0.IODIRA) & 1, 0);
      await d.service();
      assert.equal(tracker.value! & 1, 0, 'the tracker follows the pin');
      assert.deepEqual(steps, [], 'a direction change is no input change');
    });

    it('a polarity change is a baseline too, whenever the next read comes', async () => {
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0x0100, pullup: 0x0100 });
      const tracker = new InputTracker();
      const steps: InputStep[] = [];
      d.on('service', (r) => steps.push(...tracker.update(r)));
      await d.service();
      await d.invertPin(9, 1);
      await d.service();
      assert.equal((tracker.value! >> 8) & 1, 0);
      assert.deepEqual(steps, []);
    });
  });

  describe('ordering under load', () => {
    for (const latest of [false, true]) {
    it(`every read sees exactly the writes called before it (1,000 random writes, toggles, reads and verifies, no awaits; ${latest ? 'latest value only' : 'every state'})`, async () => {
      const d = make();
      const opts = { latest };
      /** Per pin, the levels asked for, in order (consecutive repeats dropped). */
      const asked: number[][] = Array.from({ length: 16 }, () => []);
      const ask = (mask: number, next: number) => {
        for (let p = 0; p < 16; p++) if (mask & (1 << p)) push(asked[p], (next >> p) & 1);
      };
      await d.open();
      await d.setBusDirection(0x0000); // all outputs: GPIO reads back the latch
      await d.writeBus(0);
      const random = prng(2024);
      let model = 0;
      const checks: Promise<unknown>[] = [];
      for (let i = 0; i < 1000; i++) {
        const r = random();
        if (r < 0.35) {
          const pin = 1 + Math.floor(random() * 16);
          const value = random() < 0.5 ? 0 : 1;
          model = value ? model | (1 << (pin - 1)) : model & ~(1 << (pin - 1));
          ask(1 << (pin - 1), model);
          checks.push(d.writePin(pin, value, opts));
        } else if (r < 0.5) {
          const mask = Math.floor(random() * 0x10000);
          const value = Math.floor(random() * 0x10000);
          model = (model & ~mask) | (value & mask);
          ask(mask, model);
          checks.push(d.writeMasked(mask, value, opts));
        } else if (r < 0.6) {
          const mask = Math.floor(random() * 0x10000);
          model ^= mask;
          ask(mask, model);
          checks.push(d.toggleMasked(mask, opts));
        } else if (r < 0.65) {
          const port = random() < 0.5 ? 0 : 1;
          const value = Math.floor(random() * 256);
          model = port === 0 ? (model & 0xff00) | value : (model & 0x00ff) | (value << 8);
          ask(port === 0 ? 0x00ff : 0xff00, model);
          checks.push(d.writePort(port, value, opts));
        } else if (r < 0.9) {
          const expected = model;
          checks.push(d.readBus().then((v) => assert.equal(v, expected, `read #${i}`)));
        } else if (r < 0.95) {
          const expected = (model >> 8) & 0xff;
          checks.push(d.readPort(1).then((v) => assert.equal(v, expected, `readPort #${i}`)));
        } else {
          checks.push(d.verify().then((v) => assert.equal(v.ok, true, v.mismatches.join('; '))));
        }
        assert.equal(d.getOutputs(), model, 'the shadow follows every call at once');
        if (i % 97 === 0) await checks[checks.length - 1];
      }
      await Promise.all(checks);
      assert.equal(reg(BANK0.OLATA) | (reg(BANK0.OLATB) << 8), model);
      // What the chip was given, pin by pin, from the OLAT writes (consecutive repeats dropped).
      const given: number[][] = Array.from({ length: 16 }, () => []);
      for (const c of backend.calls) {
        if (c.data === undefined || c.register === undefined) continue;
        c.data.forEach((byte, i) => {
          const at = (c.register as number) + i;
          if (at !== BANK0.OLATA && at !== BANK0.OLATB) return;
          for (let bit = 0; bit < 8; bit++) push(given[(at - BANK0.OLATA) * 8 + bit], (byte >> bit) & 1);
        });
      }
      const skipped = asked.filter((levels, p) => !sameTail(levels, given[p])).length;
      if (latest) {
        const reads = backend.calls.filter((c) => c.register === 0x0e).length;
        const olatWrites = writesAt(backend.calls, BANK0.OLATA).length;
        assert.ok(olatWrites <= reads + 20, `writes between two reads coalesce (${olatWrites} OLAT writes, ${reads} reads)`);
        assert.ok(skipped > 0, 'latest value only: some states were skipped (this run has bursts)');
      } else {
        assert.equal(skipped, 0, 'every state asked for reached the chip, in order, on every pin');
      }
    });
    }

    it('a restore by verify() with writes and a read queued behind it: the read sees its writes, the chip ends with the last', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.setBusDirection(0);
      chip.powerCycle();
      const restored = d.verify();
      const w1 = d.writePin(1, 1);
      const read = d.readBus(); // queued behind w1's flush
      const w2 = d.writePin(2, 1); // queued behind the read
      const [result, , value] = await Promise.all([restored, w1, read, w2]);
      assert.equal(result.ok, false, 'the power cycle was found');
      assert.equal(value, 0x0001, 'the read saw the write called before it');
      assert.equal(reg(BANK0.OLATA), 0x03, 'and the chip ends with every write');
      assert.deepEqual(await d.verify(), { ok: true, mismatches: [] });
    });

    it('a reopen with writes and a read queued behind it: the chip ends with the last write', async () => {
      const d = make();
      await d.open();
      await d.setBusDirection(0);
      sim.remove(BUS, 0x20);
      // Cannot wait: given up, and never written (the chip ends without pin 8).
      await assert.rejects(d.writePin(8, 1, { waitMs: 0 }), (err: unknown) => err instanceof NotWrittenError && err.kind === 'absent');
      sim.chip(BUS, 0x20);
      const opened = d.open();
      const w1 = d.writePin(1, 1);
      const read = d.readBus();
      const w2 = d.writePin(2, 1);
      const [, , value] = await Promise.all([opened, w1, read, w2]);
      assert.equal(value & 0x0001, 0x0001);
      assert.equal(reg(BANK0.OLATA), 0x03, 'the chip ends with every write that was not given up');
      assert.deepEqual(await d.verify(), { ok: true, mismatches: [] });
    });

    it('latest value only: while the chip is busy, 200 pin writes from many callers become one OLAT write, queued after the busy job', async () => {
      const d = make();
      await d.open();
      await d.setBusDirection(0);
      backend.hold();
      const busy = d.service();
      await new Promise((r) => setImmediate(r));
      assert.equal(backend.waiting, 1, 'the service read is on the bus');
      const writes: Promise<unknown>[] = [];
      const random = prng(7);
      let model = d.getOutputs();
      for (let i = 0; i < 200; i++) {
        const pin = 1 + Math.floor(random() * 16);
        const value = random() < 0.5 ? 0 : 1;
        model = value ? model | (1 << (pin - 1)) : model & ~(1 << (pin - 1));
        writes.push(d.writePin(pin, value, { latest: true }));
      }
      const calls = backend.calls.length;
      backend.release();
      await Promise.all([busy, ...writes]);
      const after = backend.calls.slice(calls);
      assert.equal(after.length, 1, 'one transaction for 200 calls');
      assert.deepEqual(after[0], { method: 'writeI2cBlock', address: 0x20, register: BANK0.OLATA, data: [model & 0xff, model >> 8] });
      assert.equal(reg(BANK0.OLATA) | (reg(BANK0.OLATB) << 8), model);
    });

    it('configuration changes coalesce too, OLAT first and GPINTEN last in the flush', async () => {
      const d = make();
      await d.open();
      backend.hold();
      const busy = d.service();
      await new Promise((r) => setImmediate(r));
      const all = [
        d.setInterruptOnPin(1, 1), d.setPinDirection(2, 0), d.setPinPullup(1, 1), d.writePin(2, 1),
        d.setInterruptType(0, 0x01), d.setInterruptDefaults(0, 0x01), d.invertPin(1, 1),
      ];
      const calls = backend.calls.length;
      backend.release();
      await Promise.all([busy, ...all]);
      const writes = backend.calls.slice(calls);
      assert.equal(writes[0].register, BANK0.OLATA, 'OLAT first');
      assert.equal(writes[writes.length - 1].register, BANK0.GPINTENA, 'GPINTEN last');
      // 7 calls, 7 different bytes, none adjacent: each byte written exactly once.
      for (const r of [BANK0.OLATA, BANK0.IODIRA, BANK0.IPOLA, BANK0.DEFVALA, BANK0.INTCONA, BANK0.GPPUA, BANK0.GPINTENA]) {
        assert.equal(writesAt(writes, r).length, 1, `one write of 0x${r.toString(16)}`);
      }
      assert.equal(writes.length, 7);
      assert.equal(reg(BANK0.IODIRA), 0xfd);
      assert.equal(reg(BANK0.IPOLA), 0x01);
      assert.equal(reg(BANK0.GPINTENA), 0x01);
      assert.equal(reg(BANK0.DEFVALA), 0x01);
      assert.equal(reg(BANK0.INTCONA), 0x01);
      assert.equal(reg(BANK0.GPPUA), 0x01);
      assert.equal(reg(BANK0.OLATA), 0x02);
    });
  });

  describe('I2C failures through the driver', () => {
    it('one EIO on a write is retried in place: the write lands, the chip stays online, the retry is counted', async () => {
      const d = make();
      await d.open();
      const offline: unknown[] = [];
      d.on('offline', (e) => offline.push(e));
      const retries: unknown[] = [];
      d.transport.on('retry', (e) => retries.push(e));
      backend.failNext(i2cErrors.eio());
      assert.equal(await d.writePin(1, 1), 0x0001);
      assert.equal(reg(BANK0.OLATA), 0x01);
      assert.equal(d.state, 'online');
      assert.equal(offline.length, 0);
      assert.deepEqual(retries, [{ address: 0x20, what: 'writing OLATA', kind: 'io', attempt: 1, reopened: false }]);
      assert.equal(d.transport.stats.retries, 1);
    });

    it('an EIO that persists through the retries: offline, the write waits and is written by the reopen (in its wait time)', async () => {
      const d = make();
      await d.open();
      const offline: I2cError[] = [];
      d.on('offline', (e) => offline.push(e));
      for (let i = 0; i < 4; i++) backend.failNext(i2cErrors.eio());
      const first = d.writePin(1, 1, { waitMs: 60_000 });
      await waitUntil(() => d.state === 'offline', 2000, 'offline');
      assert.equal(offline.length, 1);
      assert.equal(offline[0].kind, 'io');
      assert.equal(offline[0].errno, 5);
      assert.equal(offline[0].message, 'I2C I/O error at 0x20 on /dev/i2c-1 while writing OLATA');
      const calls = backend.calls.length;
      const second = d.writePin(2, 1, { waitMs: 60_000 });
      await assert.rejects(d.readBus(), { name: 'I2cError', message: /I\/O error/ });
      assert.equal(backend.calls.length, calls, 'nothing sent while offline');
      assert.equal(offline.length, 1, 'one offline event');
      await d.open();
      assert.deepEqual(await Promise.all([first, second]), [0x03, 0x03], 'both written by the reopen, in order');
      assert.equal(d.state, 'online');
      assert.equal(d.error, undefined);
      assert.equal(reg(BANK0.OLATA), 0x03);
    });

    it('ETIMEDOUT on the service read: the bus is reopened and the read retried once; a second timeout is the caller\'s', async () => {
      const d = make();
      await d.open();
      const opens = backend.opens;
      backend.failNext(i2cErrors.timeout(), 'readI2cBlock');
      assert.equal(await d.readPin(3), 0, 'retried on a reopened bus');
      assert.equal(backend.opens, opens + 1, 'reopened once');
      assert.equal(backend.closes, 1, 'the old handle was closed');
      backend.failNext(i2cErrors.timeout(), 'readI2cBlock');
      backend.failNext(i2cErrors.timeout(), 'readI2cBlock');
      await assert.rejects(d.readPin(3), { name: 'I2cError', message: 'I2C timeout at 0x20 on /dev/i2c-1 while reading INTFA' });
      assert.equal(d.error?.kind, 'timeout');
    });

    it('a NACK in the fs shape (EREMOTEIO, errno -121) is "absent" like the SMBus shape; from a chip that answered before it is retried first', async () => {
      const d = make();
      await d.open();
      backend.failNext(i2cErrors.fsNack());
      assert.equal(await d.writePort(1, 1), 0x0100, 'one NACK from a chip that answered: retried');
      for (let i = 0; i < 4; i++) backend.failNext(i2cErrors.fsNack());
      await assert.rejects(d.writePort(1, 2, { waitMs: 0 }), (err: unknown) => err instanceof NotWrittenError && err.kind === 'absent'
        && err.cause instanceof I2cError && err.cause.errno === 121
        && err.message === 'not written within 0 ms: no device at 0x20 on /dev/i2c-1 (Remote I/O error)');
      assert.equal(reg(BANK0.OLATB), 0x01, 'the given-up write is not on the chip');
    });

    it('no bus (ENOENT) and no permission (EACCES) at open', async () => {
      const d = make();
      backend.failOpen(i2cErrors.noBus(BUS));
      await assert.rejects(d.open(), (err: unknown) => err instanceof I2cError && err.kind === 'no-bus'
        && err.message === 'no I2C bus /dev/i2c-1 (enable I2C, e.g. with raspi-config)');
      backend.failOpen(i2cErrors.access(BUS));
      await assert.rejects(d.open(), (err: unknown) => err instanceof I2cError && err.kind === 'permission'
        && err.message === 'permission denied on /dev/i2c-1 (add the user to the i2c group)');
      await d.open();
      assert.equal(d.state, 'online', 'the bus opens once the problem is gone');
      assert.equal(backend.opens, 3);
    });

    it('writes waiting for a vanished chip: those still in their wait time are written in order when it is back, one offline event', async () => {
      const d = make();
      await d.open();
      const offline: unknown[] = [];
      d.on('offline', (e) => offline.push(e));
      sim.remove(BUS, 0x20);
      const long = { waitMs: 60_000 };
      const results = [d.writePin(1, 1, long), d.writePin(2, 1, long), d.writePort(1, 0xff, long), d.setPinPullup(3, 1)];
      await waitUntil(() => d.state === 'offline', 2000, 'offline');
      assert.equal(offline.length, 1);
      const chip = sim.chip(BUS, 0x20);
      await d.open();
      await Promise.all(results);
      assert.equal(chip.register(BANK0.OLATA), 0x03);
      assert.equal(chip.register(BANK0.OLATB), 0xff);
      assert.equal(chip.register(BANK0.GPPUA), 0x04);
    });
  });

  describe('close()', () => {
    it('queued writes land before the bus is released; later calls reject without traffic', async () => {
      const d = make();
      await d.open();
      await d.setBusDirection(0);
      const w = d.writeBus(0x1234);
      await d.close();
      await w;
      assert.equal(reg(BANK0.OLATA) | (reg(BANK0.OLATB) << 8), 0x1234);
      assert.equal(d.state, 'closed');
      assert.equal(backend.closes, 1, 'the last chip on the bus closed it');
      const calls = backend.calls.length;
      await assert.rejects(d.writePin(1, 0), ChipOfflineError);
      await assert.rejects(d.open(), ChipOfflineError);
      assert.equal(backend.calls.length, calls);
      assert.equal(d.getOutputs(), 0x1234, 'nothing staged after close');
    });

    it('changes staged before an open that never comes are rejected by close()', async () => {
      const d = make();
      const staged = d.writePin(1, 1);
      await d.close();
      await assert.rejects(staged, { name: 'NotWrittenError', message: 'not written: 0x20 on /dev/i2c-1 was closed first' });
      assert.equal(backend.calls.length, 0);
      assert.equal(backend.opens, 0, 'the bus was never opened');
    });

    it('one chip closing leaves the shared bus open for the other', async () => {
      sim.chip(BUS, 0x21);
      const a = make(0x20);
      const b = make(0x21);
      await a.open();
      await b.open();
      await a.close();
      assert.equal(backend.closes, 0);
      await b.writePort(0, 0x01);
      assert.equal(reg(BANK0.OLATA, 0x21), 0x01);
      await b.close();
      assert.equal(backend.closes, 1);
    });
  });

  describe('INT output options as the simulated INT pins show them', () => {
    it('push-pull active-low by default; active-high; open-drain; mirror', async () => {
      const chip = sim.chip(BUS, 0x20);
      const d = make();
      await d.open();
      await d.configurePins({ mask: 0x0101, pullup: 0xffff, interruptEnable: 0xffff });
      assert.equal(chip.interruptOutput('A'), 1, 'idle high (active-low)');
      chip.setInput(9, 0);
      assert.equal(chip.interruptOutput('B'), 0, 'port B pending: INTB low');
      assert.equal(chip.interruptOutput('A'), 1, 'INTA not mirrored');
      await d.setInterruptPolarity(1);
      assert.equal(reg(BANK0.IOCONA), 0x02);
      assert.equal(chip.interruptOutput('B'), 1, 'active-high');
      assert.equal(chip.interruptOutput('A'), 0, 'idle low');
      await d.mirrorInterrupts(true);
      assert.equal(chip.interruptOutput('A'), 1, 'mirrored: INTA shows port B');
      await d.setInterruptOpenDrain(1);
      assert.equal(reg(BANK0.IOCONA), 0x46);
      assert.equal(chip.interruptOutput('A'), 0, 'open-drain pulls low when active, whatever INTPOL');
      await d.resetInterrupts();
      assert.equal(chip.interruptOutput('A'), null, 'open-drain idle: high impedance');
      assert.equal(chip.interruptOutput('B'), null);
      await d.setInterruptOutput({ mirror: false, openDrain: false, activeHigh: false });
      assert.equal(reg(BANK0.IOCONA), 0x00);
      assert.equal(reg(BANK0.IOCONB), 0x00);
    });
  });

  describe('two chips on one bus', () => {
    it('interleaved random writes and reads on 0x20 and 0x21 end with each chip exactly as its own calls say', async () => {
      sim.chip(BUS, 0x21);
      const chips = [make(0x20), make(0x21)];
      await Promise.all(chips.map((c) => c.open()));
      await Promise.all(chips.map((c) => c.setBusDirection(0)));
      const models = [0, 0];
      const random = prng(99);
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 600; i++) {
        const which = random() < 0.5 ? 0 : 1;
        const d = chips[which];
        const r = random();
        if (r < 0.6) {
          const pin = 1 + Math.floor(random() * 16);
          const value = random() < 0.5 ? 0 : 1;
          models[which] = value ? models[which] | (1 << (pin - 1)) : models[which] & ~(1 << (pin - 1));
          ops.push(d.writePin(pin, value));
        } else if (r < 0.8) {
          const mask = Math.floor(random() * 0x10000);
          models[which] ^= mask;
          ops.push(d.toggleMasked(mask));
        } else {
          const expected = models[which];
          ops.push(d.readBus().then((v) => assert.equal(v, expected, `chip ${which} read #${i}`)));
        }
      }
      await Promise.all(ops);
      for (const [i, address] of [0x20, 0x21].entries()) {
        assert.equal(reg(BANK0.OLATA, address) | (reg(BANK0.OLATB, address) << 8), models[i], `chip ${address.toString(16)}`);
      }
    });

    it("servicing one chip leaves the other chip's pending interrupt alone", async () => {
      const c20 = sim.chip(BUS, 0x20);
      const c21 = sim.chip(BUS, 0x21);
      const a = make(0x20);
      const b = make(0x21);
      await Promise.all([a.open(), b.open()]);
      await Promise.all([
        a.configurePins({ mask: 0x0001, pullup: 1, interruptEnable: 1 }),
        b.configurePins({ mask: 0x0001, pullup: 1, interruptEnable: 1 }),
      ]);
      c20.setInput(1, 0);
      c21.setInput(1, 0);
      const result = await a.service();
      assert.equal(result.flags, 0x0001);
      assert.equal(c20.register(BANK0.INTFA), 0);
      assert.equal(c21.register(BANK0.INTFA), 0x01, '0x21 still pending');
      assert.equal((await b.service()).flags, 0x0001);
    });
  });
});
