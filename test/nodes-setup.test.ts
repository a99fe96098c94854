/**
 * iopi-setup on the simulated chip: the vendor tutorial 3 configuration, message overrides, the
 * register values it sends, bad payloads, applyOnDeploy, and the whole tutorial 3 flow across two chips.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import assert from 'node:assert/strict';
import {
  BANK0, chipNode, collect, helper, inNode, lastStatus, load, online, outNode, pinEntry, reg16, registers, send,
  setupNode, sim, sleep, useNodeHelper, waitFor,
} from './helpers/nodes';

const chip = () => sim.chip(1, 0x20);
const TUTORIAL_PIN = { use: true, dir: 'in', pullup: true, invert: true, int: true, intType: 'compare', defval: 0 };
const tutorialConfig = () => Array.from({ length: 16 }, (_, i) => (i < 8 ? { ...TUTORIAL_PIN } : pinEntry()));
/** Power-on values of the 22 BANK=0 registers: IODIR 0xFF, everything else 0. */
const POWER_ON = Array.from({ length: 22 }, (_, i) => (i < 2 ? 0xff : 0));

async function loadSetup(over: Record<string, unknown>, extra: any[] = []) {
  await load([chipNode(), setupNode(over), ...extra], { completeScope: ['setup1'] });
  const completes = collect('completes');
  const errors = collect('errors');
  const out = collect('out');
  await online();
  return { completes, errors, out };
}

