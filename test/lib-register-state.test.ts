/**
 * The register cache on its own (lib/register-state.ts) and the write plan (lib/write-plan.ts): what
 * is written, what is desired, which requests share a batch (no state skipped unless `latest`),
 * withdrawal at a deadline, and the one order of writes.
 */
import assert from 'node:assert/strict';
import { BANK0, RegisterState, planWrites, powerOnValues, writeStage, type RegisterUpdate } from '../lib';

const olat = (mask: number, value: number | 'toggle'): RegisterUpdate => ({ changes: [{ register: 'OLAT', mask, value }] });
const opts = (over: Partial<{ latest: boolean; waitMs: number; now: number }> = {}) => ({ latest: false, waitMs: Infinity, now: 0, ...over });

describe('lib: RegisterState (the register cache)', () => {
  it('desired follows every request at once; written only moves when a batch is committed', async () => {
    const s = new RegisterState();
    const a = s.add(olat(0x0001, 0xffff), opts());
    s.add(olat(0x0002, 0xffff), opts());
    assert.equal(s.desired.OLAT, 0x0003);
    assert.equal(s.written.OLAT, 0x0000);
    const batch = s.nextBatch()!;
    assert.equal(batch.requests.length, 2, 'different pins share a batch');
    assert.deepEqual([...batch.bytes], [[BANK0.OLATA, 0x03]]);
    s.commit(batch);
    assert.equal(s.written.OLAT, 0x0003);
    assert.equal((await a.done).OLAT, 0x0003, 'resolved with what was written');
    assert.equal(s.size, 0);
  });

  it('a request that would skip an earlier state starts a new batch; latest requests may merge', () => {
    const s = new RegisterState();
    s.add(olat(0x0001, 0xffff), opts());
    s.add(olat(0x0001, 0), opts());
    s.add(olat(0x0001, 0), opts()); // the same value again: no state skipped
    const first = s.nextBatch()!;
    assert.equal(first.requests.length, 1);
    s.commit(first);
    const second = s.nextBatch()!;
    assert.equal(second.requests.length, 2);
    s.commit(second);
    s.add(olat(0x0001, 0xffff), opts({ latest: true }));
    s.add(olat(0x0001, 'toggle'), opts({ latest: true }));
    s.add(olat(0x0001, 'toggle'), opts({ latest: true }));
    const merged = s.nextBatch()!;
    assert.equal(merged.requests.length, 3, 'latest value only: one batch');
    assert.equal(merged.target.OLAT & 1, 1);
  });

  it('an every-state request never joins a batch of latest ones that it would skip, and the reverse', () => {
    const s = new RegisterState();
    s.add(olat(0x0001, 0xffff), opts({ latest: true }));
    s.add(olat(0x0001, 0), opts());
    assert.equal(s.nextBatch()!.requests.length, 1);
  });

  it('configuration bytes are written only where they change, outputs whenever asked for', () => {
    const s = new RegisterState();
    s.add({ changes: [{ register: 'IODIR', mask: 0x00ff, value: 0xffff }] }, opts()); // already inputs at power-on
    s.add(olat(0x00ff, 0), opts()); // same latch value: still written
    const batch = s.nextBatch()!;
    assert.deepEqual([...batch.bytes], [[BANK0.OLATA, 0x00]]);
  });

  it('a full batch (open, restore) holds every writable register, even with no request', () => {
    const s = new RegisterState();
    const batch = s.nextBatch(0, true)!;
    assert.equal(batch.requests.length, 0);
    assert.deepEqual([...batch.bytes.keys()].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 20, 21]);
    assert.equal(batch.bytes.get(BANK0.IODIRA), 0xff);
  });

  it('nextBatch stops at maxSeq (a job queued later owns the rest)', () => {
    const s = new RegisterState();
    s.add(olat(0x0001, 0xffff), opts());
    const boundary = s.lastSeq;
    s.add(olat(0x0002, 0xffff), opts());
    assert.equal(s.nextBatch(boundary)!.requests.length, 1);
  });

  it('expire withdraws waiting requests past their deadline: rejected, gone from desired, later ones kept in order', async () => {
    const s = new RegisterState();
    const early = s.add(olat(0x0001, 0xffff), opts({ waitMs: 100, now: 0 }));
    const toggle = s.add(olat(0x0003, 'toggle'), opts({ waitMs: 1000, now: 0 }));
    assert.equal(s.desired.OLAT, 0x0002);
    assert.equal(s.nextDeadline, 100);
    assert.equal(s.expire(99, () => new Error('x')), 0);
    assert.equal(s.expire(100, () => new Error('gone')), 1);
    await assert.rejects(early.done, { message: 'gone' });
    assert.equal(s.desired.OLAT, 0x0003, 'the toggle now applies to what was written');
    assert.equal(s.nextDeadline, 1000);
    s.commit(s.nextBatch()!);
    assert.equal((await toggle.done).OLAT, 0x0003);
  });

  it('a request being written is not withdrawn by its deadline; an aborted batch waits again (or is withdrawn if late)', async () => {
    const s = new RegisterState();
    const r = s.add(olat(0x0001, 0xffff), opts({ waitMs: 10, now: 0 }));
    const batch = s.nextBatch()!;
    assert.equal(s.expire(50, () => new Error('late')), 0, 'writing: the write decides');
    s.abort(batch, 50, () => new Error('not written'));
    await assert.rejects(r.done, { message: 'not written' });
    assert.equal(s.size, 0);
    assert.equal(s.desired.OLAT, 0);
  });

  it('pendingAddresses names the bytes that requests not yet written will change', () => {
    const s = new RegisterState();
    s.add({ changes: [{ register: 'GPPU', mask: 0x0100, value: 0xffff }], iocon: 0x44 }, opts());
    assert.deepEqual([...s.pendingAddresses()].sort((a, b) => a - b), [BANK0.IOCONA, BANK0.IOCONB, BANK0.GPPUB]);
  });

  it('adopt sets what the chip holds without a request', () => {
    const s = new RegisterState({ ...powerOnValues() });
    s.add(olat(0x0001, 0xffff), opts());
    s.adopt('OLAT', 0xf0f0);
    assert.equal(s.written.OLAT, 0xf0f0);
    assert.equal(s.desired.OLAT, 0xf0f1);
  });
});

