/**
 * The chip supervisor beyond the basics: nothing left running after stop() in any state (checked
 * with Node's own list of active handles), reads by other callers feeding the input stream once,
 * direction changes while watching, compare-mode pins held across many polls, the backoff reset
 * after a recovery, and the debouncer's confirming read.
 */
import assert from 'node:assert/strict';
import { BANK0, ChipSupervisor, Debouncer, Mcp23017, Transport, type InputStep, type SupervisorOptions, type SupervisorStatus } from '../lib';
import * as sim from '../lib/simulator';
import { unwatchAll, watchAll } from './helpers/watch';
import { faultyBackend, i2cErrors, waitUntil, type FaultyBackend } from './helpers/faulty-backend';

const BUS = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Active timers (Node's 'Timeout' resources), e.g. a supervisor's poll, verify and retry timers. */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
/** The count before a test starts anything: taken after one turn, once mocha has armed its own test timeout. */
const baseline = async () => {
  await new Promise((r) => setImmediate(r));
  return timers();
};

describe('lib: ChipSupervisor, edge cases', () => {
  let backend: FaultyBackend;
  let supervisors: ChipSupervisor[];

  const make = (address = 0x20, options: Partial<SupervisorOptions> = {}) => {
    const driver = new Mcp23017({ busNumber: BUS, address, backend });
    const s = new ChipSupervisor(driver, { pollInterval: 5, verifyInterval: 0, probeInterval: 5, ...options });
    supervisors.push(s);
    return s;
  };
  const online = (s: ChipSupervisor) => waitUntil(() => s.status.state === 'online', 2000, 'online');

  beforeEach(() => {
    sim.reset();
    backend = faultyBackend();
    supervisors = [];
  });
  afterEach(async () => {
    backend.release();
    for (const s of supervisors) await s.stop();
    assert.equal(Transport.openCount(), 0, 'every transport released');
  });

  describe('stop() leaves nothing running', () => {
    it('while online, polling and verifying', async () => {
      sim.chip(BUS, 0x20);
      const before = await baseline();
      // Intervals longer than stop() takes, so a timer it forgot would still be pending after it.
      const s = make(0x20, { pollInterval: 40, verifyInterval: 50 });
      watchAll(s);
      s.start();
      await online(s);
      await sleep(5);
      assert.ok(timers() > before, 'poll and verify timers are running');
      await s.stop();
      assert.equal(timers(), before, 'no timer left at once');
      await sleep(10); // a leaked timer callback would re-arm itself here
      assert.equal(timers(), before);
      assert.equal(s.status.state, 'stopped');
      assert.equal(Transport.openCount(), 0);
      const calls = backend.calls.length;
      await sleep(15);
      assert.equal(backend.calls.length, calls, 'no bus traffic after stop');
    });

    it('while offline and retrying', async () => {
      const before = await baseline();
      const s = make(0x20, { probeInterval: 3 });
      watchAll(s);
      s.start();
      await waitUntil(() => s.status.state === 'offline', 1000, 'offline');
      await sleep(15);
      await s.stop();
      assert.equal(timers(), before, 'no timer left at once');
      await sleep(10);
      assert.equal(timers(), before);
      assert.equal(Transport.openCount(), 0);
    });

    it('in the middle of an open that is still on the bus', async () => {
      sim.chip(BUS, 0x20);
      const before = await baseline();
      const s = make();
      backend.hold();
      s.start();
      await waitUntil(() => backend.waiting > 0, 1000, 'the open on the bus');
      const stopping = s.stop();
      backend.release();
      await stopping;
      assert.equal(timers(), before, 'no timer left at once');
      await sleep(10);
      assert.equal(s.status.state, 'stopped');
      assert.equal(timers(), before);
      assert.equal(Transport.openCount(), 0);
    });

    it('before start() ever ran, and twice', async () => {
      const s = make();
      s.start();
      await s.stop();
      await s.stop();
      s.start(); // ignored after stop
      await sleep(5);
      assert.equal(s.status.state, 'stopped');
      assert.equal(backend.opens, 0);
    });
  });

  describe('inputs', () => {
    it("a caller's readPort between polls feeds the input stream once; the next poll does not repeat it", async () => {
      const chip = sim.chip(BUS, 0x20);
      const s = make(0x20, { pollInterval: 0 }); // polls only when asked
      void s.driver.configurePins({ mask: 0x00ff, pullup: 0xffff, invert: 0xffff, interruptEnable: 0xffff });
      const steps: InputStep[] = [];
      s.on('input', (st) => steps.push(...st));
      watchAll(s);
      s.start();
      await online(s);
      await waitUntil(() => s.inputs !== undefined, 1000, 'baseline');
      chip.setInput(4, 0);
      chip.setInput(4, null);
      assert.equal(await s.driver.readPort(0), 0x00, 'released by now');
      assert.deepEqual(steps.map((st) => [st.value & 0xff, st.changed, st.fromCapture]), [[0x08, 0x08, true], [0x00, 0x08, false]]);
      await s.serviceNow();
      assert.equal(steps.length, 2, 'nothing new');
    });

    it('a direction change racing a poll is no input change', async () => {
      sim.chip(BUS, 0x20);
      const s = make(0x20, { pollInterval: 0 });
      void s.driver.configurePins({ mask: 0x0003, pullup: 0x0003 }); // inputs reading 1; latches 0
      const steps: InputStep[] = [];
      s.on('input', (st) => steps.push(...st));
      watchAll(s);
      s.start();
      await online(s);
      await waitUntil(() => s.inputs !== undefined, 1000, 'baseline');
      const poll = s.serviceNow(); // queued first
      const write = s.driver.setPinDirection(1, 0); // pin 1 becomes an output reading 0
      await Promise.all([poll, write]);
      await s.serviceNow();
      await s.driver.setPortDirection(0, 0xff); // and back, awaited this time
      await s.serviceNow();
      assert.deepEqual(steps, []);
      assert.equal(s.inputs! & 0x03, 0x03);
    });

    it('a compare-mode pin held through many polls is reported once, its release once, and the loop stays bounded', async () => {
      const chip = sim.chip(BUS, 0x20);
      const s = make(0x20, { pollInterval: 2, maxServiceLoops: 8 });
      void s.driver.configurePins({ mask: 0x0100, pullup: 0xffff, invert: 0xffff, interruptEnable: 0xffff, interruptCompare: 0xffff, interruptDefault: 0 });
      const steps: InputStep[] = [];
      s.on('input', (st) => steps.push(...st));
      watchAll(s);
      s.start();
      await waitUntil(() => s.inputs !== undefined, 1000, 'baseline');
      chip.setInput(9, 0); // pressed (inverted: 1), differs from DEFVAL: re-latches after every clear
      const reads = () => backend.calls.filter((c) => c.register === 0x0e).length;
      const start = reads();
      await sleep(40);
      assert.ok(reads() - start >= 4, 'polling went on');
      assert.equal(chip.register(BANK0.INTFB), 0x01, 'still asserted while held');
      chip.setInput(9, null);
      await waitUntil(() => steps.length >= 2, 1000, 'release');
      await sleep(10);
      assert.deepEqual(steps.map((st) => [(st.value >> 8) & 1, st.changed]), [[1, 0x0100], [0, 0x0100]]);
      await waitUntil(() => chip.register(BANK0.INTFB) === 0, 1000, 'INT released');
    });

    it('unwatchInputs() stops polling', async () => {
      sim.chip(BUS, 0x20);
      const s = make(0x20, { pollInterval: 2 });
      watchAll(s);
      watchAll(s);
      s.start();
      await online(s);
      await sleep(10);
      unwatchAll(s);
      await sleep(10);
      const polls = () => backend.calls.filter((c) => c.register === 0x0e).length;
      const before = polls();
      assert.ok(before > 2);
      await sleep(10);
      assert.ok(polls() > before, 'one watcher left: still polling');
      unwatchAll(s);
      unwatchAll(s); // one too many: harmless
      await sleep(10);
      const stopped = polls();
      await sleep(20);
      assert.equal(polls(), stopped, 'no watcher: no polling');
    });
  });

  describe('failures', () => {
    it('no bus at start: offline with the no-bus error, then online once the bus exists', async () => {
      sim.chip(BUS, 0x20);
      backend.failOpen(i2cErrors.noBus(BUS));
      const s = make();
      const statuses: SupervisorStatus[] = [];
      s.on('status', (st) => statuses.push(st));
      s.start();
      await online(s);
      assert.equal(statuses[0].state, 'offline');
      assert.equal(statuses[0].error?.kind, 'no-bus');
      assert.equal(statuses[0].error?.message, 'no I2C bus /dev/i2c-1 (enable I2C, e.g. with raspi-config)');
      assert.equal(statuses[0].retryInMs, 5);
    });

    it('while offline it probes at one steady interval (no backoff), before and after a recovery, and counts the failed probes', async () => {
      sim.chip(BUS, 0x20);
      const s = make(0x20, { verifyInterval: 3, probeInterval: 8 });
      const offline: SupervisorStatus[] = [];
      s.on('status', (st) => st.state === 'offline' && offline.push(st));
      s.start();
      await online(s);
      sim.remove(BUS, 0x20);
      await waitUntil(() => offline.length >= 5, 2000, 'five failures');
      assert.deepEqual(offline.slice(0, 5).map((st) => st.retryInMs), [8, 8, 8, 8, 8]);
      assert.deepEqual(offline.slice(0, 5).map((st) => st.failedProbes), [0, 1, 2, 3, 4]);
      sim.chip(BUS, 0x20);
      await online(s);
      offline.length = 0;
      sim.remove(BUS, 0x20);
      await waitUntil(() => offline.length >= 2, 2000, 'two more failures');
      assert.deepEqual(offline.slice(0, 2).map((st) => [st.retryInMs, st.failedProbes]), [[8, 0], [8, 1]]);
    });

    it('the probe interval is the poll interval when that is longer', () => {
      const s = make(0x20, { pollInterval: 2500, probeInterval: 1000 });
      assert.equal(s.probeIntervalMs, 2500);
      const t = make(0x21, { pollInterval: 50, probeInterval: 1000 });
      assert.equal(t.probeIntervalMs, 1000);
    });

    it('while offline, writes wait without traffic; those the chip takes within their wait time are written in order, the others are rejected and never written', async () => {
      sim.chip(BUS, 0x20);
      const s = make(0x20, { verifyInterval: 3, probeInterval: 30 });
      void s.driver.setPortDirection(0, 0x00);
      s.start();
      await online(s);
      sim.remove(BUS, 0x20);
      await waitUntil(() => s.status.state === 'offline', 1000, 'offline');
      const writes = () => backend.calls.filter((c) => c.data !== undefined).length;
      const before = writes();
      const given = s.driver.writePin(1, 1, { waitMs: 0 }); // cannot wait
      await assert.rejects(given, { name: 'NotWrittenError', message: /^not written within 0 ms: no device at 0x20 on \/dev\/i2c-1 \(Remote I\/O error\)$/ });
      const waits = s.driver.writePin(3, 1, { waitMs: 60_000 });
      assert.equal(writes(), before, 'nothing sent while offline');
      assert.equal(s.driver.getOutputs() & 0x05, 0x04, 'the withdrawn write is gone from the desired outputs');
      const chip = sim.chip(BUS, 0x20); // back at power-on
      assert.equal(await waits, 0x04, 'written once the chip answers, resolved with the OLAT written');
      await online(s);
      assert.equal(chip.register(BANK0.IODIRA), 0x00);
      assert.equal(chip.register(BANK0.OLATA), 0x04, 'pin 1 (given up) was never written');
    });

    it("forwards the driver's restored event with what was lost", async () => {
      const chip = sim.chip(BUS, 0x20);
      const s = make(0x20, { verifyInterval: 3 });
      void s.driver.setInterruptOnPin(16, 1);
      const restored: string[][] = [];
      s.on('restored', (r) => restored.push(r.mismatches));
      s.start();
      await online(s);
      chip.powerCycle();
      await waitUntil(() => restored.length > 0, 1000, 'restored');
      assert.deepEqual(restored[0], ['GPINTENB is 0x00, expected 0x80']);
      assert.equal(chip.register(BANK0.GPINTENB), 0x80);
    });
  });

  describe('Debouncer with a confirming read', () => {
    it('a blip that the confirming read takes back is not reported', async () => {
      const seen: string[] = [];
      let confirms = 0;
      const d: Debouncer = new Debouncer(3, (pin, v) => seen.push(`${pin}=${v}`), async () => {
        // The first read finds the pin back at its old level (a tracker pushes changes only).
        if (++confirms === 1) d.push(5, 0);
      });
      d.baseline(5, 0);
      d.push(5, 1);
      await sleep(20);
      assert.deepEqual(seen, []);
      assert.ok(confirms >= 1);
      d.stop();
    });

    it('a level that holds is reported after the confirming read; a failing read does not block it', async () => {
      const seen: string[] = [];
      const d = new Debouncer(3, (pin, v) => seen.push(`${pin}=${v}`), async () => {
        throw new Error('bus gone');
      });
      d.baseline(7, 1);
      d.push(7, 0);
      await waitUntil(() => seen.length > 0, 1000, 'the report');
      assert.deepEqual(seen, ['7=0']);
      d.stop();
    });

    it('stop() during the confirming read reports nothing', async () => {
      const seen: number[] = [];
      let release!: () => void;
      const d = new Debouncer(2, (pin) => seen.push(pin), () => new Promise<void>((r) => (release = r)));
      d.push(2, 1);
      await waitUntil(() => release !== undefined, 1000, 'the confirming read');
      d.stop();
      release();
      await sleep(5);
      assert.deepEqual(seen, []);
    });

    it('pins are debounced independently', async () => {
      const seen: string[] = [];
      const d = new Debouncer(4, (pin, v) => seen.push(`${pin}=${v}`));
      d.push(1, 1);
      d.push(2, 1);
      d.push(2, 0);
      d.push(2, 1);
      await sleep(25);
      assert.deepEqual(seen.sort(), ['1=1', '2=1']);
      d.stop();
    });
  });
});