describe('iopi-setup', function () {
  this.timeout(20000);
  useNodeHelper();

  it('tutorial 3 (pins 1-8 in, pull-up, inverted, interrupt, compare with 0) gives exactly the tutorial registers', async () => {
    await loadSetup({ pinConfig: tutorialConfig() });
    const c = chip();
    assert.equal(c.register(BANK0.GPPUA), 0xff, 'GPPUA');
    assert.equal(c.register(BANK0.IODIRA), 0xff, 'IODIRA');
    assert.equal(c.register(BANK0.IPOLA), 0xff, 'IPOLA');
    assert.equal(c.register(BANK0.DEFVALA), 0x00, 'DEFVALA');
    assert.equal(c.register(BANK0.INTCONA), 0xff, 'INTCONA');
    assert.equal(c.register(BANK0.GPINTENA), 0xff, 'GPINTENA');
    // port B left at power-on
    for (const r of ['IODIRB', 'IPOLB', 'GPINTENB', 'DEFVALB', 'INTCONB', 'GPPUB', 'OLATB'] as const) {
      assert.equal(c.register(BANK0[r]), POWER_ON[BANK0[r]], r);
    }
    assert.equal(lastStatus('setup1').text, 'iopi-setup.status.applied');
    assert.equal(lastStatus('setup1').fill, 'green');
  });

  it('every per-pin field maps to its register bit; outputs and defval', async () => {
    const pinConfig = Array.from({ length: 16 }, () => pinEntry());
    pinConfig[0] = pinEntry({ use: true, dir: 'out' });
    pinConfig[9] = pinEntry({ use: true, dir: 'in', pullup: true });
    pinConfig[10] = pinEntry({ use: true, dir: 'in', invert: true });
    pinConfig[11] = pinEntry({ use: true, dir: 'in', int: true });
    pinConfig[12] = pinEntry({ use: true, dir: 'in', int: true, intType: 'compare', defval: 1 });
    await loadSetup({ pinConfig });
    assert.equal(reg16('IODIR'), 0xffff & ~0x0001);
    assert.equal(reg16('GPPU'), 0x0200);
    assert.equal(reg16('IPOL'), 0x0400);
    assert.equal(reg16('GPINTEN'), 0x1800);
    assert.equal(reg16('INTCON'), 0x1000);
    assert.equal(reg16('DEFVAL'), 0x1000);
  });

  it('chip-wide INT options when setInt is on', async () => {
    await loadSetup({ setInt: true, mirror: false, openDrain: false, activeHigh: true });
    assert.equal(chip().register(BANK0.IOCONA) & 0x46, 0x02, 'MIRROR 0, ODR 0, INTPOL 1');
  });

  it('a message re-applies the settings and sends the resulting register values', async () => {
    const { completes, errors, out } = await loadSetup({ pinConfig: tutorialConfig() });
    // something changed the chip behind the node's back
    chip().writeMessage([BANK0.GPPUA, 0x00]);
    send('setup1', { payload: '' });
    await waitFor(() => completes.length === 1, 1000, 'done');
    assert.deepEqual(errors, []);
    assert.equal(out.length, 1);
    const p = out[0].payload;
    assert.deepEqual(Object.keys(p).sort(), ['DEFVAL', 'GPINTEN', 'GPPU', 'INTCON', 'IOCON', 'IODIR', 'IPOL', 'OLAT']);
    for (const name of ['IODIR', 'IPOL', 'GPINTEN', 'DEFVAL', 'INTCON', 'GPPU', 'OLAT'] as const) {
      assert.equal(p[name], reg16(name), `${name} as the chip holds it`);
    }
    assert.equal(p.GPPU & 0xff, 0xff, 'GPPU applied again');
    assert.equal(p.IOCON & 0xfe, chip().register(BANK0.IOCONA) & 0xfe, 'IOCON');
  });

  it('msg.payload.pins overrides fields of single pins (and uses them)', async () => {
    const { completes, errors, out } = await loadSetup({ pinConfig: tutorialConfig() });
    send('setup1', { payload: { pins: { 3: { pullup: false }, 9: { dir: 'out' }, 10: { dir: 'in', int: true, intType: 'compare', defval: 1 } } } });
    await waitFor(() => completes.length === 1, 1000, 'done');
    assert.deepEqual(errors, []);
    assert.equal(chip().register(BANK0.GPPUA), 0xfb, 'pin 3 pull-up off');
    assert.equal(chip().register(BANK0.IODIRB) & 0x03, 0x02, 'pin 9 output, pin 10 input');
    assert.equal(chip().register(BANK0.GPINTENB) & 0x02, 0x02);
    assert.equal(chip().register(BANK0.INTCONB) & 0x02, 0x02);
    assert.equal(chip().register(BANK0.DEFVALB) & 0x02, 0x02);
    assert.equal(out[0].payload.GPPU, 0x00fb);
    assert.equal(out[0].payload.IODIR & 0x0300, 0x0200);
  });

  it('msg.payload register numbers apply to all 16 pins', async () => {
    const { completes, errors, out } = await loadSetup({});
    send('setup1', { payload: { direction: 0x0f0f, pullup: 0x00f0, invert: 0x0f00, interruptEnable: 0x0303, interruptCompare: 0x0101, interruptDefault: 0x0001 } });
    await waitFor(() => completes.length === 1, 1000, 'done');
    assert.deepEqual(errors, []);
    assert.equal(reg16('IODIR'), 0x0f0f);
    assert.equal(reg16('GPPU'), 0x00f0);
    assert.equal(reg16('IPOL'), 0x0f00);
    assert.equal(reg16('GPINTEN'), 0x0303);
    assert.equal(reg16('INTCON'), 0x0101);
    assert.equal(reg16('DEFVAL'), 0x0001);
    assert.deepEqual(
      [out[0].payload.IODIR, out[0].payload.GPPU, out[0].payload.IPOL, out[0].payload.GPINTEN, out[0].payload.INTCON, out[0].payload.DEFVAL],
      [0x0f0f, 0x00f0, 0x0f00, 0x0303, 0x0101, 0x0001],
    );
  });

  it('msg.payload mirror / openDrain / activeHigh set IOCON', async () => {
    const { completes, errors, out } = await loadSetup({});
    assert.equal(chip().register(BANK0.IOCONA) & 0x46, 0x44, 'chip node defaults: mirror, open drain');
    send('setup1', { payload: { mirror: false, openDrain: false, activeHigh: true } });
    await waitFor(() => completes.length === 1, 1000, 'done');
    assert.deepEqual(errors, []);
    assert.equal(chip().register(BANK0.IOCONA) & 0x46, 0x02);
    assert.equal(chip().register(BANK0.IOCONB) & 0x46, 0x02);
    assert.equal(out[0].payload.IOCON & 0x46, 0x02);
    send('setup1', { payload: { mirror: true } });
    await waitFor(() => completes.length === 2, 1000, 'done');
    assert.equal(chip().register(BANK0.IOCONA) & 0x46, 0x42);
  });

  describe('bad payloads: done(err) naming what is wrong, nothing written', () => {
    const cases: [string, unknown, RegExp][] = [
      ['a string', 'apply', /msg\.payload must be an object/],
      ['an array', [1, 2], /msg\.payload must be an object/],
      ['an unknown field', { pulup: 1 }, /msg\.payload\.pulup must be one of/],
      ['pins not an object', { pins: [1] }, /msg\.payload\.pins must be an object keyed by pin number/],
      ['pin 17', { pins: { 17: { dir: 'in' } } }, /a pin number from 1 to 16/],
      ['a bad direction', { pins: { 3: { dir: 'sideways' } } }, /msg\.payload\.pins\.3\.dir must be "in" or "out"/],
      ['an unknown pin field', { pins: { 3: { colour: 'red' } } }, /msg\.payload\.pins\.3\.colour must be one of the fields/],
      ['a bad defval', { pins: { 3: { defval: 2 } } }, /defval must be 0 or 1/],
      ['a bad intType', { pins: { 3: { intType: 'edge' } } }, /"change" or "compare"/],
      ['a register value too big', { pullup: 0x10000 }, /msg\.payload\.pullup must be an integer from 0 to 65535/],
      ['a register value as text', { direction: '0xff' }, /msg\.payload\.direction must be an integer/],
      ['a bad INT option', { mirror: 'maybe' }, /msg\.payload\.mirror must be true or false/],
      ['valid pins with a bad register value', { pins: { 1: { dir: 'out' } }, pullup: -1 }, /msg\.payload\.pullup/],
    ];
    for (const [name, payload, message] of cases) {
      it(name, async () => {
        const { completes, errors, out } = await loadSetup({ pinConfig: tutorialConfig() });
        const before = registers();
        send('setup1', { payload });
        await waitFor(() => errors.length === 1, 1000, 'caught');
        await sleep(20);
        assert.match(errors[0].error.message, message);
        assert.match(errors[0].error.message, /\(got /);
        assert.equal(errors[0].error.source.id, 'setup1');
        assert.deepEqual(registers(), before, 'nothing written');
        assert.deepEqual(completes, []);
        assert.deepEqual(out, []);
        assert.equal(lastStatus('setup1').fill, 'red');
        // still working
        send('setup1', { payload: { pins: { 2: { pullup: false } } } });
        await waitFor(() => completes.length === 1, 1000, 'later message applied');
        assert.equal(chip().register(BANK0.GPPUA), 0xfd);
      });
    }
  });

  it('applyOnDeploy off: nothing written until a message arrives', async () => {
    const { completes } = await loadSetup({ pinConfig: tutorialConfig(), applyOnDeploy: false });
    await sleep(30);
    const regs = registers();
    for (const name of ['IODIRA', 'IPOLA', 'GPINTENA', 'DEFVALA', 'INTCONA', 'GPPUA', 'OLATA', 'IODIRB', 'GPPUB'] as const) {
      assert.equal(regs[BANK0[name]], POWER_ON[BANK0[name]], `${name} at power-on`);
    }
    assert.notEqual(lastStatus('setup1').text, 'iopi-setup.status.applied');
    send('setup1', {});
    await waitFor(() => completes.length === 1, 1000, 'applied');
    assert.equal(chip().register(BANK0.GPPUA), 0xff);
    assert.equal(chip().register(BANK0.INTCONA), 0xff);
    assert.equal(chip().register(BANK0.GPINTENA), 0xff);
  });

  it('invalid pinConfig: invalid status, nothing written', async () => {
    await load([chipNode(), setupNode({ pinConfig: [1, 2, 3] })]);
    await sleep(50);
    assert.equal(lastStatus('setup1').text, 'iopi-chip.status.invalid');
    assert.deepEqual(registers(), POWER_ON);
  });

  it('the tutorial 3 flow across two chips: press button 3, LED 3 lights for the pulse, then goes off', async () => {
    await load([
      chipNode({ id: 'buttons', address: 0x20, pollInterval: 10 }),
      chipNode({ id: 'leds', address: 0x21, pollInterval: 10 }),
      setupNode({ chip: 'buttons', pinConfig: tutorialConfig(), wires: [[]] }),
      inNode({ chip: 'buttons', target: 'port0', edge: 'rising', wires: [['led1']] }),
      outNode({ id: 'led1', chip: 'leds', target: 'pins', pins: [1, 2, 3, 4, 5, 6, 7, 8], mode: 'pulse', pulse: 150, initial: '0', wires: [[]] }),
    ]);
    await online('buttons');
    await online('leds');
    const b = sim.chip(1, 0x20);
    const l = sim.chip(1, 0x21);
    assert.equal(b.register(BANK0.GPPUA), 0xff);
    assert.equal(b.register(BANK0.INTCONA), 0xff, 'compare mode kept (iopi-in only enables the interrupt)');
    assert.equal(l.register(BANK0.IODIRA), 0x00);
    for (let p = 1; p <= 8; p++) assert.equal(l.pinLevel(p), 0, `LED ${p} off`);
    const errors = collect('errors');
    const t0 = Date.now();
    b.setInput(3, 0); // button 3 to ground
    await waitFor(() => l.pinLevel(3) === 1, 1000, 'LED 3 on');
    assert.ok(Date.now() - t0 < 200, 'lit at once');
    for (const p of [1, 2, 4, 5, 6, 7, 8]) assert.equal(l.pinLevel(p), 0, `LED ${p} stays off`);
    await sleep(40);
    b.setInput(3, null); // released during the pulse: the LED stays on
    await sleep(40);
    assert.equal(l.pinLevel(3), 1, 'still on after the release');
    await waitFor(() => l.pinLevel(3) === 0, 1000, 'LED 3 off after the pulse');
    const dt = Date.now() - t0;
    assert.ok(dt >= 140, `LED on for ${dt} ms (pulse 150)`);
    assert.deepEqual(errors, []);
    // pressed again: lights again
    b.setInput(3, 0);
    await waitFor(() => l.pinLevel(3) === 1, 1000, 'LED 3 on again');
    b.setInput(3, null);
    await waitFor(() => l.pinLevel(3) === 0, 1000, 'off again');
    assert.equal(helper.getNode('buttons').online, true);
  });
});
