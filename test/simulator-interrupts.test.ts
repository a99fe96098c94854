/**
 * Simulated MCP23017: interrupt logic and INT outputs (docs/mcp23017.md §5, §6.1, §7.1;
 * DS20001952C §3.6). Pins are released with pull-ups on unless a test drives them, so no test depends
 * on the level of a floating input.
 */
import assert from 'node:assert/strict';
import { chip, openPromisified, reset, SimulatedChip, type SimulatedBus } from '../lib/simulator';
import { BANK0 } from '../lib/registers';

const BUS = 1;
const ADDR = 0x20;

describe('simulator: interrupts', () => {
  let bus: SimulatedBus;
  let c: SimulatedChip;

  const rd = (reg: number) => bus.readByte(ADDR, reg);
  const wr = (reg: number, value: number) => bus.writeByte(ADDR, reg, value);
  const rdBlock = async (reg: number, length: number) =>
    [...(await bus.readI2cBlock(ADDR, reg, length, Buffer.alloc(length))).buffer.subarray(0, length)];
  const intf = () => [c.register(BANK0.INTFA), c.register(BANK0.INTFB)];
  const intcap = () => [c.register(BANK0.INTCAPA), c.register(BANK0.INTCAPB)];

  /** Both ports inputs with pull-ups (released pins read 1), then the interrupt setup. */
  const setup = async (o: { gpinten?: number; intcon?: number; defval?: number; ipol?: number } = {}) => {
    await bus.writeWord(ADDR, BANK0.GPPUA, 0xffff);
    if (o.ipol !== undefined) await bus.writeWord(ADDR, BANK0.IPOLA, o.ipol);
    if (o.defval !== undefined) await bus.writeWord(ADDR, BANK0.DEFVALA, o.defval);
    if (o.intcon !== undefined) await bus.writeWord(ADDR, BANK0.INTCONA, o.intcon);
    await bus.writeWord(ADDR, BANK0.GPINTENA, o.gpinten ?? 0xffff);
  };

  beforeEach(async () => {
    reset();
    bus = await openPromisified(BUS);
    c = chip(BUS, ADDR);
  });
  afterEach(async () => {
    await bus.close();
  });

  describe('which pins interrupt (§5.1)', () => {
    it('only inputs with GPINTEN=1', async () => {
      await setup({ gpinten: 0x0001 });
      c.setInput(2, 0);
      c.setInput(10, 0);
      assert.deepEqual(intf(), [0, 0]);
      c.setInput(1, 0);
      assert.deepEqual(intf(), [0x01, 0]);
    });

    it('outputs never interrupt, in change or compare mode', async () => {
      await wr(BANK0.IODIRA, 0xfe);
      await setup({ gpinten: 0x0001 });
      await wr(BANK0.OLATA, 0x01);
      await wr(BANK0.OLATA, 0x00);
      assert.deepEqual(intf(), [0, 0], 'change mode');
      await setup({ gpinten: 0x0001, intcon: 0x0001, defval: 0x0001 });
      c.setInput(1, 0);
      assert.deepEqual(intf(), [0, 0], 'compare mode, OLAT 0 and the pin driven 0, DEFVAL 1');
    });

    it('an armed output pin that becomes an input is compared from then on', async () => {
      await wr(BANK0.IODIRA, 0xfe);
      c.setInput(1, 0);
      await setup({ gpinten: 0x0001, intcon: 0x0001, defval: 0x0001 });
      assert.deepEqual(intf(), [0, 0]);
      await wr(BANK0.IODIRA, 0xff);
      assert.deepEqual(intf(), [0x01, 0]);
      assert.equal(c.register(BANK0.INTCAPA), 0xfe);
    });
  });

  describe('change mode, INTCON=0 (§5.2, §5.4)', () => {
    it('the first event latches INTF (the pin) and INTCAP (the whole port)', async () => {
      await setup();
      c.setInput(3, 0);
      assert.deepEqual(intf(), [0x04, 0]);
      assert.deepEqual(intcap(), [0xfb, 0]);
      assert.equal(c.interruptOutput('A'), 0, 'INTA active (low)');
      assert.equal(c.interruptOutput('B'), 1, 'INTB idle');
    });

    it('later events on that port change neither INTF nor INTCAP until cleared', async () => {
      await setup();
      c.setInput(3, 0);
      c.setInput(5, 0);
      c.setInput(8, 0);
      assert.deepEqual(intf(), [0x04, 0]);
      assert.deepEqual(intcap(), [0xfb, 0]);
      assert.equal(c.register(BANK0.GPIOA), 0x6b, 'GPIO shows the port now');
    });

    it('the reference resets at clear: a pin that changed while pending never fires; its return does', async () => {
      await setup();
      c.setInput(3, 0);
      c.setInput(5, 0);
      assert.equal(await rd(BANK0.GPIOA), 0xeb);
      assert.deepEqual(intf(), [0, 0], 'cleared, and pin 5 staying low raises nothing');
      assert.equal(c.interruptOutput('A'), 1);
      assert.deepEqual(intcap(), [0xfb, 0], 'INTCAP keeps its value until the next event');
      c.setInput(5, null);
      assert.deepEqual(intf(), [0x10, 0]);
      assert.deepEqual(intcap(), [0xfb, 0], 'captured with pin 3 still low, pin 5 back high');
    });

    it('a change-and-back while an interrupt is pending is lost', async () => {
      await setup();
      c.setInput(1, 0);
      c.setInput(2, 0);
      c.setInput(2, 1);
      assert.equal(await rd(BANK0.INTCAPA), 0xfe);
      assert.deepEqual(intf(), [0, 0]);
      assert.equal(c.interruptOutput('A'), 1);
    });

    it('both edges fire: press, clear, release', async () => {
      await setup();
      c.setInput(16, 0);
      assert.deepEqual(intf(), [0, 0x80]);
      assert.equal(await rd(BANK0.INTCAPB), 0x7f);
      c.setInput(16, 1);
      assert.deepEqual(intf(), [0, 0x80]);
      assert.equal(await rd(BANK0.INTCAPB), 0xff);
      assert.deepEqual(intf(), [0, 0]);
    });

    it('enabling GPINTEN takes the current value as the reference (simulator choice)', async () => {
      await setup({ gpinten: 0 });
      c.setInput(1, 0);
      await wr(BANK0.GPINTENA, 0x01);
      assert.deepEqual(intf(), [0, 0], 'arming alone does not fire');
      c.setInput(1, 1);
      assert.deepEqual(intf(), [0x01, 0]);
      assert.equal(c.register(BANK0.INTCAPA), 0xff);
    });
  });

  describe('compare mode, INTCON=1 (§5.3)', () => {
    it('interrupts while the pin is opposite its DEFVAL bit', async () => {
      await setup({ gpinten: 0x0001, intcon: 0x0001, defval: 0x0001 });
      assert.deepEqual(intf(), [0, 0], 'pin 1 high = DEFVAL');
      c.setInput(1, 0);
      assert.deepEqual(intf(), [0x01, 0]);
      assert.equal(c.register(BANK0.INTCAPA), 0xfe);
    });

    it('arming a pin that already differs from DEFVAL fires at once', async () => {
      await setup({ gpinten: 0, intcon: 0x0100, defval: 0x0000 });
      await wr(BANK0.GPINTENB, 0x01);
      assert.deepEqual(intf(), [0, 0x01]);
      assert.equal(c.interruptOutput('B'), 0);
    });

    it('clearing re-asserts at once with a fresh capture while the pin is held', async () => {
      await setup({ gpinten: 0x0001, intcon: 0x0001, defval: 0x0001 });
      c.setInput(1, 0);
      c.setInput(2, 0); // not armed; and the port A interrupt is latched anyway
      assert.equal(c.register(BANK0.INTCAPA), 0xfe);
      assert.equal(await rd(BANK0.INTCAPA), 0xfe, 'the read returns the old capture');
      assert.deepEqual(intf(), [0x01, 0], 're-asserted');
      assert.equal(c.register(BANK0.INTCAPA), 0xfc, 'fresh capture, showing pin 2 too');
      assert.equal(c.interruptOutput('A'), 0);
      assert.equal(await rd(BANK0.GPIOA), 0xfc);
      assert.deepEqual(intf(), [0x01, 0], 'cannot be cleared while the pin is held');
    });

    it('after the pin returns to DEFVAL one more clear ends it', async () => {
      await setup({ gpinten: 0x0001, intcon: 0x0001, defval: 0x0001 });
      c.setInput(1, 0);
      c.setInput(1, 1);
      assert.deepEqual(intf(), [0x01, 0], 'still latched');
      assert.equal(c.interruptOutput('A'), 0);
      await rd(BANK0.GPIOA);
      assert.deepEqual(intf(), [0, 0]);
      assert.equal(c.interruptOutput('A'), 1);
    });

    it('DEFVAL, INTCON and GPINTEN changes are re-evaluated', async () => {
      await setup({ gpinten: 0x0001, intcon: 0x0001, defval: 0x0001 });
      c.setInput(1, 0);
      await wr(BANK0.DEFVALA, 0x00); // now the held pin matches DEFVAL
      await rd(BANK0.GPIOA);
      assert.deepEqual(intf(), [0, 0], 'no re-assert once it matches');
      await wr(BANK0.DEFVALA, 0x01);
      assert.deepEqual(intf(), [0x01, 0], 'mismatch again: fires');
      await wr(BANK0.INTCONA, 0x00);
      await rd(BANK0.GPIOA);
      assert.deepEqual(intf(), [0, 0], 'change mode: a held level is no event');
      await wr(BANK0.INTCONA, 0x01);
      assert.deepEqual(intf(), [0x01, 0], 'back to compare mode');
      await wr(BANK0.GPINTENA, 0x00);
      assert.deepEqual(intf(), [0x01, 0], 'disabling does not clear a latched interrupt');
      await rd(BANK0.GPIOA);
      assert.deepEqual(intf(), [0, 0], 'and nothing re-asserts');
    });

    it('GPPU changes are re-evaluated (a released pin loses its pull-up)', async () => {
      await setup({ gpinten: 0x0001, intcon: 0x0001, defval: 0x0001 });
      await wr(BANK0.GPPUA, 0x00);
      const floating = SimulatedChip.FLOATING_LEVEL;
      assert.deepEqual(intf(), [floating === 1 ? 0 : 0x01, 0]);
    });
  });

  describe('IPOL applies before the interrupt logic (§6.1)', () => {
    it("AB tutorials 3 and 4: IPOL=0xFF, DEFVAL=0, INTCON=0xFF; released buttons don't interrupt", async () => {
      await setup({ ipol: 0xffff, defval: 0x0000, intcon: 0xffff });
      assert.deepEqual(intf(), [0, 0]);
      assert.equal(c.interruptOutput('A'), 1, 'INTA idle, not held for ever');
      c.setInput(3, 0); // press button 3
      assert.deepEqual(intf(), [0x04, 0]);
      assert.deepEqual(intcap(), [0x04, 0], "INTCAP lights the pressed button's LED");
      assert.equal(c.register(BANK0.GPIOA), 0x04);
      c.setInput(3, null); // release
      assert.equal(await rd(BANK0.INTCAPA), 0x04);
      assert.deepEqual(intf(), [0, 0], 'released: no re-assert');
      assert.equal(c.interruptOutput('A'), 1);
    });

    it('the DEFVAL comparison sees the IPOL-adjusted value', async () => {
      await setup({ gpinten: 0x0001, intcon: 0x0001, defval: 0x0001 });
      assert.deepEqual(intf(), [0, 0]);
      await wr(BANK0.IPOLA, 0x01); // pin 1 still high, but reads 0 now
      assert.deepEqual(intf(), [0x01, 0]);
      assert.equal(c.register(BANK0.INTCAPA), 0xfe);
    });
  });

  describe('clearing (§5.6)', () => {
    it('is per port: GPIOA clears A only, INTCAPB clears B only', async () => {
      await setup();
      c.setInput(1, 0);
      c.setInput(9, 0);
      assert.deepEqual(intf(), [0x01, 0x01]);
      await rd(BANK0.GPIOA);
      assert.deepEqual(intf(), [0, 0x01]);
      await rd(BANK0.INTCAPB);
      assert.deepEqual(intf(), [0, 0]);
    });

    it('writes clear nothing, nor do reads of INTF or other registers', async () => {
      await setup();
      c.setInput(1, 0);
      c.setInput(9, 0);
      await wr(BANK0.GPIOA, 0x00);
      await bus.writeWord(ADDR, BANK0.INTCAPA, 0);
      await bus.writeWord(ADDR, BANK0.INTFA, 0);
      await bus.writeWord(ADDR, BANK0.GPIOA, 0);
      assert.deepEqual(intf(), [0x01, 0x01]);
      assert.deepEqual(await rdBlock(BANK0.IODIRA, 16), [0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 1]);
      assert.deepEqual(await rdBlock(BANK0.OLATA, 2), [0, 0]);
      assert.deepEqual(intf(), [0x01, 0x01]);
    });

    it('a word or block read spanning both ports clears both', async () => {
      await setup();
      c.setInput(1, 0);
      c.setInput(9, 0);
      assert.equal(await bus.readWord(ADDR, BANK0.GPIOA), 0xfefe);
      assert.deepEqual(intf(), [0, 0]);
      c.setInput(2, 0);
      c.setInput(10, 0);
      assert.deepEqual(await rdBlock(BANK0.INTCAPA, 2), [0xfc, 0xfc], 'pins 1 and 2 (9 and 10) low');
      assert.deepEqual(intf(), [0, 0]);
    });

    it('a word read starting at GPIOB clears B only (the next byte is OLATA)', async () => {
      await setup();
      c.setInput(1, 0);
      c.setInput(9, 0);
      assert.equal(await bus.readWord(ADDR, BANK0.GPIOB), 0x00fe);
      assert.deepEqual(intf(), [0x01, 0]);
    });

    it('the 6-byte read from 0x0E gives INTFA, INTFB, INTCAPA, INTCAPB, GPIOA, GPIOB and clears both (§7.1)', async () => {
      await setup();
      c.setInput(2, 0); // port A event
      c.setInput(12, 0); // port B event
      c.setInput(4, 0); // while A is pending: only GPIO shows it
      assert.deepEqual(await rdBlock(BANK0.INTFA, 6), [0x02, 0x08, 0xfd, 0xf7, 0xf5, 0xf7]);
      assert.deepEqual(intf(), [0, 0]);
      assert.equal(c.interruptOutput('A'), 1);
      assert.equal(c.interruptOutput('B'), 1);
    });

    it('the 6-byte read in compare mode with a held pin: INTF set again right after (§7.1)', async () => {
      await setup({ gpinten: 0x0001, intcon: 0x0001, defval: 0x0001 });
      c.setInput(1, 0);
      const first = await rdBlock(BANK0.INTFA, 6);
      assert.deepEqual(first, [0x01, 0, 0xfe, 0, 0xfe, 0xff]);
      assert.deepEqual(await rdBlock(BANK0.INTFA, 6), first, 'reads repeat unchanged');
      c.setInput(1, 1);
      await rdBlock(BANK0.INTFA, 6);
      assert.deepEqual(intf(), [0, 0]);
    });
  });

  describe('INT outputs (§5.7)', () => {
    /** The table in docs/mcp23017.md §5.7: ODR=1 open-drain (INTPOL ignored), else push-pull with INTPOL's polarity. */
    const levels = (odr: boolean, intpol: boolean) =>
      odr ? { active: 0, idle: null } : intpol ? { active: 1, idle: 0 } : { active: 0, idle: 1 };

    for (const mirror of [false, true]) {
      for (const odr of [false, true]) {
        for (const intpol of [false, true]) {
          const iocon = (mirror ? 0x40 : 0) | (odr ? 0x04 : 0) | (intpol ? 0x02 : 0);
          it(`MIRROR=${+mirror} ODR=${+odr} INTPOL=${+intpol}`, async () => {
            const { active, idle } = levels(odr, intpol);
            await wr(BANK0.IOCONA, iocon);
            await setup({ gpinten: 0x0101 });
            const pins = () => [c.interruptOutput('A'), c.interruptOutput('B')];
            assert.deepEqual(pins(), [idle, idle], 'nothing pending');
            c.setInput(1, 0);
            assert.deepEqual(pins(), mirror ? [active, active] : [active, idle], 'port A pending');
            await rd(BANK0.GPIOA);
            assert.deepEqual(pins(), [idle, idle], 'A cleared');
            c.setInput(9, 0);
            assert.deepEqual(pins(), mirror ? [active, active] : [idle, active], 'port B pending');
            await rd(BANK0.GPIOB);
            assert.deepEqual(pins(), [idle, idle], 'B cleared');
          });
        }
      }
    }

    it('MIRROR=1: both pins stay active until each port is cleared by its own read', async () => {
      await wr(BANK0.IOCONA, 0x44); // MIRROR, open-drain
      await setup({ gpinten: 0x0101 });
      c.setInput(1, 0);
      c.setInput(9, 0);
      await rd(BANK0.GPIOA);
      assert.deepEqual(intf(), [0, 0x01]);
      assert.equal(c.interruptOutput('A'), 0);
      assert.equal(c.interruptOutput('B'), 0);
      await rd(BANK0.INTCAPB);
      assert.equal(c.interruptOutput('A'), null);
      assert.equal(c.interruptOutput('B'), null);
    });

    it('rejects a pin name other than A or B', () => {
      assert.throws(() => c.interruptOutput('C' as 'A'), RangeError);
    });
  });
});
