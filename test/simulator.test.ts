/**
 * Simulated MCP23017: register map, banks, address pointer, SMBus words, port registers, power cycle,
 * register() and 'change' events. Scenarios from docs/mcp23017.md (§ numbers below).
 * Interrupts are in simulator-interrupts.test.ts, the bus and the registry in simulator-bus.test.ts.
 */
import assert from 'node:assert/strict';
import { chip, openPromisified, reset, type SimulatedBus, type SimulatedChip } from '../lib/simulator';
import { BANK0, BANK1, REGISTER_NAMES, registerAddress, type Port } from '../lib/registers';
import { ArgumentError } from '../lib/pins';

const BUS = 1;
const ADDR = 0x20;

describe('simulator: registers, pointer and ports', () => {
  let bus: SimulatedBus;
  let c: SimulatedChip;

  const rd = (reg: number) => bus.readByte(ADDR, reg);
  const wr = (reg: number, value: number) => bus.writeByte(ADDR, reg, value);
  const rdBlock = async (reg: number, length: number) =>
    [...(await bus.readI2cBlock(ADDR, reg, length, Buffer.alloc(length))).buffer.subarray(0, length)];
  const wrBlock = (reg: number, bytes: number[]) => bus.writeI2cBlock(ADDR, reg, bytes.length, Buffer.from(bytes));
  /** All 22 registers by BANK=0 address, without side effects. */
  const dump = () => Array.from({ length: 22 }, (_, reg) => c.register(reg));
  /** Drives pins first..first+7 of one port to the bits of `value`. */
  const drivePort = (port: Port, value: number) => {
    for (let bit = 0; bit < 8; bit++) c.setInput(port * 8 + bit + 1, (value >> bit) & 1 ? 1 : 0);
  };

  beforeEach(async () => {
    reset();
    bus = await openPromisified(BUS);
    c = chip(BUS, ADDR);
  });
  afterEach(async () => {
    await bus.close();
  });

  describe('power-on state (§1.2)', () => {
    // GPIO shows the pins, so drive them low: the power-on GPIO value 0x00 is for low pins, and a
    // floating input's level is undocumented (§6.2).
    beforeEach(() => {
      drivePort(0, 0x00);
      drivePort(1, 0x00);
    });

    it('has IODIR = 0xFF and every other register 0x00', () => {
      const expected = Array.from({ length: 22 }, (_, reg) => (reg <= 1 ? 0xff : 0x00));
      assert.deepEqual(dump(), expected);
    });

    it('reads the same over I2C: a 22-byte sequential read from 0x00', async () => {
      assert.deepEqual(await rdBlock(0x00, 22), [0xff, 0xff, ...new Array<number>(20).fill(0)]);
    });

    it('has both INT pins idle: push-pull active-low, so driven high', () => {
      assert.equal(c.interruptOutput('A'), 1);
      assert.equal(c.interruptOutput('B'), 1);
    });

    it('knows its place', () => {
      assert.equal(c.busNumber, BUS);
      assert.equal(c.address, ADDR);
    });
  });

  describe('BANK=0 and BANK=1 maps (§1.1, §1.4)', () => {
    const writable = REGISTER_NAMES.filter((name) => !['IOCON', 'INTF', 'INTCAP', 'GPIO'].includes(name));

    it('BANK=0: every writable register of both ports at its Table 3-5 address', async () => {
      for (const name of writable) {
        for (const port of [0, 1] as const) {
          const value = 0x11 * (registerAddress(name, port, 0) + 1) & 0xff;
          await wr(registerAddress(name, port, 0), value);
          assert.equal(c.register(registerAddress(name, port, 0)), value, `${name}${port ? 'B' : 'A'}`);
        }
      }
    });

    it('BANK=1: every writable register of both ports at its Table 3-4 address', async () => {
      await wr(BANK0.IOCONA, 0x80);
      for (const name of writable) {
        for (const port of [0, 1] as const) {
          const bank1 = registerAddress(name, port, 1);
          const value = (bank1 * 7 + 3) & 0xff;
          await wr(bank1, value);
          assert.equal(c.register(registerAddress(name, port, 0)), value, `${name}${port ? 'B' : 'A'}`);
          assert.equal(await rd(bank1), value, `read back ${name}${port ? 'B' : 'A'} in BANK=1`);
        }
      }
    });

    it('setting BANK moves IOCON too: 0x05 and 0x15 after, 0x0A and 0x0B no longer', async () => {
      await wr(BANK0.OLATA, 0x33);
      await wr(BANK0.IOCONA, 0x80);
      assert.equal(await rd(0x0a), 0x33, '0x0A is OLATA in BANK=1');
      assert.equal(await rd(BANK1.IOCONA), 0x80);
      assert.equal(await rd(BANK1.IOCONB), 0x80);
      assert.equal(c.register(BANK0.IOCONA), 0x80, 'register() names IOCON by its BANK=0 address');
    });

    it('in BANK=1 a BANK=0 write to 0x0A lands on OLATA, not IOCON (the mcp-pcf-aio trap)', async () => {
      await wr(BANK0.IOCONA, 0xe4);
      await wr(0x0a, 0x3c);
      assert.equal(c.register(BANK0.OLATA), 0x3c);
      assert.equal(c.register(BANK0.IOCONA), 0xe4);
    });

    it('clearing BANK at 0x05 brings the BANK=0 map back for the next access', async () => {
      await wr(BANK0.IOCONA, 0x80);
      await wr(BANK1.IOCONA, 0x00);
      await wr(BANK0.IPOLB, 0x42);
      assert.equal(c.register(BANK0.IPOLB), 0x42);
      assert.equal(await rd(BANK0.IPOLB), 0x42);
    });

    it('recovery trick, chip in BANK=1: read 0x05, clear bit 7, write back gives BANK=0', async () => {
      await wr(BANK0.IOCONA, 0xe4); // what other MCP23017 packages leave behind
      const value = await rd(0x05);
      await wr(0x05, value & 0x7f);
      assert.equal(c.register(BANK0.IOCONA), 0x64);
      assert.equal(await rd(BANK0.IOCONA), 0x64, 'BANK=0 map in force');
      assert.equal(c.register(BANK0.GPINTENB), 0x00, 'GPINTENB untouched');
    });

    it('recovery trick, chip already in BANK=0: only GPINTENB bit 7 is cleared', async () => {
      await wr(BANK0.GPINTENB, 0x81);
      await wr(BANK0.IOCONA, 0x42);
      const value = await rd(0x05);
      await wr(0x05, value & 0x7f);
      assert.equal(c.register(BANK0.GPINTENB), 0x01);
      assert.equal(c.register(BANK0.IOCONA), 0x42);
    });
  });

  describe('IOCON (§2)', () => {
    it('is one register visible at both addresses: a write to either changes both', async () => {
      await wr(BANK0.IOCONB, 0x42);
      assert.equal(await rd(BANK0.IOCONA), 0x42);
      assert.equal(c.register(BANK0.IOCONA), 0x42);
      await wr(BANK0.IOCONA, 0x04);
      assert.equal(await rd(BANK0.IOCONB), 0x04);
      assert.equal(c.register(BANK0.IOCONB), 0x04);
    });

    it('bit 0 is unimplemented and reads 0; HAEN and DISSLW are plain bits', async () => {
      await wr(BANK0.IOCONA, 0x1f);
      assert.equal(await rd(BANK0.IOCONA), 0x1e);
      assert.equal(c.register(BANK0.IOCONB), 0x1e);
    });
  });

  describe('unimplemented addresses (simulator choice: read 0, writes ignored)', () => {
    it('BANK=0 above 0x15', async () => {
      const before = dump();
      await wr(0x16, 0xff);
      await wr(0xff, 0xff);
      assert.deepEqual(dump(), before);
      assert.equal(await rd(0x16), 0);
    });

    it('BANK=1 gap 0x0B-0x0F', async () => {
      await wr(BANK0.IOCONA, 0x80);
      const before = dump();
      await wr(0x0c, 0xff);
      assert.deepEqual(dump(), before);
      assert.equal(await rd(0x0c), 0);
    });
  });

  describe('address pointer (§3.1)', () => {
    it('SEQOP=0 advances after each byte of a write', async () => {
      await wrBlock(BANK0.IPOLA, [1, 2, 3]);
      assert.equal(c.register(BANK0.IPOLA), 1);
      assert.equal(c.register(BANK0.IPOLB), 2);
      assert.equal(c.register(BANK0.GPINTENA), 3);
    });

    it('SEQOP=0 wraps to 0x00 after 0x15: a 2-byte write at 0x15 writes OLATB then IODIRA', async () => {
      await wrBlock(BANK0.OLATB, [0xaa, 0x0f]);
      assert.equal(c.register(BANK0.OLATB), 0xaa);
      assert.equal(c.register(BANK0.IODIRA), 0x0f);
      assert.equal(c.register(BANK0.IODIRB), 0xff);
    });

    it('SEQOP=0 wraps on reads too: 4 bytes from 0x14 are OLATA, OLATB, IODIRA, IODIRB', async () => {
      await wrBlock(BANK0.IODIRA, [0x12, 0x34]);
      await wrBlock(BANK0.OLATA, [0x56, 0x78]);
      assert.deepEqual(await rdBlock(BANK0.OLATA, 4), [0x56, 0x78, 0x12, 0x34]);
    });

    it('SEQOP=1, BANK=0 ping-pongs inside the A/B pair on writes', async () => {
      await wr(BANK0.IOCONA, 0x20);
      await wrBlock(BANK0.IPOLA, [1, 2, 3, 4]);
      assert.equal(c.register(BANK0.IPOLA), 3);
      assert.equal(c.register(BANK0.IPOLB), 4);
      assert.equal(c.register(BANK0.GPINTENA), 0, 'never left the pair');
    });

    it('SEQOP=1, BANK=0 ping-pongs from an odd address: 0x13 gives GPIOB, GPIOA, GPIOB', async () => {
      drivePort(0, 0xa5);
      drivePort(1, 0x3c);
      await wr(BANK0.IOCONA, 0x20);
      assert.deepEqual(await rdBlock(BANK0.GPIOB, 3), [0x3c, 0xa5, 0x3c]);
    });

    it('SEQOP=1, BANK=1 stays on one register', async () => {
      await wr(BANK0.IOCONA, 0xa0);
      await wrBlock(BANK1.IPOLA, [1, 2, 3]);
      assert.equal(c.register(BANK0.IPOLA), 3);
      assert.equal(c.register(BANK0.IPOLB), 0);
      assert.equal(c.register(BANK0.GPINTENA), 0);
      await wr(BANK1.IODIRA, 0x5a);
      assert.deepEqual(await rdBlock(BANK1.IODIRA, 3), [0x5a, 0x5a, 0x5a]);
    });

    it('persists between messages: a plain read continues where the last message left it', async () => {
      await bus.i2cWrite(ADDR, 4, Buffer.from([BANK0.DEFVALA, 0x55, 0x66, 0x77]));
      await bus.i2cWrite(ADDR, 1, Buffer.from([BANK0.DEFVALA]));
      const { bytesRead, buffer } = await bus.i2cRead(ADDR, 2, Buffer.alloc(2));
      assert.equal(bytesRead, 2);
      assert.deepEqual([...buffer], [0x55, 0x66]);
      const next = await bus.i2cRead(ADDR, 1, Buffer.alloc(1));
      assert.equal(next.buffer[0], 0x77, 'INTCONA, the next address');
    });
  });

  describe('SMBus words, low byte first (§3.2)', () => {
    it('even address: A is the low byte, B the high byte', async () => {
      await bus.writeWord(ADDR, BANK0.IODIRA, 0xabcd);
      assert.equal(c.register(BANK0.IODIRA), 0xcd);
      assert.equal(c.register(BANK0.IODIRB), 0xab);
      assert.equal(await bus.readWord(ADDR, BANK0.IODIRA), 0xabcd);
    });

    it('even address, SEQOP=1: still A then B', async () => {
      await wr(BANK0.IOCONA, 0x20);
      await bus.writeWord(ADDR, BANK0.IPOLA, 0x1234);
      assert.equal(c.register(BANK0.IPOLA), 0x34);
      assert.equal(c.register(BANK0.IPOLB), 0x12);
      assert.equal(await bus.readWord(ADDR, BANK0.IPOLA), 0x1234);
    });

    it('odd address, SEQOP=1: B is the low byte, A the high byte', async () => {
      await wr(BANK0.IOCONA, 0x20);
      await bus.writeWord(ADDR, BANK0.IODIRB, 0x1234);
      assert.equal(c.register(BANK0.IODIRB), 0x34);
      assert.equal(c.register(BANK0.IODIRA), 0x12);
      assert.equal(await bus.readWord(ADDR, BANK0.IODIRB), 0x1234);
    });

    it('odd address, SEQOP=0: the high byte goes to the next address', async () => {
      await bus.writeWord(ADDR, BANK0.IPOLB, 0x7788);
      assert.equal(c.register(BANK0.IPOLB), 0x88);
      assert.equal(c.register(BANK0.GPINTENA), 0x77);
    });
  });

  describe('port registers (§4)', () => {
    it('writing GPIO writes OLAT; outputs read their level back through GPIO', async () => {
      await wr(BANK0.IODIRA, 0x00);
      await wr(BANK0.GPIOA, 0x5a);
      assert.equal(c.register(BANK0.OLATA), 0x5a);
      assert.equal(await rd(BANK0.OLATA), 0x5a);
      assert.equal(await rd(BANK0.GPIOA), 0x5a);
      for (let pin = 1; pin <= 8; pin++) assert.equal(c.pinLevel(pin), (0x5a >> (pin - 1)) & 1, `pin ${pin}`);
    });

    it('OLAT reads the latch, not the pins', async () => {
      drivePort(0, 0x00);
      await wr(BANK0.OLATA, 0xff);
      assert.equal(await rd(BANK0.OLATA), 0xff);
      assert.equal(await rd(BANK0.GPIOA), 0x00, 'inputs show the pins');
    });

    it('a latch written while the pin is an input drives it once IODIR is cleared', async () => {
      c.setInput(9, 0);
      await wr(BANK0.OLATB, 0x81);
      assert.equal(c.pinLevel(9), 0, 'input, driven low from outside');
      await wr(BANK0.IODIRB, 0x00);
      assert.equal(c.pinLevel(9), 1);
      assert.equal(c.pinLevel(16), 1);
      assert.equal(c.pinLevel(10), 0);
      assert.equal(await rd(BANK0.GPIOB), 0x81);
    });

    it('GPIO mixes inputs (their levels) and outputs (their latch)', async () => {
      await wr(BANK0.IODIRA, 0xf0);
      await wr(BANK0.OLATA, 0x05);
      c.setInput(5, 1);
      c.setInput(6, 0);
      c.setInput(7, 1);
      c.setInput(8, 0);
      assert.equal(await rd(BANK0.GPIOA), 0x55);
      assert.equal(c.register(BANK0.GPIOA), 0x55);
    });

    it('IPOL inverts the GPIO value of inputs; pinLevel stays electrical; OLAT is never inverted', async () => {
      drivePort(1, 0x0f);
      await wr(BANK0.IPOLB, 0xff);
      assert.equal(await rd(BANK0.GPIOB), 0xf0);
      assert.equal(c.pinLevel(9), 1);
      await wr(BANK0.IPOLB, 0x01);
      assert.equal(await rd(BANK0.GPIOB), 0x0e);
      await wr(BANK0.IPOLA, 0xff);
      await wr(BANK0.OLATA, 0x0f);
      assert.equal(await rd(BANK0.OLATA), 0x0f);
    });

    it('GPPU pulls released inputs up; a drive overrides it; release with null', async () => {
      await wr(BANK0.GPPUA, 0x03);
      assert.equal(c.pinLevel(1), 1);
      assert.equal(c.pinLevel(2), 1);
      c.setInput(3, 1);
      c.setInput(4, 0);
      assert.equal((await rd(BANK0.GPIOA)) & 0x0f, 0x07);
      c.setInput(1, 0);
      assert.equal(c.pinLevel(1), 0, 'driven low beats the pull-up');
      c.setInput(1, null);
      assert.equal(c.pinLevel(1), 1, 'released: the pull-up again');
      c.setInput(3, true);
      c.setInput(4, false);
      assert.equal(c.pinLevel(3), 1);
      assert.equal(c.pinLevel(4), 0);
    });

    it('GPPU only matters for inputs', async () => {
      await wr(BANK0.GPPUA, 0xff);
      await wr(BANK0.IODIRA, 0x00);
      assert.equal(c.pinLevel(1), 0, 'output with OLAT 0');
      assert.equal(await rd(BANK0.GPIOA), 0x00);
    });

    it('INTF and INTCAP are read-only: writes are ignored', async () => {
      await wr(BANK0.INTFA, 0xff);
      await wrBlock(BANK0.INTCAPA, [0xff, 0xff]);
      assert.equal(c.register(BANK0.INTFA), 0);
      assert.equal(c.register(BANK0.INTCAPA), 0);
      assert.equal(c.register(BANK0.INTCAPB), 0);
    });

    it('setInput rejects bad pins and levels with ArgumentError', () => {
      for (const pin of [0, 17, 1.5, '1', null]) {
        assert.throws(() => c.setInput(pin as number, 1), ArgumentError, `pin ${String(pin)}`);
      }
      for (const level of [2, -1, '1', undefined, 0.5]) {
        assert.throws(() => c.setInput(1, level as 0), ArgumentError, `level ${String(level)}`);
      }
      assert.throws(() => c.pinLevel(0), ArgumentError);
    });
  });

  describe('register()', () => {
    it('names registers by BANK=0 address whatever the bank, with no side effects', async () => {
      await wr(BANK0.GPPUA, 0xff);
      await wr(BANK0.GPINTENA, 0x01);
      c.setInput(1, 0); // change-mode interrupt on pin 1
      await wr(BANK0.IOCONA, 0x80);
      for (let i = 0; i < 3; i++) {
        assert.equal(c.register(BANK0.GPIOA), 0xfe);
        assert.equal(c.register(BANK0.INTCAPA), 0xfe);
        assert.equal(c.register(BANK0.INTFA), 0x01);
        assert.equal(c.register(BANK0.IOCONA), 0x80);
        assert.equal(c.register(BANK0.IOCONB), 0x80);
      }
      assert.equal(c.interruptOutput('A'), 0, 'still pending');
      assert.equal(await rd(BANK1.INTFA), 0x01, 'still pending over I2C too');
    });

    it('throws RangeError outside 0x00-0x15', () => {
      for (const reg of [-1, 0x16, 1.5, NaN]) assert.throws(() => c.register(reg), RangeError, String(reg));
    });
  });

  describe('powerCycle()', () => {
    it('restores every register, the pointer and the interrupts; external drives stay', async () => {
      drivePort(0, 0x55);
      drivePort(1, 0x00);
      await wr(BANK0.GPINTENB, 0xff);
      c.setInput(9, 1); // change on port B: pending
      assert.equal(c.register(BANK0.INTFB), 0x01);
      await wrBlock(BANK0.IPOLA, [0xff, 0xff]);
      await wr(BANK0.IODIRA, 0x00);
      await wr(BANK0.IOCONA, 0xe6);
      await bus.i2cWrite(ADDR, 1, Buffer.from([0x0a])); // pointer to OLATA in BANK=1
      c.powerCycle();
      assert.deepEqual(dump(), [0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x55, 0x01, 0, 0]);
      assert.equal(c.interruptOutput('B'), 1, 'INTB idle (POR: active-low push-pull)');
      const { buffer } = await bus.i2cRead(ADDR, 1, Buffer.alloc(1));
      assert.equal(buffer[0], 0xff, 'pointer back at 0x00 (IODIRA)');
      assert.equal(c.pinLevel(1), 1, 'external drive kept');
      assert.equal(c.pinLevel(2), 0, 'external drive kept');
    });
  });

  describe("'change' events", () => {
    let changes = 0;
    beforeEach(() => {
      changes = 0;
      c.on('change', () => changes++);
    });

    it('once per operation that changes something, never when nothing changed', async () => {
      c.setInput(1, 0);
      changes = 0;
      c.setInput(1, 1);
      assert.equal(changes, 1, 'pin level');
      c.setInput(1, 1);
      assert.equal(changes, 1, 'same level again');
      await wrBlock(BANK0.DEFVALA, [1, 2, 3, 4]);
      assert.equal(changes, 2, 'a 4-byte write is one operation');
      await wr(BANK0.DEFVALA, 1);
      assert.equal(changes, 2, 'same value again');
      await rdBlock(BANK0.IODIRA, 22);
      assert.equal(changes, 2, 'reads without a pending interrupt');
      await bus.writeWord(ADDR, BANK0.OLATA, 0x0102);
      assert.equal(changes, 3, 'OLAT (no pin shows it, but the register does)');
      await wr(BANK0.IODIRA, 0x00);
      assert.equal(changes, 4);
      await bus.i2cWrite(ADDR, 0, Buffer.alloc(0));
      assert.equal(changes, 4, 'quick write');
    });

    it('for interrupts: raising one, and clearing it by a read', async () => {
      c.setInput(1, 0);
      await wr(BANK0.GPINTENA, 0x01);
      changes = 0;
      c.setInput(1, 1);
      assert.equal(changes, 1, 'pin level, INTF, INTCAP, INTA in one event');
      await rdBlock(BANK0.INTFA, 6);
      assert.equal(changes, 2, 'the 6-byte service read clears: one event');
      await rd(BANK0.GPIOA);
      assert.equal(changes, 2, 'nothing left to clear');
    });

    it('powerCycle emits only if something differed from power-on', () => {
      c.powerCycle();
      assert.equal(changes, 0);
      c.setInput(1, 1);
      changes = 0;
      c.powerCycle();
      assert.equal(changes, 0, 'drives are outside the chip');
    });
  });
});
