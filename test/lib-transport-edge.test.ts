/**
 * The per-bus transport beyond the basics: exact byte counts, the FIFO surviving failures, a bus that
 * fails to open (retried, not remembered), the registry across release/acquire, short reads, and the
 * order of transactions of two chips as the bus sees it.
 */
import assert from 'node:assert/strict';
import { I2cError, Transport, type Backend, type I2cBus } from '../lib';
import * as sim from '../lib/simulator';
import { faultyBackend, i2cErrors, waitUntil, type FaultyBackend } from './helpers/faulty-backend';

const BUS = 1;

describe('lib: Transport, edge cases', () => {
  let backend: FaultyBackend;
  let transports: Transport[];
  const acquire = (bus = BUS, b: Backend = backend) => {
    const t = Transport.acquire(bus, b);
    transports.push(t);
    return t;
  };

  beforeEach(() => {
    sim.reset();
    sim.chip(BUS, 0x20);
    sim.chip(BUS, 0x21);
    backend = faultyBackend();
    transports = [];
  });
  afterEach(async () => {
    backend.release();
    for (const t of transports) while (t.users > 0) await t.release();
    assert.equal(Transport.openCount(), 0);
  });

  it('counts transactions and bytes on the wire exactly (address and data bytes)', async () => {
    const t = acquire();
    await t.writeByte(0x20, 0x00, 0x00); // addr, reg, value
    assert.deepEqual({ ...t.stats }, { transactions: 1, bytes: 3, errors: 0, retries: 0, reopens: 0 });
    await t.readByte(0x20, 0x00); // addr, reg, addr, value
    assert.deepEqual({ ...t.stats }, { transactions: 2, bytes: 7, errors: 0, retries: 0, reopens: 0 });
    await t.readBlock(0x20, 0x0e, 6); // addr, reg, addr, 6 bytes: the service read
    assert.deepEqual({ ...t.stats }, { transactions: 3, bytes: 16, errors: 0, retries: 0, reopens: 0 });
    await t.writeBlock(0x20, 0x14, [1, 2]); // addr, reg, 2 bytes
    assert.deepEqual({ ...t.stats }, { transactions: 4, bytes: 20, errors: 0, retries: 0, reopens: 0 });
    assert.equal(sim.chip(BUS, 0x20).register(0x15), 2);
  });

  it('a failed transaction does not stall the queue; errors name bus, address and register', async () => {
    const t = acquire();
    for (let i = 0; i < 4; i++) backend.failNext(i2cErrors.eio()); // the first try and its 3 retries
    const results = await Promise.allSettled([t.readByte(0x21, 0x13), t.writeByte(0x20, 0x14, 0x42), t.readByte(0x20, 0x14)]);
    assert.equal(results[0].status, 'rejected');
    const err = (results[0] as PromiseRejectedResult).reason;
    assert.ok(err instanceof I2cError);
    assert.equal(err.kind, 'io');
    assert.equal(err.bus, BUS);
    assert.equal(err.address, 0x21);
    assert.equal(err.message, 'I2C I/O error at 0x21 on /dev/i2c-1 while reading GPIOB');
    assert.deepEqual(results.slice(1), [{ status: 'fulfilled', value: undefined }, { status: 'fulfilled', value: 0x42 }]);
    assert.equal(t.stats.errors, 1);
    assert.equal(t.stats.retries, 3);
    assert.equal(t.stats.transactions, 6, '4 attempts of the first, then the other two');
    assert.equal(t.queued, 0);
  });

  it('a bus that fails to open is opened again by the next transaction, not remembered as failed', async () => {
    const t = acquire();
    backend.failOpen(i2cErrors.noBus(BUS));
    const [first, second] = await Promise.allSettled([t.readByte(0x20, 0), t.readByte(0x20, 0)]);
    assert.equal(first.status, 'rejected');
    const err = (first as PromiseRejectedResult).reason as I2cError;
    assert.equal(err.kind, 'no-bus');
    assert.equal(err.message, 'no I2C bus /dev/i2c-1 (enable I2C, e.g. with raspi-config)');
    assert.deepEqual(second, { status: 'fulfilled', value: 0xff }, 'IODIRA at power-on');
    assert.equal(backend.opens, 2);
    assert.equal(t.stats.errors, 1);
  });

  it('release: extra releases are harmless; after the last one a new acquire gets a fresh transport and opens the bus again', async () => {
    const a = acquire();
    assert.equal(a.users, 1);
    await a.readByte(0x20, 0);
    await a.release();
    await a.release(); // one too many
    assert.equal(a.users, 0);
    assert.equal(Transport.openCount(), 0);
    assert.equal(backend.closes, 1);
    const b = acquire();
    assert.notEqual(b, a);
    assert.equal(Transport.openCount(), 1);
    await b.readByte(0x20, 0);
    assert.equal(backend.opens, 2);
    await assert.rejects(a.readByte(0x20, 0), /the transport of \/dev\/i2c-1 is closed/);
    assert.equal(backend.opens, 2, 'the closed transport sent nothing');
  });

  it('different backends never share a transport, even for the same bus number', () => {
    const other = faultyBackend();
    const a = acquire(BUS, backend);
    const b = acquire(BUS, other);
    const c = acquire(2, backend);
    assert.notEqual(a, b);
    assert.notEqual(a, c);
    assert.equal(acquire(BUS, backend), a);
    assert.equal(a.users, 2);
    assert.equal(Transport.openCount(), 3);
  });

  it('two chips: the bus sees their transactions in exactly the order they were called, one at a time', async () => {
    const t = acquire();
    backend.hold();
    const ops: Promise<unknown>[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 40; i++) {
      const address = i % 3 === 0 ? 0x21 : 0x20;
      if (i % 2) {
        ops.push(t.writeByte(address, 0x14, i));
        expected.push(`writeByte ${address} ${i}`);
      } else {
        ops.push(t.readByte(address, 0x14));
        expected.push(`readByte ${address}`);
      }
    }
    await waitUntil(() => backend.calls.length > 0, 1000, 'the first transaction');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(backend.calls.length, 1, 'only the first transaction is on the bus');
    assert.equal(t.queued, 40);
    backend.release();
    await Promise.all(ops);
    assert.deepEqual(backend.calls.map((c) => `${c.method} ${c.address}${c.data ? ' ' + c.data[0] : ''}`), expected);
    assert.equal(sim.chip(BUS, 0x20).register(0x14), 37);
    assert.equal(sim.chip(BUS, 0x21).register(0x14), 39);
  });

  describe('classification of the rarer errors', () => {
    const cases: [string, unknown, string, string][] = [
      ['EBUSY (16)', Object.assign(new Error('EBUSY'), { errno: -16, code: 'EBUSY' }), 'busy', '/dev/i2c-1 is busy at 0x20'],
      ['ENODEV (19)', Object.assign(new Error('ENODEV'), { errno: -19, code: 'ENODEV' }), 'no-bus', 'no I2C bus /dev/i2c-1 (enable I2C, e.g. with raspi-config)'],
      ['EPERM (1)', Object.assign(new Error('EPERM'), { errno: -1, code: 'EPERM' }), 'permission', 'permission denied on /dev/i2c-1 (add the user to the i2c group)'],
      ['a code without errno', Object.assign(new Error('x'), { code: 'EREMOTEIO' }), 'absent', 'no device at 0x20 on /dev/i2c-1 (Remote I/O error)'],
      ['ENXIO by code only', Object.assign(new Error('x'), { code: 'ENXIO' }), 'absent', 'no device at 0x20 on /dev/i2c-1 (Remote I/O error)'],
      ['an errno nobody knows', Object.assign(new Error(', Strange error'), { errno: 999, code: '' }), 'unknown', 'I2C error at 0x20 on /dev/i2c-1 while reading OLATA: Strange error'],
      ['not an Error at all', 'bus on fire', 'unknown', 'I2C error at 0x20 on /dev/i2c-1 while reading OLATA: bus on fire'],
    ];
    for (const [name, cause, kind, message] of cases) {
      it(`${name} → ${kind}`, async () => {
        const t = acquire();
        backend.failNext(cause as Error);
        await assert.rejects(t.readByte(0x20, 0x14), (err: unknown) => {
          assert.ok(err instanceof I2cError);
          assert.equal(err.kind, kind);
          assert.equal(err.message, message);
          assert.equal(err.cause, cause);
          return true;
        });
      });
    }

    it('a call on a bus closed under us (EBADF) is reported, not swallowed', async () => {
      const bus = await sim.openPromisified(BUS);
      await bus.close();
      const t = acquire(BUS, { name: 'closed-bus', open: async () => bus });
      await assert.rejects(t.writeByte(0x20, 0x14, 1), { name: 'I2cError', message: /^I2C error at 0x20 on \/dev\/i2c-1 while writing OLATA: EBADF/ });
    });
  });

  it('a short block read is an I/O error', async () => {
    const shortBus = {
      readI2cBlock: async (_a: number, _r: number, _l: number, buffer: Buffer) => ({ bytesRead: 3, buffer }),
      close: async () => undefined,
    } as unknown as I2cBus;
    const t = acquire(BUS, { name: 'short-read', open: async () => shortBus });
    await assert.rejects(t.readBlock(0x20, 0x0e, 6), (err: unknown) => err instanceof I2cError && err.kind === 'io'
      && err.message === 'I2C I/O error at 0x20 on /dev/i2c-1 while reading INTFA');
  });
});
