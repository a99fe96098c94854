/**
 * Reliability: the simulator's fault injection (lib/simulator/faults.ts) and what the
 * driver and the supervisor make of each fault: error shapes as i2c-bus gives them, the Nth
 * transaction, predicates, unplug with and without state, and the supervisor's capped backoff.
 */
import assert from 'node:assert/strict';
import * as sim from '../lib/simulator';
import { Mcp23017 } from '../lib/driver';
import { ChipSupervisor, type SupervisorStatus } from '../lib/supervisor';
import { Transport } from '../lib/transport';
import { BANK0 } from '../lib/registers';
import { classifyI2cError } from '../lib/errors';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(cond: () => boolean, timeout: number, what: string): Promise<void> {
  const end = Date.now() + timeout;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(2);
  }
}

describe('reliability: simulator fault injection', () => {
  let stopLater: ChipSupervisor | undefined;
  beforeEach(() => sim.reset());
  afterEach(async () => {
    await stopLater?.stop(); // also when a test failed: no timer keeps mocha alive
    stopLater = undefined;
    sim.reset();
  });

  it('EIO and ETIMEDOUT in the shapes i2c-bus gives (Nan for SMBus, fs for plain reads/writes)', async () => {
    sim.chip(1, 0x20);
    const bus = await sim.openPromisified(1);
    sim.injectFault({ error: 'eio' });
    const eio = await bus.readByte(0x20, 0).then(() => undefined, (e) => e);
    assert.equal(eio.message, 'EIO, Input/output error');
    assert.equal(eio.errno, 5);
    assert.equal(eio.code, 'EIO');
    assert.equal(classifyI2cError(eio), 'io');
    sim.injectFault({ error: 'timeout' });
    const timeout = await bus.writeByte(0x20, 0, 0).then(() => undefined, (e) => e);
    assert.equal(timeout.message, 'ETIMEDOUT, Connection timed out');
    assert.equal(timeout.errno, 110);
    assert.equal(classifyI2cError(timeout), 'timeout');
    sim.injectFault({ error: 'eio' });
    const fsEio = await bus.i2cRead(0x20, 1, Buffer.alloc(1)).then(() => undefined, (e) => e);
    assert.equal(fsEio.code, 'EIO');
    assert.equal(fsEio.errno, -5);
    assert.equal(fsEio.syscall, 'read');
    sim.injectFault({ error: 'nack' });
    const nack = await bus.writeI2cBlock(0x20, 0, 1, Buffer.from([1])).then(() => undefined, (e) => e);
    assert.equal(nack.errno, 121);
    assert.equal(classifyI2cError(nack), 'absent');
    // faults are used up: the next call works
    assert.equal(await bus.readByte(0x20, BANK0.IODIRA), 0xff);
    await bus.close();
  });

  it('failNth: only the Nth matching transaction fails, and by default it does not reach the chip', async () => {
    const c = sim.chip(1, 0x20);
    const bus = await sim.openPromisified(1);
    const fault = sim.failNth(3, { address: 0x20, methods: ['writeByte'] });
    await bus.readByte(0x20, 0); // not a writeByte: not counted
    await bus.writeByte(0x20, BANK0.OLATA, 1);
    await bus.writeByte(0x20, BANK0.OLATA, 2);
    await assert.rejects(bus.writeByte(0x20, BANK0.OLATA, 3), /EIO/);
    assert.equal(c.register(BANK0.OLATA), 2, 'the failed write did not land');
    await bus.writeByte(0x20, BANK0.OLATA, 4);
    assert.equal(c.register(BANK0.OLATA), 4);
    assert.equal(fault.seen, 3);
    assert.equal(fault.failed, 1);
    assert.equal(fault.active, false);
    assert.deepEqual(fault.failures.map((t) => [t.method, t.register, t.read, t.write]), [['writeByte', BANK0.OLATA, false, true]]);
    assert.equal(sim.activeFaults().length, 0);
    await bus.close();
  });

  it('a predicate N times; reachesChip: the write lands but reports an error', async () => {
    const c = sim.chip(1, 0x20);
    const bus = await sim.openPromisified(1);
    const seen: number[] = [];
    const fault = sim.injectFault({
      match: (t) => { seen.push(t.register ?? -1); return t.register === BANK0.OLATB; },
      times: 2, reachesChip: true, error: 'timeout',
    });
    await bus.writeByte(0x20, BANK0.OLATA, 7);
    await assert.rejects(bus.writeByte(0x20, BANK0.OLATB, 8), /ETIMEDOUT/);
    assert.equal(c.register(BANK0.OLATB), 8, 'reached the chip');
    await assert.rejects(bus.writeByte(0x20, BANK0.OLATB, 9), /ETIMEDOUT/);
    await bus.writeByte(0x20, BANK0.OLATB, 10);
    assert.equal(c.register(BANK0.OLATB), 10);
    assert.equal(fault.failed, 2);
    assert.deepEqual(seen, [BANK0.OLATA, BANK0.OLATB, BANK0.OLATB]); // not called once used up
    // times: Infinity until cleared; a custom error
    const forever = sim.injectFault({ times: Infinity, error: () => Object.assign(new Error('EBUSY'), { errno: 16 }) });
    for (let i = 0; i < 5; i++) await assert.rejects(bus.readByte(0x20, 0), /EBUSY/);
    forever.clear();
    await bus.readByte(0x20, 0);
    assert.throws(() => sim.injectFault({ times: 0 }), /times/);
    assert.throws(() => sim.failNth(0), /n must be/);
    assert.throws(() => sim.injectFault({ error: 'bogus' as never }), /error must be/);
    await bus.close();
  });

  it('unplug keeps the chip state (data wire) or returns it at power-on (power wire); works before the chip exists', async () => {
    const bus = await sim.openPromisified(1);
    sim.unplug(1, 0x21); // no chip yet
    const c = sim.chip(1, 0x21);
    await assert.rejects(bus.readByte(0x21, 0), (e: { errno: number }) => e.errno === 121);
    assert.equal(sim.isUnplugged(1, 0x21), true);
    assert.equal(sim.plugIn(1, 0x21), true);
    assert.equal(sim.plugIn(1, 0x21), false);
    await bus.writeByte(0x21, BANK0.IODIRA, 0x0f);
    sim.unplug(1, 0x21);
    await assert.rejects(bus.writeByte(0x21, BANK0.IODIRA, 0x00), /Remote I\/O/);
    assert.deepEqual(await sim.openPromisified(1).then((b) => b.scan(0x21)), [0x21], 'scan is not a transaction of the bus object');
    sim.plugIn(1, 0x21);
    assert.equal(await bus.readByte(0x21, BANK0.IODIRA), 0x0f, 'state kept');
    sim.unplug(1, 0x21, { keepState: false });
    await assert.rejects(bus.i2cWrite(0x21, 1, Buffer.from([0])), (e: { code: string }) => e.code === 'EREMOTEIO');
    sim.plugIn(1, 0x21);
    assert.equal(c.register(BANK0.IODIRA), 0xff, 'power-on state');
    sim.unplug(1, 0x21);
    sim.reset();
    assert.equal(sim.isUnplugged(1, 0x21), false, 'reset clears faults');
    await bus.close();
  });

  it('the supervisor probes an absent chip at a steady rate and recovers by itself', async () => {
    const c = sim.chip(1, 0x20);
    sim.unplug(1, 0x20);
    const driver = new Mcp23017({ busNumber: 1, address: 0x20, backend: sim.simulatorBackend });
    const sup = new ChipSupervisor(driver, { pollInterval: 0, probeInterval: 10 });
    const statuses: SupervisorStatus[] = [];
    sup.on('status', (s) => statuses.push(s));
    const warnings: string[] = [];
    sup.on('warning', (w) => warnings.push(w));
    void driver.writePin(1, 1, { waitMs: Infinity }).catch(() => undefined); // staged before the open
    void driver.configurePins({ mask: 1, direction: 0 }, { waitMs: Infinity }).catch(() => undefined);
    sup.start();
    stopLater = sup;
    await waitFor(() => statuses.filter((s) => s.state === 'offline').length >= 6, 2000, '6 attempts');
    const delays = statuses.filter((s) => s.state === 'offline').map((s) => s.retryInMs);
    assert.deepEqual(delays.slice(0, 6), [10, 10, 10, 10, 10, 10], 'one steady probe interval');
    assert.equal(statuses[0].error?.kind, 'absent');
    assert.match(statuses[0].error!.message, /no device at 0x20 on \/dev\/i2c-1/);
    assert.equal(warnings.length, 1, 'one log line for a repeated failure');
    sim.plugIn(1, 0x20);
    await waitFor(() => sup.status.state === 'online', 1000, 'online');
    assert.equal(c.register(BANK0.IODIRA) & 1, 0, 'configuration applied');
    assert.equal(c.pinLevel(1), 1, 'pending output applied');
    await sup.stop();
    assert.equal(Transport.openCount(), 0);
  });
});
