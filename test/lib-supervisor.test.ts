/**
 * Input tracking, debounce and the chip supervisor (open with retries, polling, verify, reconnect,
 * a clean stop) on the simulated chip.
 */
import assert from 'node:assert/strict';
import { BANK0, ChipSupervisor, Debouncer, InputTracker, Mcp23017, Transport, type InputStep, type ServiceResult, type SupervisorStatus } from '../lib';
import * as sim from '../lib/simulator';
import { unwatchAll, watchAll } from './helpers/watch';
import { attachIntLine } from '../lib/int-line-service';

const BUS = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(test: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

function result(flags: number, captured: number, current: number, rebased = 0): ServiceResult {
  return {
    flags, captured, current, rebased,
    ports: [
      { flags: flags & 0xff, captured: captured & 0xff, current: current & 0xff },
      { flags: flags >> 8, captured: captured >> 8, current: current >> 8 },
    ],
  };
}

describe('lib: InputTracker', () => {
  it('the first read is a baseline', () => {
    const t = new InputTracker();
    assert.deepEqual(t.update(result(0, 0, 0x0f0f)), []);
    assert.equal(t.value, 0x0f0f);
  });

  it('a latched port goes through its captured value first: press then release', () => {
    const t = new InputTracker();
    t.update(result(0, 0, 0));
    const steps = t.update(result(0x0004, 0x0004, 0x0000));
    assert.deepEqual(steps, [
      { value: 0x0004, changed: 0x0004, fromCapture: true },
      { value: 0x0000, changed: 0x0004, fromCapture: false },
    ]);
  });

  it('ports are independent: a port without a flag goes straight to its current value', () => {
    const t = new InputTracker();
    t.update(result(0, 0, 0));
    const steps = t.update(result(0x0100, 0x0100, 0x0101));
    assert.deepEqual(steps, [
      { value: 0x0100, changed: 0x0100, fromCapture: true },
      { value: 0x0101, changed: 0x0001, fromCapture: false },
    ]);
  });

  it('rebased pins (direction or polarity just changed) give no change', () => {
    const t = new InputTracker();
    t.update(result(0, 0, 0x0000));
    assert.deepEqual(t.update(result(0, 0, 0x00ff, 0x00ff)), []);
    assert.deepEqual(t.update(result(0, 0, 0x00fe)), [{ value: 0x00fe, changed: 0x0001, fromCapture: false }]);
  });

  it('a stale capture (flag of a port that did not change) gives nothing', () => {
    const t = new InputTracker();
    t.update(result(0, 0, 0x0001));
    assert.deepEqual(t.update(result(0x0001, 0x0001, 0x0001)), []);
  });
});

describe('lib: Debouncer', () => {
  it('reports a change that holds, suppresses a bounce, passes everything at 0 ms', async () => {
    const seen: string[] = [];
    const d = new Debouncer(15, (pin, v) => seen.push(`${pin}=${v}`));
    d.baseline(1, 0);
    d.push(1, 1);
    d.push(1, 0); // bounced back
    d.push(2, 1);
    await sleep(40);
    assert.deepEqual(seen, ['2=1']);
    d.stop();
    const immediate: string[] = [];
    const d0 = new Debouncer(0, (pin, v) => immediate.push(`${pin}=${v}`));
    d0.push(3, 1);
    d0.push(3, 0);
    assert.deepEqual(immediate, ['3=1', '3=0']);
  });

  it('stop() cancels pending reports', async () => {
    const seen: number[] = [];
    const d = new Debouncer(10, (pin) => seen.push(pin));
    d.push(4, 1);
    d.stop();
    await sleep(25);
    assert.deepEqual(seen, []);
  });
});

describe('lib: ChipSupervisor', () => {
  let supervisors: ChipSupervisor[] = [];

  const make = (address = 0x20, options: Partial<ConstructorParameters<typeof ChipSupervisor>[1]> = {}) => {
    const driver = new Mcp23017({ busNumber: BUS, address, backend: sim.simulatorBackend });
    const s = new ChipSupervisor(driver, { pollInterval: 5, verifyInterval: 0, probeInterval: 5, ...options });
    supervisors.push(s);
    return s;
  };

  beforeEach(() => {
    sim.reset();
    supervisors = [];
  });
  afterEach(async () => {
    for (const s of supervisors) await s.stop();
    assert.equal(Transport.openCount(), 0);
  });

  it('opens the chip and reports online', async () => {
    sim.chip(BUS, 0x20);
    const s = make();
    const states: string[] = [];
    s.on('status', (st) => states.push(st.state));
    s.start();
    await waitFor(() => s.status.state === 'online', 1000, 'online');
    assert.deepEqual(states, ['online']);
  });

  it('probes an absent chip at a steady rate, logs once when it starts and once when it answers, and applies the settings staged meanwhile', async () => {
    const s = make(0x20, { probeInterval: 5 });
    const offline: SupervisorStatus[] = [];
    s.on('status', (st) => st.state === 'offline' && offline.push(st));
    const warnings: string[] = [];
    const infos: string[] = [];
    s.on('warning', (w) => warnings.push(w));
    s.on('info', (w) => infos.push(w));
    s.driver.configurePins({ mask: 0x00ff, direction: 0, output: 0x81 }, { waitMs: Infinity }).catch(() => undefined);
    s.start();
    await waitFor(() => offline.length >= 4, 2000, 'four failed attempts');
    assert.deepEqual(offline.slice(0, 4).map((st) => st.retryInMs), [5, 5, 5, 5]);
    assert.equal(offline[0].error?.kind, 'absent');
    assert.deepEqual(warnings, ['no device at 0x20 on /dev/i2c-1 (Remote I/O error); trying again every 5 ms'], 'one warning, not one per probe');
    const written = s.driver.writePin(2, 1, { waitMs: Infinity }); // asked for while the chip is absent
    const chip = sim.chip(BUS, 0x20); // plugged in
    await waitFor(() => s.status.state === 'online', 2000, 'online');
    await written;
    assert.equal(chip.register(BANK0.IODIRA), 0x00);
    assert.equal(chip.register(BANK0.OLATA), 0x83);
    assert.equal(infos.length, 1);
    assert.match(infos[0], /^0x20 on \/dev\/i2c-1 answers after \d+ ms \(\d+ probes failed\); configured it$/);
    assert.equal(warnings.length, 1);
  });

  it('polling reports a press and its release between two polls as two steps, in order', async () => {
    const chip = sim.chip(BUS, 0x20);
    const s = make(0x20, { pollInterval: 80 });
    s.driver.configurePins({ mask: 0x00ff, pullup: 0xffff, invert: 0xffff, interruptEnable: 0xffff });
    const steps: InputStep[] = [];
    s.on('input', (st) => steps.push(...st));
    watchAll(s);
    s.start();
    await waitFor(() => s.inputs !== undefined, 1000, 'baseline');
    chip.setInput(2, 0);
    chip.setInput(2, null);
    await waitFor(() => steps.length >= 2, 1000, 'two steps');
    assert.deepEqual(steps.map((st) => [st.value & 0xff, st.changed]), [[0x02, 0x02], [0x00, 0x02]]);
    unwatchAll(s);
  });

  it('one read per service; a held compare-mode pin is reported as holding the interrupt', async () => {
    const chip = sim.chip(BUS, 0x20);
    const s = make(0x20, { pollInterval: 1000 });
    s.driver.configurePins({ mask: 0x0001, pullup: 1, invert: 1, interruptEnable: 1, interruptCompare: 1, interruptDefault: 0 });
    s.start();
    await waitFor(() => s.status.state === 'online', 1000, 'online');
    await s.serviceNow();
    assert.equal(s.interruptHeld, false);
    chip.setInput(1, 0); // held against DEFVAL: re-latches after every clear
    const before = s.driver.transport.stats.transactions;
    await s.serviceNow();
    assert.equal(s.driver.transport.stats.transactions - before, 1, 'one service read');
    assert.equal(s.interruptHeld, true);
    assert.equal(chip.register(BANK0.INTFA), 0x01, 'the chip re-latched at once');
    chip.setInput(1, null);
    await s.serviceNow();
    assert.equal(s.interruptHeld, false);
  });

  it('INT line: while a compare-mode pin holds INT asserted, other changes are polled at the fallback rate', async () => {
    const chip = sim.chip(BUS, 0x20);
    const s = make(0x20, { pollInterval: 0 });
    void s.driver.setInterruptOutput({ mirror: true, openDrain: true }); // staged: written by open
    s.driver.configurePins({ mask: 0x0101, pullup: 0xffff, invert: 0xffff, interruptEnable: 0xffff });
    s.driver.configurePins({ mask: 0x0001, interruptCompare: 1, interruptDefault: 0 });
    const line = new sim.SimulatedIntLine({ busNumber: BUS, address: 0x20 });
    const attachment = attachIntLine(s, line, { safetyPollMs: 60_000, fallbackPollMs: 20 });
    const steps: InputStep[] = [];
    s.on('input', (st) => steps.push(...st));
    watchAll(s);
    s.start();
    line.start();
    try {
      await waitFor(() => s.inputs !== undefined, 1000, 'baseline');
      chip.setInput(1, 0); // pressed and held: INT stays asserted
      await waitFor(() => steps.some((st) => st.changed & 0x0001), 1000, 'pin 1 by its edge');
      assert.equal(s.interruptHeld, true);
      const edges = attachment.edges;
      chip.setInput(9, 0); // no edge can come: the line is already low
      await waitFor(() => steps.some((st) => st.changed & 0x0100), 2000, 'pin 9, polled long before the 60 s safety poll');
      assert.equal(attachment.edges, edges, 'found by polling, not by an edge');
    } finally {
      attachment.detach();
      await line.stop();
    }
  });

  it('verify notices a power cycle, restores the chip and warns', async () => {
    const chip = sim.chip(BUS, 0x20);
    const s = make(0x20, { verifyInterval: 10 });
    s.driver.configurePins({ mask: 0xff00, direction: 0, output: 0xff00 });
    const warnings: string[] = [];
    s.on('warning', (w) => warnings.push(w));
    s.start();
    await waitFor(() => s.status.state === 'online', 1000, 'online');
    chip.powerCycle();
    await waitFor(() => warnings.length > 0, 1000, 'a warning');
    assert.match(warnings[0], /0x20 on \/dev\/i2c-1 lost its configuration \(IODIRB is 0xFF, expected 0x00/);
    assert.equal(chip.register(BANK0.IODIRB), 0x00);
    assert.equal(chip.register(BANK0.OLATB), 0xff);
  });

  it('a chip vanishing mid-run goes offline and comes back by itself', async () => {
    sim.chip(BUS, 0x20);
    const s = make(0x20, { verifyInterval: 10 });
    s.start();
    await waitFor(() => s.status.state === 'online', 1000, 'online');
    sim.remove(BUS, 0x20);
    await waitFor(() => s.status.state === 'offline', 1000, 'offline');
    assert.equal(s.status.error?.message, 'no device at 0x20 on /dev/i2c-1 (Remote I/O error)');
    sim.chip(BUS, 0x20);
    await waitFor(() => s.status.state === 'online', 2000, 'online again');
  });

  it('stop() ends every timer and releases the bus', async () => {
    // Track every timer created while the supervisor runs.
    const live = new Set<NodeJS.Timeout>();
    const realSet = global.setTimeout;
    const realClear = global.clearTimeout;
    (global as { setTimeout: unknown }).setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const t: NodeJS.Timeout = realSet((...a: unknown[]) => {
        live.delete(t);
        fn(...a);
      }, ms, ...args);
      live.add(t);
      return t;
    };
    (global as { clearTimeout: unknown }).clearTimeout = (t: NodeJS.Timeout) => {
      live.delete(t);
      realClear(t);
    };
    try {
      const s = make(0x22, { verifyInterval: 10 }); // absent: retry timers running
      watchAll(s);
      s.start();
      await new Promise((r) => realSet(r, 30));
      assert.ok(live.size > 0, 'timers were running');
      await s.stop();
      assert.equal(live.size, 0, 'no timer left');
      assert.equal(s.status.state, 'stopped');
      assert.equal(Transport.openCount(), 0);
    } finally {
      global.setTimeout = realSet;
      global.clearTimeout = realClear;
    }
  });
});