describe('lib: the write plan', () => {
  it('IOCON, OLAT, IPOL/DEFVAL/INTCON/GPPU, IODIR, GPINTEN; neighbours in one write; IOCON bridges DEFVAL..GPPU', () => {
    const bytes = new Map<number, number>();
    for (let a = 0; a <= 0x0d; a++) bytes.set(a, a);
    bytes.set(BANK0.OLATA, 0x55).set(BANK0.OLATB, 0xaa);
    bytes.delete(BANK0.IOCONB);
    const plan = planWrites(bytes, 0x44);
    assert.deepEqual(plan.map((w) => [w.register, w.values.length]), [
      [BANK0.IOCONA, 1], [BANK0.OLATA, 2], [BANK0.IPOLA, 2], [BANK0.DEFVALA, 8], [BANK0.IODIRA, 2], [BANK0.GPINTENA, 2],
    ]);
    assert.deepEqual(plan[3].values, [6, 7, 8, 9, 0x44, 0x44, 0x0c, 0x0d], 'the IOCON addresses filled with IOCON');
  });

  it('a reconfiguration of one pin: polarity and pull-up before the direction, the interrupt enable last', () => {
    const plan = planWrites(new Map([[BANK0.GPINTENA, 4], [BANK0.IODIRA, 4], [BANK0.GPPUA, 4], [BANK0.IPOLA, 4]]));
    assert.deepEqual(plan.map((w) => w.register), [BANK0.IPOLA, BANK0.GPPUA, BANK0.IODIRA, BANK0.GPINTENA]);
  });

  it('stages of every register; INTF, INTCAP and GPIO are never written', () => {
    assert.deepEqual([BANK0.IOCONA, BANK0.OLATB, BANK0.INTCONB, BANK0.IODIRB, BANK0.GPINTENB].map(writeStage), [0, 1, 2, 3, 4]);
    for (const a of [BANK0.INTFA, BANK0.INTCAPB, BANK0.GPIOA]) assert.equal(writeStage(a), undefined);
  });
});
