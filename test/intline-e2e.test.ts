/**
 * End to end, for both libgpiod versions: simulated MCP23017 (INT mirrored, open-drain, active-low)
 * -> its INTA wired to the fake kernel's GPIO23 (Pi pull-up) -> fake gpiomon -> IntLineWatcher ->
 * attachIntLine -> ChipSupervisor.serviceNow() -> service reads over the simulated bus -> 'input'.
 *
 * Polls are switched off (or made very slow) where a test must prove that the edge did the work.
 * No latency is asserted here (the benchmark reports it).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Mcp23017 } from '../lib/driver';
import { ChipSupervisor } from '../lib/supervisor';
import { IntLineWatcher, intLineSettings, type IntLineStatus } from '../lib/int-line';
import { attachIntLine, type IntLineAttachment, type IntLineServiceOptions } from '../lib/int-line-service';
import { chip, reset, simulatorBackend, type SimulatedChip } from '../lib/simulator';
import { FakeGpioKernel, delay, fakeToolProcesses, untilChip } from './intline-harness';

const BUS = 1;
const ADDR = 0x20;

async function until(check: () => boolean, ms = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(2);
  }
}

function statusWhere(w: IntLineWatcher, test: (s: IntLineStatus) => boolean, ms = 8000): Promise<IntLineStatus> {
  if (test(w.status)) return Promise.resolve(w.status);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`watcher stayed ${w.status.state}: ${w.status.message}`)), ms);
    const fn = (s: IntLineStatus) => {
      if (!test(s)) return;
      clearTimeout(timer);
      w.off('status', fn);
      resolve(s);
    };
    w.on('status', fn);
  });
}

for (const version of ['1.6.3', '2.2.1']) {
  describe(`int line end to end, libgpiod v${version}`, () => {
    let kernel: FakeGpioKernel;
    let sim: SimulatedChip;
    let driver: Mcp23017;
    let supervisor: ChipSupervisor;
    let watcher: IntLineWatcher;
    let attachment: IntLineAttachment;
    let unwire: () => void;
    /** Every reported change of each pin, in order: [pin, new level]. */
    let changes: [number, 0 | 1][];
    let serviceReads: number;

    /** Chip with all 16 pins inputs, pull-ups, change-mode interrupts; INT mirrored open-drain. */
    async function setup(service: IntLineServiceOptions, opts: { env?: NodeJS.ProcessEnv; startWatcher?: boolean } = {}) {
      reset();
      kernel = new FakeGpioKernel();
      await kernel.start();
      sim = chip(BUS, ADDR);
      driver = new Mcp23017({ busNumber: BUS, address: ADDR, backend: simulatorBackend, interruptOutput: { mirror: true, openDrain: true, activeHigh: false } });
      const configured = driver.configurePins({ mask: 0xffff, direction: 0xffff, pullup: 0xffff, interruptEnable: 0xffff, interruptCompare: 0 });
      supervisor = new ChipSupervisor(driver, { pollInterval: 0, verifyInterval: 0 });
      changes = [];
      serviceReads = 0;
      driver.on('service', () => serviceReads++);
      supervisor.subscribeInputs(0xffff, {
        baseline: () => undefined,
        changes: (steps) => {
          for (const step of steps) {
            for (let pin = 1; pin <= 16; pin++) {
              const bit = 1 << (pin - 1);
              if (step.changed & bit) changes.push([pin, step.value & bit ? 1 : 0]);
            }
          }
        },
      });
      // The jumper wire: INTA to GPIO23.
      unwire = kernel.followInterrupt(sim, 'A', 'GPIO23');
      const { edge, bias } = intLineSettings(driver.getInterruptOutput());
      watcher = new IntLineWatcher({ line: 'GPIO23', edge, bias, env: opts.env ?? kernel.env(version), retryInitial: 50, settleTime: 100 });
      attachment = attachIntLine(supervisor, watcher, service);
      supervisor.start();
      await configured;
      await until(() => supervisor.status.state === 'online' && supervisor.inputs !== undefined, 8000, 'chip online');
      if (opts.startWatcher !== false) {
        watcher.start();
        if (!opts.env) {
          await statusWhere(watcher, (s) => s.state === 'watching');
          // "watching" follows a settle time; make sure the (node-based, slower) fake holds the line,
          // and let the service that "watching" triggers finish before the test drives anything.
          await until(() => watcher.pid !== undefined && kernel.holder('GPIO23')?.pid === watcher.pid, 8000, 'gpiomon holding GPIO23');
          await supervisor.serviceNow();
        }
      }
    }

    afterEach(async () => {
      attachment?.detach();
      unwire?.();
      await watcher?.stop();
      await supervisor?.stop();
      const left = fakeToolProcesses();
      await kernel?.close();
      reset();
      assert.deepEqual(left, [], 'leftover gpiomon/gpiofind processes');
    });

    const intIdle = () => untilChip(sim, () => sim.interruptOutput('A') === null);

    it('the chip is wired as the tutorial says: open-drain INT, Pi pull-up, falling edges', async () => {
      await setup({ safetyPollMs: 0, fallbackPollMs: 0 });
      const request = kernel.holder('GPIO23')!;
      assert.equal(request.edges, 'falling');
      assert.equal(request.bias, 'pull-up');
      assert.equal(sim.interruptOutput('A'), null, 'idle INT floats');
      assert.equal(kernel.level('GPIO23'), 1, 'the pull-up holds it high');
    });

    it('a press is reported through the edge alone (no polling)', async () => {
      await setup({ safetyPollMs: 0, fallbackPollMs: 0 });
      const reads = serviceReads;
      sim.setInput(3, 0);
      assert.equal(kernel.level('GPIO23'), 0, 'INTA pulls the line low');
      await until(() => changes.length === 1, 8000, 'the press');
      assert.deepEqual(changes, [[3, 0]]);
      assert.equal(attachment.edges, 1);
      await intIdle();
      assert.ok(serviceReads > reads);
      // Let that service finish: a change landing during its "until no flag is left" loop would be
      // read by the loop before its own edge arrives (correct, but not what this test shows).
      await supervisor.serviceNow();
      // Port B through the mirror.
      sim.setInput(12, 0);
      await until(() => changes.length === 2, 8000, 'the port B press');
      assert.deepEqual(changes[1], [12, 0]);
      await until(() => attachment.edges === 2, 8000, 'the second edge');
    });

    it('50 press/release pairs, each latched: every change reported, in order, one edge each', async () => {
      await setup({ safetyPollMs: 0, fallbackPollMs: 0 });
      const edgesBefore = attachment.edges;
      for (let i = 0; i < 50; i++) {
        sim.setInput(5, 0); // press (to ground)
        await intIdle(); // serviced: the next change latches a new interrupt
        sim.setInput(5, null); // release (pull-up)
        await intIdle();
      }
      await until(() => changes.length >= 100, 8000, '100 changes');
      // An edge may arrive after the loop of an earlier service already read its change.
      await until(() => attachment.edges - edgesBefore >= 100, 8000, '100 edges');
      await supervisor.serviceNow();
      const expected = Array.from({ length: 100 }, (_, i) => [5, i % 2 === 0 ? 0 : 1]);
      assert.deepEqual(changes, expected);
      assert.equal(attachment.edges - edgesBefore, 100, 'one falling edge per latched change');
    });

    it('an unspaced burst ends in the right state, without invented changes', async () => {
      await setup({ safetyPollMs: 0, fallbackPollMs: 0 });
      for (let i = 0; i < 50; i++) {
        sim.setInput(6, 0);
        sim.setInput(6, null);
        if (i % 10 === 9) await delay(0);
      }
      sim.setInput(7, 0); // a last change that must not be lost
      await until(() => changes.some(([pin]) => pin === 7), 8000, 'the last press');
      await intIdle();
      await supervisor.serviceNow();
      const pin6 = changes.filter(([pin]) => pin === 6).map(([, v]) => v);
      assert.ok(pin6.length % 2 === 0 && pin6.length <= 100, `pin 6: ${pin6.length} changes`);
      pin6.forEach((v, i) => assert.equal(v, i % 2 === 0 ? 0 : 1, 'press, release, press, ...'));
      assert.equal(((supervisor.inputs ?? 0) >> 5) & 1, 1, 'pin 6 released');
      assert.equal(((supervisor.inputs ?? 0) >> 6) & 1, 0, 'pin 7 pressed');
    });

    it('an interrupt pending before gpiomon started is serviced when it starts watching', async () => {
      await setup({ safetyPollMs: 0, fallbackPollMs: 0 }, { startWatcher: false });
      sim.setInput(2, 0);
      assert.equal(kernel.level('GPIO23'), 0);
      await delay(50);
      assert.deepEqual(changes, [], 'nothing reads the chip yet');
      watcher.start();
      await until(() => changes.length === 1, 8000, 'the pending press');
      assert.deepEqual(changes, [[2, 0]]);
      assert.equal(attachment.edges, 0, 'there was no edge: the line was already low');
      await intIdle();
    });

    it('a stuck INT line does not stall inputs: the safety poll reads them', async () => {
      await setup({ safetyPollMs: 100, fallbackPollMs: 0 });
      // Pin 1 in compare mode against DEFVAL 1: held low, it re-latches at every clear (docs/mcp23017.md §5.3),
      // so INTA stays asserted and no further edge can come.
      await driver.configurePins({ mask: 0x0001, interruptCompare: 1, interruptDefault: 1 });
      sim.setInput(1, 0);
      await until(() => changes.length === 1, 8000, 'pin 1');
      assert.deepEqual(changes, [[1, 0]]);
      await delay(50);
      assert.equal(sim.interruptOutput('A'), 0, 'INT stuck asserted');
      const edges = attachment.edges;
      sim.setInput(9, 0);
      await until(() => changes.length === 2, 8000, 'pin 9 through the safety poll');
      assert.deepEqual(changes[1], [9, 0]);
      sim.setInput(9, null);
      await until(() => changes.length === 3, 8000, 'pin 9 released');
      assert.deepEqual(changes[2], [9, 1]);
      assert.equal(attachment.edges, edges, 'no edge came: the poll did it');
      // Releasing pin 1 clears the condition: edges work again.
      sim.setInput(1, null);
      await until(() => changes.length === 4, 8000, 'pin 1 released');
      await intIdle();
      sim.setInput(4, 0);
      await until(() => changes.length === 5, 8000, 'pin 4');
      assert.deepEqual(changes[4], [4, 0]);
      // (Under load the 100 ms poll may read pin 4 first; the edge still comes.)
      await until(() => attachment.edges > edges, 8000, 'edges again');
    });

    it('gpiomon missing: status says so and inputs are polled instead', async () => {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'iopi-nopath-'));
      try {
        await setup({ safetyPollMs: 1000, fallbackPollMs: 30 }, { env: { PATH: empty } });
        await statusWhere(watcher, (s) => s.state === 'missing');
        assert.equal(attachment.mode, 'polling');
        sim.setInput(8, 0);
        await until(() => changes.length === 1, 8000, 'the press, polled');
        assert.deepEqual(changes, [[8, 0]]);
        assert.equal(attachment.edges, 0);
      } finally {
        fs.rmSync(empty, { recursive: true, force: true });
      }
    });
  });
}
