/**
 * The done() contract at the library level, on a clock the test moves by hand (no sleeps, no
 * millisecond margins): a write during an outage waits up to its wait time; the chip answering in
 * time gets it (in order) and the call resolves; otherwise the call rejects with NotWrittenError and
 * the value is never written, and after a long outage the chip gets the last value that resolved. The
 * supervisor probes at one steady interval and picks the chip up at the first probe that answers.
 */
import assert from 'node:assert/strict';
import { BANK0, ChipSupervisor, Mcp23017, NotWrittenError, Transport } from '../lib';
import * as sim from '../lib/simulator';
import { FakeClock, settle } from './helpers/fake-clock';

const BUS = 1;

describe('lib: writes wait for the chip, up to their wait time', () => {
  let clock: FakeClock;
  let supervisor: ChipSupervisor | undefined;

  const start = async (writeWaitMs = 2000) => {
    const driver = new Mcp23017({ busNumber: BUS, address: 0x20, backend: sim.simulatorBackend, clock, writeWaitMs, transport: { sleep: async () => undefined } });
    supervisor = new ChipSupervisor(driver, { pollInterval: 50, verifyInterval: 0, probeInterval: 1000, clock });
    void driver.setPortDirection(0, 0x00);
    supervisor.subscribeInputs(0xff00, { baseline: () => undefined, changes: () => undefined }); // polling runs
    supervisor.start();
    await clock.advance(0);
    await settle(20);
    assert.equal(supervisor.status.state, 'online');
    return driver;
  };

  beforeEach(() => {
    sim.reset();
    sim.chip(BUS, 0x20);
    clock = new FakeClock();
  });
  afterEach(async () => {
    await supervisor?.stop();
    supervisor = undefined;
    assert.equal(Transport.openCount(), 0);
  });

  it('the chip answers within the wait time: every waiting write is written, in order, and resolves', async () => {
    const d = await start();
    sim.unplug(BUS, 0x20);
    const first = d.writePin(1, 1);
    await settle(20);
    assert.equal(d.state, 'offline');
    const second = d.writePin(1, 0);
    const third = d.writePin(2, 1);
    const written: number[] = [];
    const c = sim.chip(BUS, 0x20);
    const orig = c.writeMessage.bind(c);
    c.writeMessage = (data: number[]) => {
      if (data[0] === BANK0.OLATA && data.length > 1) written.push(data[1]);
      return orig(data);
    };
    await clock.advance(999);
    assert.deepEqual(written, [], 'nothing written while it does not answer');
    sim.plugIn(BUS, 0x20);
    await clock.advance(1);
    await settle(20);
    // Pin 1 on, then pin 1 off together with pin 2 on (different pins share a write): no state skipped.
    assert.deepEqual(await Promise.all([first, second, third]), [0x01, 0x02, 0x02]);
    assert.deepEqual(written, [0x01, 0x02], 'every state, in order');
    assert.equal(c.register(BANK0.OLATA), 0x02);
  });

  it('the chip answers too late: the writes reject with NotWrittenError at their deadline and are never written; the chip gets the last value that resolved', async () => {
    const d = await start(2000);
    assert.equal(await d.writePin(3, 1), 0x04);
    sim.unplug(BUS, 0x20);
    const lost = d.writePin(3, 0);
    const lostToo = d.writePort(0, 0xf0);
    let settled = false;
    void Promise.allSettled([lost, lostToo]).then(() => { settled = true; });
    await clock.advance(1999);
    assert.equal(settled, false, 'still waiting just before the deadline');
    await clock.advance(1);
    await assert.rejects(lost, (err: unknown) => err instanceof NotWrittenError && err.kind === 'absent'
      && err.message === 'not written within 2000 ms: no device at 0x20 on /dev/i2c-1 (Remote I/O error)');
    await assert.rejects(lostToo, NotWrittenError);
    assert.equal(d.getOutputs() & 0xff, 0x04, 'withdrawn: the desired outputs are the last that resolved');
    sim.plugIn(BUS, 0x20);
    await clock.advance(1000);
    await settle(20);
    assert.equal(supervisor!.status.state, 'online');
    assert.equal(sim.chip(BUS, 0x20).register(BANK0.OLATA), 0x04, 'never written later');
  });

  it('settings (waitMs: Infinity) wait as long as it takes', async () => {
    const d = await start(100);
    sim.unplug(BUS, 0x20, { keepState: false });
    const setting = d.configurePins({ mask: 0x0100, pullup: 0xffff }, { waitMs: Infinity });
    await clock.advance(60_000);
    sim.plugIn(BUS, 0x20);
    await clock.advance(1000);
    await settle(20);
    await setting;
    assert.equal(sim.chip(BUS, 0x20).register(BANK0.GPPUB), 0x01);
    assert.equal(sim.chip(BUS, 0x20).register(BANK0.IODIRA), 0x00, 'and the configuration came back after the power loss');
  });

  it('probes at one steady interval while offline: picked up by the first probe after it answers', async () => {
    await start();
    const states: [string, number | undefined][] = [];
    supervisor!.on('status', (s) => states.push([s.state, s.failedProbes]));
    sim.unplug(BUS, 0x20);
    await clock.advance(50); // the next poll notices
    await settle(20);
    for (let i = 0; i < 5; i++) await clock.advance(1000);
    assert.deepEqual(states, [['offline', 0], ['offline', 1], ['offline', 2], ['offline', 3], ['offline', 4], ['offline', 5]]);
    sim.plugIn(BUS, 0x20);
    assert.equal(clock.pending > 0, true);
    await clock.advance(1000);
    await settle(20);
    assert.deepEqual(states.slice(-1), [['online', undefined]]);
  });
});
