/**
 * Simulated I2C bus and chip registry: i2c-bus 5's promisified API (argument checks, results, error
 * shapes; docs/linux-i2c-and-gpio.md §1), absent addresses, close, chip()/remove()/reset(),
 * the globalThis registry and the backend.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  chip, openPromisified, remove, reset, simulatorBackend, SimulatedChip, type SimulatedBus,
} from '../lib/simulator';
import { BANK0 } from '../lib/registers';
import { classifyI2cError } from '../lib/errors';

const BUS = 1;
const ADDR = 0x20;

/** The keys of an error we compare (message, errno, code, syscall). */
function shape(err: unknown): Record<string, unknown> {
  const e = err as { message: string; errno?: unknown; code?: unknown; syscall?: unknown };
  const out: Record<string, unknown> = { message: e.message, errno: e.errno, code: e.code };
  if (e.syscall !== undefined) out.syscall = e.syscall;
  return out;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describe('simulator: bus and registry', () => {
  let bus: SimulatedBus;

  beforeEach(async () => {
    reset();
    bus = await openPromisified(BUS);
  });
  afterEach(async () => {
    await bus.close().catch(() => undefined);
  });

  describe('openPromisified', () => {
    it('opens any bus number >= 0 (a bus always exists)', async () => {
      for (const n of [0, 1, 22, 1000]) {
        const b = await openPromisified(n);
        assert.equal(b.busNumber, n);
        await b.close();
      }
    });

    it("rejects a bad bus number with i2c-bus's message", async () => {
      for (const [n, text] of [[-1, '-1'], [1.5, '1.5'], ['1', '1'], [undefined, 'undefined']] as const) {
        await assert.rejects(openPromisified(n as number), { message: `Invalid I2C bus number ${text}` });
      }
    });

    it('resolves asynchronously', async () => {
      let opened = false;
      const pending = openPromisified(2).then((b) => {
        opened = true;
        return b;
      });
      await Promise.resolve();
      assert.equal(opened, false);
      await (await pending).close();
    });
  });

  describe('argument checks (same messages as i2c-bus, as rejections)', () => {
    const buf = Buffer.alloc(40);
    const cases: [string, () => Promise<unknown>, string][] = [
      ['address 128', () => bus.readByte(128, 0), 'Invalid I2C address 128'],
      ['address -1', () => bus.writeByte(-1, 0, 0), 'Invalid I2C address -1'],
      ['address 1.5', () => bus.i2cRead(1.5, 1, buf), 'Invalid I2C address 1.5'],
      ['command 256', () => bus.readWord(ADDR, 256), 'Invalid I2C command 256'],
      ['command -1', () => bus.writeWord(ADDR, -1, 0), 'Invalid I2C command -1'],
      ['byte 256', () => bus.writeByte(ADDR, 0, 256), 'Invalid byte 256'],
      ['byte 0.5', () => bus.writeByte(ADDR, 0, 0.5), 'Invalid byte 0.5'],
      ['word 65536', () => bus.writeWord(ADDR, 0, 0x10000), 'Invalid word 65536'],
      ['block length 33', () => bus.readI2cBlock(ADDR, 0, 33, buf), 'Invalid buffer length 33'],
      ['block length -1', () => bus.writeI2cBlock(ADDR, 0, -1, buf), 'Invalid buffer length -1'],
      ['not a buffer', () => bus.writeI2cBlock(ADDR, 0, 2, [1, 2] as unknown as Buffer), 'Invalid buffer 1,2'],
      ['short buffer', () => bus.readI2cBlock(ADDR, 0, 4, Buffer.alloc(3)), 'Buffer must contain at least 4 bytes'],
      ['raw length -1', () => bus.i2cWrite(ADDR, -1, buf), 'Invalid buffer length -1'],
      ['raw short buffer', () => bus.i2cRead(ADDR, 41, buf), 'Buffer must contain at least 41 bytes'],
      ['bit 2', () => bus.writeQuick(ADDR, 2), 'Invalid bit 2'],
    ];
    for (const [what, call, message] of cases) {
      it(what, async () => {
        chip(BUS, ADDR);
        let promise: Promise<unknown> | undefined;
        assert.doesNotThrow(() => {
          promise = call();
        }, 'rejects, does not throw');
        await assert.rejects(promise!, (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.equal(err.message, message);
          assert.equal((err as { errno?: unknown }).errno, undefined);
          return true;
        });
      });
    }

    it('i2cRead and i2cWrite have no 32-byte limit', async () => {
      chip(BUS, ADDR);
      const { bytesRead } = await bus.i2cRead(ADDR, 40, Buffer.alloc(40));
      assert.equal(bytesRead, 40);
    });

    it('checks before anything else: a bad argument to an absent address is an argument error', async () => {
      await assert.rejects(bus.readByte(0x21, 300), { message: 'Invalid I2C command 300' });
    });

    it('a rejected call changes nothing', async () => {
      const c = chip(BUS, ADDR);
      await assert.rejects(bus.writeI2cBlock(ADDR, BANK0.IPOLA, 33, Buffer.alloc(33, 0xff)));
      assert.equal(c.register(BANK0.IPOLA), 0);
    });
  });

  describe('an address with no chip NACKs', () => {
    const smbus: [string, () => Promise<unknown>][] = [
      ['readByte', () => bus.readByte(0x21, 0)],
      ['writeByte', () => bus.writeByte(0x21, 0, 0)],
      ['readWord', () => bus.readWord(0x21, 0)],
      ['writeWord', () => bus.writeWord(0x21, 0, 0)],
      ['readI2cBlock', () => bus.readI2cBlock(0x21, 0, 6, Buffer.alloc(6))],
      ['writeI2cBlock', () => bus.writeI2cBlock(0x21, 0, 2, Buffer.alloc(2))],
    ];
    for (const [name, call] of smbus) {
      it(`${name}: ", Remote I/O error", errno 121, code '' (Nan's shape)`, async () => {
        chip(BUS, ADDR); // another address answers
        const err = await failure(call());
        assert.ok(err instanceof Error);
        assert.deepEqual(shape(err), { message: ', Remote I/O error', errno: 121, code: '' });
        assert.equal(classifyI2cError(err), 'absent');
      });
    }

    it("i2cRead: EREMOTEIO, errno -121, syscall 'read' (Node fs's shape)", async () => {
      const err = await failure(bus.i2cRead(0x21, 1, Buffer.alloc(1)));
      assert.ok(err instanceof Error);
      assert.deepEqual(shape(err), {
        message: 'EREMOTEIO: remote I/O error, read', errno: -121, code: 'EREMOTEIO', syscall: 'read',
      });
      assert.equal(classifyI2cError(err), 'absent');
    });

    it("i2cWrite: EREMOTEIO, errno -121, syscall 'write', even with no data (a quick write)", async () => {
      for (const length of [2, 0]) {
        const err = await failure(bus.i2cWrite(0x21, length, Buffer.alloc(2)));
        assert.deepEqual(shape(err), {
          message: 'EREMOTEIO: remote I/O error, write', errno: -121, code: 'EREMOTEIO', syscall: 'write',
        });
      }
    });

    it('a zero-length i2cRead never reaches the bus (Node answers it without a syscall)', async () => {
      const { bytesRead } = await bus.i2cRead(0x21, 0, Buffer.alloc(1));
      assert.equal(bytesRead, 0);
    });
  });

  describe('calls', () => {
    it('resolve asynchronously, each atomic, in call order', async () => {
      const c = chip(BUS, ADDR);
      const write = bus.writeI2cBlock(ADDR, BANK0.IPOLA, 2, Buffer.from([0x12, 0x34]));
      const read = bus.readWord(ADDR, BANK0.IPOLA);
      assert.equal(c.register(BANK0.IPOLA), 0, 'nothing happened synchronously');
      await Promise.resolve();
      assert.equal(c.register(BANK0.IPOLA), 0, 'nor in the same microtask round');
      const [, word] = await Promise.all([write, read]);
      assert.equal(word, 0x3412, 'the read ran after the write');
    });

    it('readI2cBlock fills and returns the given buffer', async () => {
      chip(BUS, ADDR);
      const buffer = Buffer.alloc(8, 0xee);
      const result = await bus.readI2cBlock(ADDR, BANK0.IODIRA, 3, buffer);
      assert.equal(result.bytesRead, 3);
      assert.equal(result.buffer, buffer);
      assert.deepEqual([...buffer], [0xff, 0xff, 0x00, 0xee, 0xee, 0xee, 0xee, 0xee]);
    });

    it('writeI2cBlock writes only `length` bytes and returns the given buffer', async () => {
      const c = chip(BUS, ADDR);
      const buffer = Buffer.from([1, 2, 3, 4]);
      const result = await bus.writeI2cBlock(ADDR, BANK0.IPOLA, 2, buffer);
      assert.deepEqual(result, { bytesWritten: 2, buffer });
      assert.equal(result.buffer, buffer);
      assert.deepEqual([c.register(BANK0.IPOLA), c.register(BANK0.IPOLB), c.register(BANK0.GPINTENA)], [1, 2, 0]);
    });

    it('readByte/writeByte and readWord/writeWord round-trip', async () => {
      chip(BUS, ADDR);
      assert.equal(await bus.writeByte(ADDR, BANK0.DEFVALA, 0x81), undefined);
      assert.equal(await bus.readByte(ADDR, BANK0.DEFVALA), 0x81);
      assert.equal(await bus.writeWord(ADDR, BANK0.DEFVALA, 0xbeef), undefined);
      assert.equal(await bus.readWord(ADDR, BANK0.DEFVALA), 0xbeef);
    });
  });

  describe('i2cRead / i2cWrite: one raw message each', () => {
    it('a write message sets the pointer and writes from there', async () => {
      const c = chip(BUS, ADDR);
      const buffer = Buffer.from([BANK0.IODIRA, 0x0f, 0xf0, 0x99]);
      const result = await bus.i2cWrite(ADDR, 3, buffer);
      assert.equal(result.bytesWritten, 3);
      assert.equal(result.buffer, buffer);
      assert.equal(c.register(BANK0.IODIRA), 0x0f);
      assert.equal(c.register(BANK0.IODIRB), 0xf0);
      assert.equal(c.register(BANK0.IPOLA), 0x00, 'the 4th byte was not sent');
    });

    it('a read message reads from the current pointer', async () => {
      const c = chip(BUS, ADDR);
      c.setInput(1, 1);
      c.setInput(9, 0);
      await bus.i2cWrite(ADDR, 1, Buffer.from([BANK0.GPIOA]));
      const result = await bus.i2cRead(ADDR, 2, Buffer.alloc(2));
      assert.equal(result.bytesRead, 2);
      assert.equal(result.buffer[0] & 1, 1);
      assert.equal(result.buffer[1] & 1, 0);
    });

    it('an empty write message (quick write) is acknowledged and changes nothing', async () => {
      const c = chip(BUS, ADDR);
      await bus.i2cWrite(ADDR, 1, Buffer.from([BANK0.OLATA]));
      const { bytesWritten } = await bus.i2cWrite(ADDR, 0, Buffer.alloc(0));
      assert.equal(bytesWritten, 0);
      await bus.i2cWrite(ADDR, 1, Buffer.from([BANK0.IODIRA]));
      assert.equal(c.register(BANK0.IODIRA), 0xff);
      const { buffer } = await bus.i2cRead(ADDR, 1, Buffer.alloc(1));
      assert.equal(buffer[0], 0xff, 'the pointer is where the last non-empty message left it');
    });

    it('SimulatedChip.writeMessage/readMessage are the same messages', () => {
      const c = chip(BUS, ADDR);
      c.writeMessage([BANK0.DEFVALA, 0x11, 0x22]);
      c.writeMessage(new Uint8Array([BANK0.DEFVALA]));
      assert.deepEqual([...c.readMessage(2)], [0x11, 0x22]);
      c.writeMessage([]);
      assert.deepEqual([...c.readMessage(0)], []);
      assert.throws(() => c.writeMessage([256]), RangeError);
      assert.throws(() => c.readMessage(-1), RangeError);
    });
  });

  describe('receiveByte, sendByte, writeQuick, scan', () => {
    it('map onto messages and probe like i2c-bus', async () => {
      const c = chip(BUS, ADDR);
      chip(BUS, 0x27);
      chip(2, 0x21); // another bus
      await bus.sendByte(ADDR, BANK0.IODIRB);
      assert.equal(await bus.receiveByte(ADDR), 0xff);
      await bus.writeQuick(ADDR, 0);
      await bus.writeQuick(ADDR, 1);
      assert.deepEqual(await bus.scan(), [0x20, 0x27]);
      assert.deepEqual(await bus.scan(0x27), [0x27]);
      assert.deepEqual(await bus.scan(0x21, 0x26), []);
      await assert.rejects(bus.writeQuick(0x21, 0), { message: ', Remote I/O error' });
      await assert.rejects(bus.receiveByte(0x21), { errno: 121 });
      assert.equal(c.register(BANK0.IODIRB), 0xff);
    });
  });

  describe('close()', () => {
    it("later calls reject with EBADF (SMBus calls: the documented shape; i2cRead/i2cWrite: Node fs's)", async () => {
      chip(BUS, ADDR);
      await bus.readByte(ADDR, 0);
      await bus.close();
      assert.deepEqual(shape(await failure(bus.readByte(ADDR, 0))), {
        message: 'EBADF: bad file descriptor', errno: -9, code: 'EBADF',
      });
      assert.deepEqual(shape(await failure(bus.i2cRead(ADDR, 1, Buffer.alloc(1)))), {
        message: 'EBADF: bad file descriptor, read', errno: -9, code: 'EBADF', syscall: 'read',
      });
      assert.deepEqual(shape(await failure(bus.i2cWrite(ADDR, 1, Buffer.alloc(1)))), {
        message: 'EBADF: bad file descriptor, write', errno: -9, code: 'EBADF', syscall: 'write',
      });
      await assert.rejects(bus.readByte(ADDR, 999), { message: 'Invalid I2C command 999' }, 'checks still first');
    });

    it('calls made before close() still complete', async () => {
      const c = chip(BUS, ADDR);
      const write = bus.writeByte(ADDR, BANK0.IPOLA, 0x42);
      const close = bus.close();
      await write;
      await close;
      assert.equal(c.register(BANK0.IPOLA), 0x42);
    });

    it('a second close rejects with EBADF if the bus was used (i2c-bus closes its fds again)', async () => {
      chip(BUS, ADDR);
      await bus.readByte(ADDR, 0);
      await bus.close();
      assert.deepEqual(shape(await failure(bus.close())), {
        message: 'EBADF: bad file descriptor, close', errno: -9, code: 'EBADF', syscall: 'close',
      });
      const unused = await openPromisified(BUS);
      await unused.close();
      await unused.close();
    });
  });

  describe('chip(), remove(), reset()', () => {
    it('chip() creates a power-on chip on first use and returns the same object later', () => {
      const c = chip(BUS, ADDR);
      assert.ok(c instanceof SimulatedChip);
      assert.equal(chip(BUS, ADDR), c);
      assert.notEqual(chip(BUS, 0x21), c);
      assert.notEqual(chip(2, ADDR), c);
      assert.equal(c.register(BANK0.IODIRA), 0xff);
    });

    it('chip() validates the bus (integer >= 0) and address (0x00-0x7F)', () => {
      for (const [b, a] of [[-1, ADDR], [1.5, ADDR], ['1', ADDR], [BUS, 0x80], [BUS, -1], [BUS, 0.5], [BUS, '32']]) {
        assert.throws(() => chip(b as number, a as number), Error, `${String(b)}, ${String(a)}`);
      }
      assert.equal(chip(0, 0x00).address, 0x00);
      assert.equal(chip(7, 0x7f).busNumber, 7);
    });

    it('remove() makes the chip NACK; a later chip() is a fresh power-on chip', async () => {
      const old = chip(BUS, ADDR);
      await bus.writeByte(ADDR, BANK0.IPOLA, 0x42);
      assert.equal(remove(BUS, ADDR), true);
      assert.equal(remove(BUS, ADDR), false, 'nothing left to remove');
      await assert.rejects(bus.readByte(ADDR, BANK0.IPOLA), { errno: 121 });
      const fresh = chip(BUS, ADDR);
      assert.notEqual(fresh, old);
      assert.equal(fresh.register(BANK0.IPOLA), 0);
      assert.equal(await bus.readByte(ADDR, BANK0.IPOLA), 0);
    });

    it('reset() forgets every chip on every bus', async () => {
      const a = chip(BUS, ADDR);
      chip(2, 0x21);
      reset();
      await assert.rejects(bus.readByte(ADDR, 0), { errno: 121 });
      const bus2 = await openPromisified(2);
      await assert.rejects(bus2.readByte(0x21, 0), { errno: 121 });
      await bus2.close();
      assert.notEqual(chip(BUS, ADDR), a);
    });

    it('two chips on one bus, and one address on two buses, are independent', async () => {
      const a = chip(BUS, 0x20);
      const b = chip(BUS, 0x21);
      const other = chip(2, 0x20);
      await bus.writeByte(0x20, BANK0.IPOLA, 0x11);
      await bus.writeByte(0x21, BANK0.IPOLA, 0x22);
      a.setInput(1, 0);
      b.setInput(1, 1);
      assert.equal(a.register(BANK0.IPOLA), 0x11);
      assert.equal(b.register(BANK0.IPOLA), 0x22);
      assert.equal(other.register(BANK0.IPOLA), 0x00);
      assert.equal(a.pinLevel(1), 0);
      assert.equal(b.pinLevel(1), 1);
      const bus2 = await openPromisified(2);
      assert.equal(await bus2.readByte(0x20, BANK0.IPOLA), 0x00);
      await bus2.close();
    });
  });

  describe('sharing', () => {
    it('keeps the registry on globalThis so that a second loaded copy of the module sees the same chips', async () => {
      const key = Symbol.for('node-red-contrib-iopi.simulator');
      assert.ok((globalThis as unknown as Record<symbol, unknown>)[key], 'registry on globalThis');
      const first = chip(BUS, ADDR);
      const dir = path.dirname(require.resolve('../lib/simulator'));
      const saved = new Map<string, NodeJS.Module | undefined>();
      for (const id of Object.keys(require.cache)) {
        if (id.startsWith(dir + path.sep)) {
          saved.set(id, require.cache[id]);
          delete require.cache[id];
        }
      }
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const copy = require('../lib/simulator') as typeof import('../lib/simulator');
        assert.notEqual(copy.SimulatedChip, SimulatedChip, 'really a second copy');
        assert.equal(copy.chip(BUS, ADDR), first);
        const bus2 = await copy.openPromisified(BUS);
        await bus2.writeByte(ADDR, BANK0.IPOLA, 0x5a);
        assert.equal(first.register(BANK0.IPOLA), 0x5a);
        const made = copy.chip(BUS, 0x27);
        assert.equal(chip(BUS, 0x27), made);
        copy.reset();
        assert.notEqual(chip(BUS, ADDR), first, "the copy's reset() reset ours");
        await bus2.close();
      } finally {
        for (const [id, mod] of saved) require.cache[id] = mod;
      }
    });

    it('simulatorBackend opens simulated buses', async () => {
      assert.equal(simulatorBackend.name, 'simulator');
      assert.equal(simulatorBackend.open, openPromisified);
      const c = chip(3, ADDR);
      const b = await simulatorBackend.open(3);
      await b.writeByte(ADDR, BANK0.DEFVALB, 0x24);
      assert.equal(c.register(BANK0.DEFVALB), 0x24);
      await b.close();
    });
  });
});
