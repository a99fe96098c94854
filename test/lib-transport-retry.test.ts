/**
 * The transport's answer to the faults a real bus has: transient errors retried in place (inside the
 * transaction's FIFO slot), the bus handle reopened after a timeout or a bad descriptor, absent chips
 * reported at once, every retry counted and reported.
 */
import assert from 'node:assert/strict';
import { I2cError, Transport, type Backend, type RetryEvent } from '../lib';
import * as sim from '../lib/simulator';
import { faultyBackend, i2cErrors, type FaultyBackend } from './helpers/faulty-backend';

const BUS = 1;

describe('lib: Transport, retries and reopening', () => {
  let backend: FaultyBackend;
  let transports: Transport[];
  let slept: number[];
  const acquire = (b: Backend = backend) => {
    // An injected sleep: the delays are recorded, not waited for.
    const t = Transport.acquire(BUS, b, { sleep: async (ms) => void slept.push(ms) });
    transports.push(t);
    return t;
  };

  beforeEach(() => {
    sim.reset();
    sim.chip(BUS, 0x20);
    sim.chip(BUS, 0x21);
    backend = faultyBackend();
    transports = [];
    slept = [];
  });
  afterEach(async () => {
    backend.release();
    for (const t of transports) while (t.users > 0) await t.release();
    assert.equal(Transport.openCount(), 0);
  });

  it('an EIO is retried on the same handle after a short wait: the caller sees the value, the retry is reported', async () => {
    const t = acquire();
    const events: RetryEvent[] = [];
    t.on('retry', (e) => events.push(e));
    backend.failNext(i2cErrors.eio());
    assert.equal(await t.readByte(0x20, 0x00), 0xff);
    assert.deepEqual(events, [{ address: 0x20, what: 'reading IODIRA', kind: 'io', attempt: 1, reopened: false }]);
    assert.deepEqual(slept, [1]);
    assert.equal(backend.opens, 1, 'not reopened');
    assert.deepEqual({ ...t.stats, bytes: 0 }, { transactions: 2, bytes: 0, errors: 0, retries: 1, reopens: 0 });
  });

  it('an EIO that persists: three retries (the last one on a reopened handle), then the error; the next transaction starts on a fresh handle', async () => {
    const t = acquire();
    for (let i = 0; i < 4; i++) backend.failNext(i2cErrors.eio());
    await assert.rejects(t.writeByte(0x20, 0x14, 1), (err: unknown) => err instanceof I2cError && err.kind === 'io'
      && err.message === 'I2C I/O error at 0x20 on /dev/i2c-1 while writing OLATA');
    assert.deepEqual(slept, [1, 2, 5]);
    assert.equal(backend.opens, 2, 'reopened before the last retry');
    assert.equal(backend.closes, 1);
    assert.equal(await t.readByte(0x20, 0x14), 0x00, 'the write never landed');
    assert.equal(backend.opens, 3, 'and reopened again before the next transaction');
    assert.deepEqual({ ...t.stats, bytes: 0 }, { transactions: 5, bytes: 0, errors: 1, retries: 3, reopens: 2 });
  });

  it('a timeout closes and reopens the bus before its one retry', async () => {
    const t = acquire();
    const reopens: unknown[] = [];
    t.on('reopen', (e) => reopens.push(e));
    backend.failNext(i2cErrors.timeout());
    await t.writeByte(0x21, 0x14, 0x5a);
    assert.equal(sim.chip(BUS, 0x21).register(0x14), 0x5a);
    assert.equal(backend.opens, 2);
    assert.equal(backend.closes, 1);
    assert.deepEqual(reopens, [{ why: 'timeout' }]);
    backend.failNext(i2cErrors.timeout());
    backend.failNext(i2cErrors.timeout());
    await assert.rejects(t.writeByte(0x21, 0x14, 0x00), (err: unknown) => err instanceof I2cError && err.kind === 'timeout');
    assert.equal(sim.chip(BUS, 0x21).register(0x14), 0x5a);
  });

  it('a NACK from an address that never answered is final at once (an absent chip); from one that answered it is a glitch and retried', async () => {
    const t = acquire();
    await assert.rejects(t.readByte(0x25, 0x00), (err: unknown) => err instanceof I2cError && err.kind === 'absent');
    assert.equal(t.stats.retries, 0, 'no retry for an address that never answered');
    assert.equal(await t.readByte(0x20, 0x00), 0xff);
    backend.failNext(i2cErrors.smbusNack());
    assert.equal(await t.readByte(0x20, 0x00), 0xff, 'retried');
    assert.equal(t.stats.retries, 1);
    // Unplugged for good: the retries fail too, then the address counts as gone (its next NACK is final).
    sim.unplug(BUS, 0x20);
    await assert.rejects(t.readByte(0x20, 0x00), (err: unknown) => err instanceof I2cError && err.kind === 'absent');
    assert.equal(t.stats.retries, 4);
    await assert.rejects(t.readByte(0x20, 0x00), (err: unknown) => err instanceof I2cError && err.kind === 'absent');
    assert.equal(t.stats.retries, 4, 'no retries once it is known to be gone');
    assert.equal(backend.opens, 1, 'a NACK never reopens the bus');
  });

  it('a retry holds the transaction\'s place: nothing queued behind it overtakes it', async () => {
    const t = acquire();
    backend.failNext(i2cErrors.eio());
    backend.failNext(i2cErrors.eio());
    await Promise.all([t.writeByte(0x20, 0x14, 1), t.writeByte(0x20, 0x14, 2), t.writeByte(0x20, 0x14, 3)]);
    const order = backend.calls.filter((c) => c.method === 'writeByte').map((c) => c.data?.[0]);
    assert.deepEqual(order, [1, 1, 1, 2, 3], 'the first write three times, then the others in order');
    assert.equal(sim.chip(BUS, 0x20).register(0x14), 3);
  });

  it('EBADF (the handle was closed under us) reopens the bus, and the retry works on the new one', async () => {
    let opens = 0;
    const closed = await sim.openPromisified(BUS);
    await closed.close();
    const flaky: Backend = { name: 'ebadf-once', open: async () => (++opens === 1 ? closed : sim.openPromisified(BUS)) };
    const t = acquire(flaky);
    await t.writeByte(0x20, 0x14, 7);
    assert.equal(opens, 2);
    assert.equal(sim.chip(BUS, 0x20).register(0x14), 7);
    assert.equal(t.stats.reopens, 1);
  });

  it('the retry policy is the first user\'s choice', async () => {
    const t = Transport.acquire(BUS, backend, { retry: { retries: 0 }, sleep: async () => undefined });
    transports.push(t);
    backend.failNext(i2cErrors.eio());
    await assert.rejects(t.readByte(0x20, 0x00), { name: 'I2cError' });
    assert.equal(t.stats.retries, 0);
  });
});
